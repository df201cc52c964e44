/**
 * The client side of remote port forwarding through a SOCKS5 server (what `rtcp`/`rudp` use when the last chain
 * node is `socks5`), as GOST's connector does:
 * - `tcp`: MBIND (CMD 0xF2, docs/wire.md, "SOCKS5 MBIND"). After the reply the stream becomes an smux session in which
 *   we are the server role; the SOCKS server opens one stream per inbound connection and starts it with a SOCKS5 reply
 *   naming the peer. Every connection shares the one tunnel.
 * - `udp`: UDP-tun bind mode (CMD 0xF3 with port ≠ 0, docs/wire.md, "SOCKS5 UDP-tun"). The server listens on that UDP
 *   port and the stream carries UDP-tun frames naming each peer; each peer becomes a datagram session.
 * @module
 */
import { HandshakeReader } from "../../core/bufio.ts";
import { closeQuietly, type Conn, type Network, splitHostPort, writeFull } from "../../core/conn.ts";
import { DialError, errorMessage, HandshakeError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import type { MuxConfig } from "../../core/mux/config.ts";
import { MuxListener } from "../../core/mux/listener.ts";
import { MuxSession } from "../../core/mux/session.ts";
import type { MuxStream } from "../../core/mux/stream.ts";
import type { Listener } from "../../core/contracts.ts";
import { type BindOptions, PacketListener, type PacketTransport } from "../../listeners/rudp/packet_listener.ts";
import { boundedHandshake, serverName, socks5ReplyText } from "./connector_metadata.ts";
import { Cmd, encodeRequest, encodeUdpTunHeader, readReply, readUdpTunHeader, Rep } from "./wire.ts";

/** What {@link socks5Bind} needs from the connector. */
export interface Socks5BindContext {
  /** Greeting, method (TLS for 0x80/0x82) and auth; returns the conn to speak on and its reader. */
  negotiate(conn: Conn, server: string): Promise<{ conn: Conn; r: HandshakeReader }>;
  connectTimeoutMs: number;
  logger: Logger;
  /** smux settings (GOST's socks5 connector uses smux defaults). */
  mux?: Partial<MuxConfig>;
}

/**
 * Asks the SOCKS5 server on `conn` to listen on `addr` (`host:port`; an empty host means every interface).
 * @returns a listener whose conns are the peers connecting to that address at the server
 * @throws {DialError} naming `addr` when the server refuses (REP ≠ 0: `bind` off, port in use);
 *   {@link AuthError}, {@link HandshakeError}, {@link TimeoutError} as `connect()` does
 */
export async function socks5Bind(
  c: Socks5BindContext,
  conn: Conn,
  network: Network,
  addr: string,
  opts: BindOptions = {},
): Promise<Listener> {
  const server = serverName(conn);
  const log = opts.logger ?? c.logger;
  let host: string, port: number;
  try {
    ({ host, port } = splitHostPort(addr));
  } catch (err) {
    closeQuietly(conn);
    throw new DialError(addr, `SOCKS5 bind on "${addr}": ${errorMessage(err)}`, { cause: err });
  }
  const cmd = network === "tcp" ? Cmd.MuxBind : Cmd.UdpTun;
  const what = network === "tcp" ? "MBIND (0xF2)" : "UDP-tun bind (0xF3)";
  const { tunnel, bound } = await boundedHandshake(conn, c.connectTimeoutMs, opts.signal, async () => {
    let s: { conn: Conn; r: HandshakeReader } | undefined;
    try {
      s = await c.negotiate(conn, server);
      await writeFull(s.conn, encodeRequest(cmd, host, port));
      const reply = await readReply(s.r);
      if (reply.code !== Rep.Succeeded) {
        throw new DialError(addr, `SOCKS5 server ${server} refused ${what} on ${addr}: ${socks5ReplyText(reply.code)}`);
      }
      const bound: Deno.NetAddr = { transport: network, hostname: reply.addr.host, port: reply.addr.port };
      return { tunnel: s.r.conn(), bound };
    } catch (err) {
      closeQuietly(s?.conn);
      throw err;
    }
  });
  log.debug(`socks5 ${server}: ${what} on ${addr} granted, bound ${bound.hostname}:${bound.port}`);
  if (network === "tcp") {
    const session = MuxSession.server(tunnel, c.mux);
    return new MuxListener({ session, addr: bound, prelude: readPeerReply, logger: log });
  }
  return new PacketListener(new UdpTunTransport(tunnel), bound, opts.udp, log);
}

/** Reads the SOCKS5 reply that starts an MBIND stream; it names the peer. */
async function readPeerReply(stream: MuxStream): Promise<{ conn: Conn; peer: Deno.Addr }> {
  const r = new HandshakeReader(stream, 64);
  const reply = await readReply(r);
  if (reply.code !== Rep.Succeeded) {
    throw new HandshakeError(`MBIND stream starts with ${socks5ReplyText(reply.code)}`);
  }
  return { conn: r.conn(), peer: { transport: "tcp", hostname: reply.addr.host, port: reply.addr.port } };
}

/**
 * Datagrams over a UDP-tun stream (`LEN u16 | 0xFF | ADDR | DATA`, docs/wire.md, "SOCKS5 UDP-tun"), each naming its
 * peer: the source on receive, the destination on send. GOST's relay UDP BIND uses the same frames.
 */
export class UdpTunTransport implements PacketTransport {
  readonly #conn: Conn;
  readonly #r: HandshakeReader;
  #writing: Promise<unknown> = Promise.resolve();

  constructor(conn: Conn) {
    this.#conn = conn;
    this.#r = new HandshakeReader(conn, 4096);
  }

  /** @throws {HandshakeError} when the stream ends inside a frame or an address is malformed */
  async receive(): Promise<{ data: Uint8Array; from: Deno.NetAddr } | null> {
    for (;;) {
      if (await this.#r.peekByte() === null) return null;
      const { length, addr } = await readUdpTunHeader(this.#r);
      const data = await this.#r.readFull(length);
      if (length === 0) continue;
      return { data, from: { transport: "udp", hostname: addr.host, port: addr.port } };
    }
  }

  /** Sends one frame; frames never interleave. Empty datagrams are not sent (GOST cannot read them). */
  send(p: Uint8Array, to: Deno.NetAddr): Promise<void> {
    if (p.length === 0) return Promise.resolve();
    const header = encodeUdpTunHeader(p.length, to.hostname, to.port);
    const frame = new Uint8Array(header.length + p.length);
    frame.set(header);
    frame.set(p, header.length);
    const done = this.#writing.then(() => writeFull(this.#conn, frame));
    this.#writing = done.catch(() => {});
    return done;
  }

  close(): void {
    closeQuietly(this.#conn);
  }
}
