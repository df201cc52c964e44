/**
 * SOCKS5 UDP ASSOCIATE (RFC 1928 §7): a UDP socket on the IP the client connected to relays datagrams
 * `00 00 FRAG ADDR DATA` between the client and targets. Only datagrams from the TCP client's IP are accepted; its
 * UDP port is learnt from the first one. As GOST, the association gets one packet conn from the router
 * (`dialPacket`, before the reply: a chain that cannot be reached answers 0x01) and every datagram names its own
 * target on it: a local socket for a direct route, one upstream association through a chain; the router's rules
 * apply to each destination. Replies are wrapped with the address they come from. Fragments (FRAG ≠ 0) are dropped.
 * The association ends when the TCP control connection closes (or the upstream association ends); every socket is
 * closed with it.
 * @module
 */
import { dialOptions, type PacketConn } from "../../core/contracts.ts";
import { addrString, closeQuietly, type Conn } from "../../core/conn.ts";
import { BindError, errorMessage, PolicyError } from "../../core/errors.ts";
import { normalizeIP } from "../../core/ip.ts";
import { dialPacket } from "../../core/routing/packet_route.ts";
import { decodeUdpHeader, encodeUdpHeader, Rep } from "./wire.ts";
import { type CommandScope, netAddr, sendError, sendReply } from "./command.ts";

/**
 * Serves UDP ASSOCIATE when the `udp` option is on (else REP 0x02).
 * @throws {PolicyError} when UDP is disabled; {@link BindError} when the UDP socket cannot be bound
 */
export async function udpAssociate(s: CommandScope): Promise<void> {
  const { conn, ctx } = s;
  if (!s.md.udp) {
    await sendError(conn, Rep.NotAllowed);
    throw new PolicyError("UDP ASSOCIATE is disabled (set udp=true)");
  }
  const local = netAddr(conn.localAddr);
  let sock: Deno.DatagramConn;
  try {
    sock = Deno.listenDatagram({ transport: "udp", hostname: local.hostname, port: 0 });
  } catch (err) {
    await sendError(conn, Rep.Failure);
    throw new BindError(`UDP ASSOCIATE on ${local.hostname}: ${errorMessage(err)}`, { cause: err });
  }
  let pc: PacketConn;
  try {
    pc = await dialPacket(s.opts.router, dialOptions(ctx), ctx.logger, s.md.udpBufferSize);
  } catch (err) {
    closeQuietly(sock);
    await sendError(conn, Rep.Failure);
    throw err;
  }
  const assoc = new Association(s, sock, pc);
  try {
    await sendReply(conn, Rep.Succeeded, local.hostname, (sock.addr as Deno.NetAddr).port);
    ctx.logger.info(`${ctx.src} <-> udp://${addrString(sock.addr)}`);
    const loop = assoc.run();
    await drain(conn);
    assoc.close();
    await loop;
  } finally {
    assoc.close();
    ctx.logger.debug(`association ${addrString(sock.addr)} closed`, { input: assoc.input, output: assoc.output });
  }
}

/** Reads the control connection until EOF or an error, discarding bytes. */
async function drain(conn: Conn): Promise<void> {
  const buf = new Uint8Array(512);
  try {
    while (await conn.read(buf) !== null) {
      // RFC 1928: the association lives as long as the TCP connection
    }
  } catch {
    // reset or closed: the association ends all the same
  }
}

/** One association: the client-facing socket and the packet conn towards targets. */
class Association {
  readonly #s: CommandScope;
  readonly #sock: Deno.DatagramConn;
  readonly #pc: PacketConn;
  readonly #clientIP: string;
  #client: Deno.NetAddr | null = null;
  #closed = false;
  /** Payload bytes from the client to targets. */
  input = 0;
  /** Payload bytes from targets to the client. */
  output = 0;

  constructor(s: CommandScope, sock: Deno.DatagramConn, pc: PacketConn) {
    this.#s = s;
    this.#sock = sock;
    this.#pc = pc;
    this.#clientIP = normalizeIP(netAddr(s.conn.remoteAddr).hostname);
  }

  /** Relays client datagrams until the socket closes, then waits for the reply loop. */
  async run(): Promise<void> {
    const replies = this.#replies();
    const buf = new Uint8Array(this.#s.md.udpBufferSize);
    const log = this.#s.ctx.logger;
    for (;;) {
      let data: Uint8Array, from: Deno.NetAddr;
      try {
        const [d, a] = await this.#sock.receive(buf);
        [data, from] = [d, a as Deno.NetAddr];
      } catch (err) {
        if (!this.#closed) log.debug(`udp relay: ${errorMessage(err)}`);
        break;
      }
      if (normalizeIP(from.hostname) !== this.#clientIP) continue;
      if (!this.#client) this.#client = from;
      else if (from.port !== this.#client.port) continue;
      let h: ReturnType<typeof decodeUdpHeader>;
      try {
        h = decodeUdpHeader(data);
      } catch (err) {
        log.debug(`udp relay: dropped a datagram: ${errorMessage(err)}`);
        continue;
      }
      if (h.frag !== 0 || !h.addr.host || h.addr.port === 0) continue;
      try {
        this.input += await this.#pc.writeTo(data.subarray(h.dataOffset), h.addr);
      } catch (err) {
        log.debug(`udp relay to ${h.addr.host}:${h.addr.port}: ${errorMessage(err)}`);
      }
    }
    this.close();
    await replies;
  }

  /**
   * Wraps each reply with its source address and sends it to the client; when the packet conn ends, the
   * association ends (the control connection is closed). Never rejects.
   */
  async #replies(): Promise<void> {
    const log = this.#s.ctx.logger;
    try {
      for (;;) {
        const p = await this.#pc.readFrom();
        if (p === null) break;
        if (!this.#client) continue;
        const header = encodeUdpHeader(p.addr.host, p.addr.port);
        const out = new Uint8Array(header.length + p.data.length);
        out.set(header);
        out.set(p.data, header.length);
        try {
          await this.#sock.send(out, this.#client);
          this.output += p.data.length;
        } catch (err) {
          if (this.#closed) break;
          log.debug(`udp relay: dropped a reply from ${p.addr.host}:${p.addr.port}: ${errorMessage(err)}`);
        }
      }
    } catch (err) {
      if (!this.#closed) log.debug(`udp relay: ${errorMessage(err)}`);
    }
    if (!this.#closed) closeQuietly(this.#s.conn);
  }

  /** Closes the client socket and the packet conn (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.#sock);
    closeQuietly(this.#pc);
  }
}
