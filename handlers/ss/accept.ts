/**
 * The server side of a Shadowsocks TCP handshake, shared by the `ss` handler and the `ssu` handler on a stream: the
 * client's salt and first chunk within the deadline, the replay check, the target address; a client that fails it
 * is held without a reply (handlers/ss/probe.ts).
 * @module
 */
import { HandshakeReader, UnexpectedEofError } from "../../core/bufio.ts";
import type { Conn } from "../../core/conn.ts";
import { withDeadline } from "../../core/deadline.ts";
import { AuthError, HandshakeError, TimeoutError } from "../../core/errors.ts";
import { readAddr, type SocksAddr } from "../socks5/wire.ts";
import type { StreamKeys } from "./cipher.ts";
import { ChunkAuthError } from "./chunks.ts";
import { hold, ReplayError } from "./probe.ts";
import type { SaltFilter } from "./salt_filter.ts";
import { SsStreamConn, type StreamPreamble } from "./stream.ts";

/** A client past the handshake: its target and the decrypted stream behind the address. */
export interface AcceptedStream {
  /** The target address the client sent. */
  addr: SocksAddr;
  /** The decrypted stream (a PrefixConn when bytes came behind the address); writes encrypt. */
  conn: Conn;
}

/**
 * Runs the handshake on `conn`.
 * @param timeoutMs the deadline from accept (also how long a refused client is held)
 * @param preamble the 2022 methods' request and response headers
 * @throws {AuthError} (wrong key), {@link ReplayError}, {@link HandshakeError} (garbage) once the client was held;
 *   {@link TimeoutError}, {@link UnexpectedEofError} when it timed out or closed first
 */
export async function acceptStream(
  conn: Conn,
  keys: StreamKeys,
  salts: SaltFilter,
  timeoutMs: number,
  preamble?: StreamPreamble,
): Promise<AcceptedStream> {
  const started = Date.now();
  const ss = new SsStreamConn(conn, keys, {
    onPeerSalt: (salt) => {
      if (!salts.check(salt)) throw new ReplayError(`Shadowsocks: replayed salt (${salts.replays} refused so far)`);
    },
    onOwnSalt: (salt) => salts.add(salt),
    preamble,
  });
  const r = new HandshakeReader(ss, 512);
  let addr: SocksAddr;
  try {
    addr = await withDeadline(conn, timeoutMs, () => readAddr(r));
  } catch (err) {
    throw await refuse(conn, err, timeoutMs - (Date.now() - started));
  }
  return { addr, conn: r.conn() };
}

/** Holds a client that failed the handshake (no reply), then returns the error to end the conn with. */
async function refuse(conn: Conn, err: unknown, leftMs: number): Promise<unknown> {
  if (err instanceof TimeoutError || err instanceof UnexpectedEofError) return err; // closed already, or by the client
  if (!(err instanceof HandshakeError || err instanceof AuthError)) return err;
  const closedByClient = await hold(conn, leftMs);
  const end = closedByClient ? "until the client closed" : "until the handshake deadline";
  if (err instanceof ReplayError) return new ReplayError(`${err.message}; held ${end}`, { cause: err });
  if (err instanceof ChunkAuthError && err.first) {
    return new AuthError(`Shadowsocks: wrong key or method (the first chunk does not authenticate); held ${end}`, {
      cause: err,
    });
  }
  return new HandshakeError(`Shadowsocks: ${err.message}; held ${end}`, { cause: err });
}
