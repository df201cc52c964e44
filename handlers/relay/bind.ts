/**
 * Relay BIND. Off unless `bind=true` (Forbidden). Over UDP (flag 0x80 or Network udp) it is GOST's UDP association,
 * used by GOST clients for SOCKS5 UDP through a relay hop and by `rudp`: the server listens on the requested UDP
 * address, answers OK + Addr(bound address) at once, then the stream carries UDP-tun frames
 * (docs/wire.md, "SOCKS5 UDP-tun"): client → server frames name the destination, server → client frames name the
 * source. A destination the service's rules refuse (bypass, this process's own listeners) is dropped, logged at debug,
 * as the router would refuse a dial. Over TCP the stream becomes an smux session (`rtcp`, bind_mux.ts).
 * @module
 */
import { addrString, closeQuietly, type Conn, writeFull } from "../../core/conn.ts";
import { BindError, errorMessage, PolicyError } from "../../core/errors.ts";
import { dialOptions } from "../../core/contracts.ts";
import { DatagramTargets } from "../../core/routing/datagram_targets.ts";
import { bindTcp } from "./bind_mux.ts";
import { FrameReader } from "./frames.ts";
import { type RelayScope, sendError, sendResponse } from "./scope.ts";
import { decodeTunHeader, encodeTunHeader, MAX_DATAGRAM, Status, tunHeaderLength } from "./wire.ts";

/** Room in front of received datagrams for the largest UDP-tun header (255-byte domain). */
const HEADER_ROOM = 3 + 1 + 1 + 255 + 2;

/**
 * Serves BIND.
 * @throws {PolicyError} when BIND is disabled; for TCP what {@link bindTcp} throws (smux BIND, bind_mux.ts);
 *   {@link BindError} when the UDP socket cannot be bound
 */
export async function bind(s: RelayScope): Promise<void> {
  const { conn, ctx } = s;
  if (!s.md.bind) {
    await sendError(conn, Status.Forbidden);
    throw new PolicyError("Relay BIND is disabled (set bind=true)");
  }
  if (s.network === "tcp") return await bindTcp(s);
  const host = s.facts.host || "0.0.0.0";
  const port = s.facts.port ?? 0;
  let sock: Deno.DatagramConn;
  try {
    sock = Deno.listenDatagram({ transport: "udp", hostname: host, port });
  } catch (err) {
    // GOST closes without a response here; an explicit status tells the client why
    await sendError(conn, Status.ServiceUnavailable);
    throw new BindError(`Relay UDP BIND on ${host}:${port}: ${errorMessage(err)}`, { cause: err });
  }
  const bound = sock.addr as Deno.NetAddr;
  try {
    await sendResponse(conn, Status.OK, [{ kind: "addr", host: bound.hostname, port: bound.port }]);
  } catch (err) {
    closeQuietly(sock);
    throw err;
  }
  ctx.dst = addrString(bound);
  ctx.logger.info(`${ctx.src} <-> udp://${addrString(bound)} (bind)`);
  const down = toClient(sock, conn, s);
  try {
    await toPeers(conn, sock, s);
  } finally {
    closeQuietly(sock);
    closeQuietly(conn);
    await down;
  }
}

/** Client → peers: each UDP-tun frame is sent to the address it names. Ends at EOF or on a stream error. */
async function toPeers(conn: Conn, sock: Deno.DatagramConn, s: RelayScope): Promise<void> {
  const r = new FrameReader(conn);
  const log = s.ctx.logger;
  // the service's rules (bypass, own-endpoint guard) decide which targets a datagram may go to
  const targets = new DatagramTargets(s.opts.router, dialOptions(s.ctx), log, sock.addr);
  try {
    while (await r.fill(5)) {
      await r.fill(tunHeaderLength(r.view));
      const h = decodeTunHeader(r.view);
      // RSV 0 makes GOST read "whatever comes"; here it is an empty datagram
      await r.fill(h.headerLen + h.dataLen);
      const found = h.host && h.port ? targets.get(h.host, h.port) : null;
      const to = found instanceof Promise ? await found : found;
      if (to) {
        const data = r.view.subarray(h.headerLen, h.headerLen + h.dataLen);
        try {
          await sock.send(data, to);
        } catch (err) {
          log.debug(`udp bind: dropped a datagram to ${h.host}:${h.port}: ${errorMessage(err)}`);
        }
      }
      r.consume(h.headerLen + h.dataLen);
    }
  } catch (err) {
    log.debug(`udp bind: ${errorMessage(err)}`);
  }
}

/** Peers → client: each datagram goes out as one UDP-tun frame naming its source. Never rejects. */
async function toClient(sock: Deno.DatagramConn, conn: Conn, s: RelayScope): Promise<void> {
  const buf = new Uint8Array(HEADER_ROOM + MAX_DATAGRAM);
  try {
    for (;;) {
      const [data, from] = await sock.receive(buf.subarray(HEADER_ROOM));
      const src = from as Deno.NetAddr;
      const header = encodeTunHeader(src.hostname, src.port, data.length);
      const start = HEADER_ROOM - header.length;
      buf.set(header, start);
      if (data.buffer !== buf.buffer || data.byteOffset !== HEADER_ROOM) buf.set(data, HEADER_ROOM);
      await writeFull(conn, buf.subarray(start, HEADER_ROOM + data.length));
    }
  } catch (err) {
    s.ctx.logger.debug(`udp bind: ${errorMessage(err)}`);
  } finally {
    closeQuietly(conn);
  }
}
