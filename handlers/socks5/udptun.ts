/**
 * GOST's SOCKS5 UDP-tun (CMD 0xF3, docs/wire.md, "SOCKS5 UDP-tun"): UDP carried on the TCP connection as frames
 * `LEN u16 | 0xFF | ADDR | DATA`. GOST's own socks5 client uses it for all UDP.
 * - Relay mode (request port 0, needs `udp`): each client frame names a destination; as GOST, the tunnel gets one
 *   packet conn from the router (`dialPacket`: a local socket for a direct route, one upstream association through
 *   a chain; the router's rules apply to each destination) and replies come back as frames naming their source.
 * - Bind mode (request port ≠ 0, needs `bind`; what `rudp` uses): listen on the requested UDP address; datagrams
 *   from peers go to the client as frames naming the peer, client frames go to the peer they name (unless the
 *   service's rules refuse it: bypass, this process's own listeners; dropped and logged at debug).
 * The tunnel ends when the TCP connection ends; every socket is closed with it.
 * @module
 */
import { HandshakeReader } from "../../core/bufio.ts";
import { addrString, closeQuietly, type Conn, joinHostPort, writeFull } from "../../core/conn.ts";
import { BindError, errorMessage, PolicyError } from "../../core/errors.ts";
import { dialOptions, type PacketConn } from "../../core/contracts.ts";
import { DatagramTargets } from "../../core/routing/datagram_targets.ts";
import { dialPacket } from "../../core/routing/packet_route.ts";
import { encodeUdpTunHeader, readUdpTunHeader, Rep, type SocksAddr } from "./wire.ts";
import { type CommandScope, netAddr, sendError, sendReply } from "./command.ts";

/**
 * Serves UDP-tun: relay mode when `udp` is on, bind mode when `bind` is on (else REP 0x02).
 * @throws {PolicyError} when the mode is disabled; {@link BindError} when the UDP socket cannot be bound (REP 0x01)
 */
export async function udpTun(s: CommandScope): Promise<void> {
  const { conn, addr } = s;
  const bindMode = addr.port !== 0;
  if (bindMode ? !s.md.bind : !s.md.udp) {
    await sendError(conn, Rep.NotAllowed);
    throw new PolicyError(
      bindMode ? "UDP-tun bind is disabled (set bind=true)" : "UDP-tun relay is disabled (set udp=true)",
    );
  }
  return await (bindMode ? tunBind(s) : tunRelay(s));
}

/** Frames out to the client, one at a time. */
class FrameWriter {
  readonly #conn: Conn;
  #chain: Promise<unknown> = Promise.resolve();
  output = 0;
  constructor(conn: Conn) {
    this.#conn = conn;
  }
  /** Sends `data` as one frame naming `host:port`; empty datagrams are skipped (GOST cannot read them). */
  send(host: string, port: number, data: Uint8Array): Promise<void> {
    if (data.length === 0) return Promise.resolve();
    const header = encodeUdpTunHeader(data.length, host, port);
    const frame = new Uint8Array(header.length + data.length);
    frame.set(header);
    frame.set(data, header.length);
    const done = this.#chain.then(() => writeFull(this.#conn, frame)).then(() => void (this.output += data.length));
    this.#chain = done.catch(() => {});
    return done;
  }
}

/**
 * Reads client frames until EOF and hands each to `onFrame`; returns at EOF or on a stream error.
 * @returns payload bytes read
 */
async function readFrames(
  conn: Conn,
  s: CommandScope,
  onFrame: (addr: SocksAddr, data: Uint8Array) => Promise<void>,
): Promise<number> {
  const r = new HandshakeReader(conn, 4096);
  let input = 0;
  try {
    while (await r.peekByte() !== null) {
      const { length, addr } = await readUdpTunHeader(r);
      const data = await r.readFull(length);
      if (!length || !addr.host || !addr.port) continue;
      input += length;
      await onFrame(addr, data);
    }
  } catch (err) {
    s.ctx.logger.debug(`udp-tun: ${errorMessage(err)}`);
  }
  return input;
}

/** Bind mode: one UDP socket on the requested address, peers ↔ client. */
async function tunBind(s: CommandScope): Promise<void> {
  const { conn, ctx, addr } = s;
  const hostname = addr.host || "0.0.0.0";
  let sock: Deno.DatagramConn;
  try {
    sock = Deno.listenDatagram({ transport: "udp", hostname, port: addr.port });
  } catch (err) {
    await sendError(conn, Rep.Failure);
    throw new BindError(`UDP-tun bind on ${hostname}:${addr.port}: ${errorMessage(err)}`, { cause: err });
  }
  const bound = sock.addr as Deno.NetAddr;
  const out = new FrameWriter(conn);
  let input = 0;
  try {
    await sendReply(conn, Rep.Succeeded, bound.hostname, bound.port);
    ctx.logger.info(`${ctx.src} <-> udp://${addrString(bound)} (udp-tun bind)`);
    const down = (async () => {
      const buf = new Uint8Array(s.md.udpBufferSize);
      try {
        for (;;) {
          const [data, from] = await sock.receive(buf);
          const peer = from as Deno.NetAddr;
          await out.send(peer.hostname, peer.port, data);
        }
      } catch (err) {
        ctx.logger.debug(`udp-tun bind on ${addrString(bound)}: ${errorMessage(err)}`);
      } finally {
        closeQuietly(conn);
      }
    })();
    // the service's rules (bypass, own-endpoint guard) decide which targets a datagram may go to
    const targets = new DatagramTargets(s.opts.router, dialOptions(ctx), ctx.logger, sock.addr);
    input = await readFrames(conn, s, async (to, data) => {
      const found = targets.get(to.host, to.port);
      const addr = found instanceof Promise ? await found : found;
      if (!addr) return;
      try {
        await sock.send(data, addr);
      } catch (err) {
        ctx.logger.debug(`udp-tun bind: dropped a datagram to ${joinHostPort(to.host, to.port)}: ${errorMessage(err)}`);
      }
    });
    closeQuietly(sock);
    await down;
  } finally {
    closeQuietly(sock);
    ctx.logger.debug(`udp-tun bind on ${addrString(bound)} closed`, { input, output: out.output });
  }
}

/** Relay mode: one packet conn from the router for every destination (as GOST). */
async function tunRelay(s: CommandScope): Promise<void> {
  const { conn, ctx } = s;
  const out = new FrameWriter(conn);
  let pc: PacketConn;
  try {
    pc = await dialPacket(s.opts.router, dialOptions(ctx), ctx.logger, s.md.udpBufferSize);
  } catch (err) {
    await sendError(conn, Rep.Failure);
    throw err;
  }
  let closed = false;
  let input = 0;
  try {
    await sendReply(conn, Rep.Succeeded, netAddr(conn.localAddr).hostname, 0);
    ctx.logger.info(`${ctx.src} <-> udp-tun relay`);
    const replies = (async () => {
      try {
        for (;;) {
          const p = await pc.readFrom();
          if (p === null) break;
          await out.send(p.addr.host, p.addr.port, p.data);
        }
      } catch (err) {
        if (!closed) ctx.logger.debug(`udp-tun relay: ${errorMessage(err)}`);
      }
      // the association ended (or the client did): so does the tunnel
      if (!closed) closeQuietly(conn);
    })();
    input = await readFrames(conn, s, async (to, data) => {
      try {
        await pc.writeTo(data, to);
      } catch (err) {
        ctx.logger.debug(`udp-tun relay to ${joinHostPort(to.host, to.port)}: ${errorMessage(err)}`);
      }
    });
    closed = true;
    closeQuietly(pc);
    await replies;
  } finally {
    closed = true;
    closeQuietly(pc);
    ctx.logger.debug(`udp-tun relay closed`, { input, output: out.output });
  }
}
