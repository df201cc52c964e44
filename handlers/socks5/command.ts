/**
 * What every SOCKS5 command receives once the handshake is done, and the reply helpers they share.
 * @module
 */
import { type Conn, writeFull } from "../../core/conn.ts";
import type { ConnContext, HandlerOptions } from "../../core/contracts.ts";
import type { SocksMetadata } from "./metadata.ts";
import { encodeReply, type SocksAddr } from "./wire.ts";

/** One SOCKS5 request after greeting and auth. */
export interface CommandScope {
  /** The client conn, with any bytes read ahead of the request put back in front. */
  readonly conn: Conn;
  /** DST.ADDR / DST.PORT of the request. */
  readonly addr: SocksAddr;
  readonly ctx: ConnContext;
  readonly opts: HandlerOptions;
  readonly md: SocksMetadata;
}

/** Writes a reply `05 REP 00 ADDR`. */
export function sendReply(conn: Conn, rep: number, host?: string, port?: number): Promise<void> {
  return writeFull(conn, encodeReply(rep, host, port));
}

/** Writes an error reply with 0.0.0.0:0, ignoring a client that is already gone. */
export async function sendError(conn: Conn, rep: number): Promise<void> {
  await sendReply(conn, rep).catch(() => {});
}

/** The local address of a conn as host and port (`0.0.0.0:0` for non-IP transports). */
export function netAddr(addr: Deno.Addr): { hostname: string; port: number } {
  return addr.transport === "tcp" || addr.transport === "udp"
    ? { hostname: addr.hostname, port: addr.port }
    : { hostname: "0.0.0.0", port: 0 };
}
