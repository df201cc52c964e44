/**
 * What the tunnel handler's parts share (the handler, its BIND and CONNECT paths, its entrypoints): the pool of
 * tunnels, the options, the ingress, and opening a routed stream to a tunnel with its header.
 * @module
 */
import { closeQuietly, type Conn, splitHostPort, writeFull } from "../../core/conn.ts";
import type { ConnContext, HandlerBypass } from "../../core/contracts.ts";
import { PolicyError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import type { Ingress } from "../../core/routing/ingress.ts";
import { encodeResponse, type Feature, Status } from "../relay/wire.ts";
import type { TunnelHandlerMetadata } from "./metadata.ts";
import type { TunnelPool } from "./pool.ts";

/** One tunnel server: the state and options its parts share. */
export interface TunnelServer {
  /** The service's name. */
  readonly service: string;
  /** This server's node id (a random UUID, GOST's), sent in `Gost-Forwarded-Node` to detect loops. */
  readonly node: string;
  readonly pool: TunnelPool;
  readonly md: TunnelHandlerMetadata;
  readonly logger: Logger;
  /** The handler's ingress (`ingress`, looked up at each use, else the inline `tunnel` rules); undefined: none. */
  ingress(): Ingress | undefined;
  /** A named ingress, looked up now. */
  namedIngress(name: string): Ingress | undefined;
  /** The service bypass (looked up at each use): visitors' targets it contains are refused, as GOST does. */
  bypass(): HandlerBypass | undefined;
}

/** An Addr feature for `host:port` (a bare host gets port 0; "" gives 0.0.0.0:0, as GOST encodes an empty one). */
export function addrFeature(addr: string): Feature {
  if (!addr) return { kind: "addr", host: "", port: 0 };
  try {
    const { host, port } = splitHostPort(addr);
    return { kind: "addr", host, port };
  } catch {
    return { kind: "addr", host: addr.replace(/^\[|\]$/g, ""), port: 0 };
  }
}

/**
 * Opens a stream to a client of tunnel `id` and writes the header every routed stream starts with (docs/wire.md,
 * "Tunnel"): `01 00 | FEALEN | Addr(src) | Addr(dst)`, the visitor's address and the host it asked for.
 * @param first bytes to send right after the header, in the same write (a request head, a ClientHello)
 * @throws {DialError} when the tunnel has no client for `network`, or the stream fails at once
 */
export async function openTunnel(
  s: TunnelServer,
  id: string,
  network: "tcp" | "udp",
  src: string,
  dst: string,
  log: Logger,
  first?: Uint8Array,
): Promise<Conn> {
  const { stream, client } = await s.pool.open(id, network, log);
  try {
    const head = encodeResponse({ status: Status.OK, features: [addrFeature(src), addrFeature(dst)] });
    if (!first?.length) await writeFull(stream, head);
    else {
      const both = new Uint8Array(head.length + first.length);
      both.set(head);
      both.set(first, head.length);
      await writeFull(stream, both);
    }
  } catch (err) {
    closeQuietly(stream);
    throw err;
  }
  log.debug(`tunnel ${id}: stream to client ${client.id} for ${dst}/${network}`);
  return stream;
}

/**
 * A refusal by routing (no rule, a private tunnel, an unknown id), logged at info on the conn's logger (the service
 * logs policy errors at debug only) and returned to be thrown.
 */
export function refusal(ctx: ConnContext, message: string): PolicyError {
  ctx.logger.info(message);
  return new PolicyError(message);
}
