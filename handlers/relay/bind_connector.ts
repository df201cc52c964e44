/**
 * The client side of relay BIND (docs/wire.md, "Relay BIND"), what `rtcp`/`rudp` use when the last chain node is
 * `relay`: the request `BIND [| FUDP]` with `[UserAuth]`, `Network`, `Addr(bind address)` goes out at once and the
 * answer (OK + Addr(bound address)) is awaited within `connectTimeout`. Then:
 * - `tcp`: the stream becomes an smux session in which we are the server role; every stream the relay server opens
 *   is one inbound peer and starts with a relay response naming it.
 * - `udp`: the stream carries UDP-tun frames naming each peer (the SOCKS5 UDP-tun format); each peer becomes a
 *   datagram session.
 * @module
 */
import { HandshakeReader } from "../../core/bufio.ts";
import { addrString, closeQuietly, type Conn, type Network, splitHostPort, writeFull } from "../../core/conn.ts";
import { withDeadline } from "../../core/deadline.ts";
import { DialError, errorMessage, HandshakeError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import type { MuxConfig } from "../../core/mux/config.ts";
import { MuxListener } from "../../core/mux/listener.ts";
import { MuxSession } from "../../core/mux/session.ts";
import type { MuxStream } from "../../core/mux/stream.ts";
import type { ClientAuth, Listener } from "../../core/contracts.ts";
import { type BindOptions, PacketListener } from "../../listeners/rudp/packet_listener.ts";
import { UdpTunTransport } from "../socks5/bind_connector.ts";
import { Cmd, describeStatus, encodeRequest, type Feature, FLAG_UDP, NetworkId, readResponse, Status } from "./wire.ts";

/** What {@link relayBind} needs from the connector. */
export interface RelayBindContext {
  auth?: ClientAuth;
  logger: Logger;
  /** Deadline of the request/response exchange; 0 = none. */
  connectTimeoutMs: number;
  mux: MuxConfig;
}

/**
 * Asks the relay server on `conn` to listen on `addr` (`host:port`; an empty host means every interface).
 * @returns a listener whose conns are the peers connecting to that address at the server
 * @throws {DialError} naming `addr` when the server refuses (Forbidden: `bind` off; Service Unavailable: port in
 *   use) or the address is invalid; {@link HandshakeError} on a malformed answer; {@link TimeoutError}
 */
export async function relayBind(
  c: RelayBindContext,
  conn: Conn,
  network: Network,
  addr: string,
  opts: BindOptions = {},
): Promise<Listener> {
  const server = addrString(conn.remoteAddr);
  const log = opts.logger ?? c.logger;
  let request: Uint8Array;
  try {
    const { host, port } = splitHostPort(addr);
    const features: Feature[] = [];
    if (c.auth) features.push({ kind: "auth", username: c.auth.username, password: c.auth.password ?? "" });
    features.push({ kind: "network", network: network === "udp" ? NetworkId.Udp : NetworkId.Tcp });
    features.push({ kind: "addr", host: host || "0.0.0.0", port });
    request = encodeRequest({ cmd: Cmd.Bind, flags: network === "udp" ? FLAG_UDP : 0, features });
  } catch (err) {
    closeQuietly(conn);
    throw new DialError(addr, `Relay bind on "${addr}": ${errorMessage(err)}`, { cause: err });
  }
  const onAbort = () => closeQuietly(conn);
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  let bound: Deno.NetAddr, tunnel: Conn;
  try {
    ({ bound, tunnel } = await withDeadline(conn, c.connectTimeoutMs, async () => {
      await writeFull(conn, request);
      const r = new HandshakeReader(conn, 256);
      const resp = await readResponse(r);
      if (resp.status !== Status.OK) {
        throw new DialError(
          addr,
          `Relay server ${server} refused bind on ${addr}/${network}: ${describeStatus(resp.status)}`,
        );
      }
      const a = resp.features.find((f) => f.kind === "addr");
      if (!a || a.kind !== "addr") throw new HandshakeError(`Relay server ${server} answered bind without an address`);
      return { bound: { transport: network, hostname: a.host, port: a.port } as Deno.NetAddr, tunnel: r.conn() };
    }));
  } catch (err) {
    closeQuietly(conn);
    throw err;
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
  }
  log.debug(`relay ${server}: bind on ${addr}/${network} granted, bound ${addrString(bound)}`);
  if (network === "tcp") {
    const session = MuxSession.server(tunnel, c.mux);
    return new MuxListener({ session, addr: bound, prelude: readPeerResponse, logger: log });
  }
  return new PacketListener(new UdpTunTransport(tunnel), bound, opts.udp, log);
}

/** Reads the relay response that starts a bind stream; its (first) Addr names the peer. */
async function readPeerResponse(stream: MuxStream): Promise<{ conn: Conn; peer: Deno.Addr }> {
  const r = new HandshakeReader(stream, 128);
  const resp = await readResponse(r);
  if (resp.status !== Status.OK) throw new HandshakeError(`Bind stream starts with ${describeStatus(resp.status)}`);
  const a = resp.features.find((f) => f.kind === "addr");
  const peer: Deno.NetAddr = a?.kind === "addr"
    ? { transport: "tcp", hostname: a.host, port: a.port }
    : { transport: "tcp", hostname: "0.0.0.0", port: 0 };
  return { conn: r.conn(), peer };
}
