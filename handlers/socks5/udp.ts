/**
 * SOCKS5 UDP ASSOCIATE (RFC 1928 §7): a UDP socket on the IP the client connected to relays datagrams
 * `00 00 FRAG ADDR DATA` between the client and targets. Only datagrams from the TCP client's IP are accepted; its
 * UDP port is learnt from the first one. Each target gets its own datagram conn from `router.dial("udp", …)` and a
 * read loop that wraps replies with the target's address. Fragments (FRAG ≠ 0) are dropped. The association ends
 * when the TCP control connection closes; every socket is closed with it.
 * @module
 */
import { dialOptions } from "../../core/contracts.ts";
import { addrString, closeQuietly, type Conn, joinHostPort } from "../../core/conn.ts";
import { BindError, errorMessage, PolicyError } from "../../core/errors.ts";
import { normalizeIP } from "../../core/ip.ts";
import { decodeUdpHeader, encodeUdpHeader, Rep } from "./wire.ts";
import { type CommandScope, netAddr, sendError, sendReply } from "./command.ts";

/** Most targets one association keeps open; the oldest is closed to make room. */
const MAX_TARGETS = 256;

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
  const assoc = new Association(s, sock);
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

/** One association: the client-facing socket and the conns to its targets. */
class Association {
  readonly #s: CommandScope;
  readonly #sock: Deno.DatagramConn;
  readonly #clientIP: string;
  readonly #targets = new Map<string, Conn>();
  readonly #loops = new Set<Promise<void>>();
  #client: Deno.NetAddr | null = null;
  #closed = false;
  /** Payload bytes from the client to targets. */
  input = 0;
  /** Payload bytes from targets to the client. */
  output = 0;

  constructor(s: CommandScope, sock: Deno.DatagramConn) {
    this.#s = s;
    this.#sock = sock;
    this.#clientIP = normalizeIP(netAddr(s.conn.remoteAddr).hostname);
  }

  /** Relays client datagrams until the socket closes, then waits for the target loops. */
  async run(): Promise<void> {
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
      const target = await this.#target(h.addr.host, h.addr.port);
      if (!target) continue;
      try {
        await target.write(data.subarray(h.dataOffset));
        this.input += data.length - h.dataOffset;
      } catch (err) {
        log.debug(`udp relay to ${addrString(target.remoteAddr)}: ${errorMessage(err)}`);
      }
    }
    this.close();
    await Promise.all(this.#loops);
  }

  /** The conn to a target, dialled on first use. */
  async #target(host: string, port: number): Promise<Conn | null> {
    const key = joinHostPort(host, port);
    const known = this.#targets.get(key);
    if (known) return known;
    const { router } = this.#s.opts;
    const { ctx } = this.#s;
    let c: Conn;
    try {
      c = await router.dial("udp", key, dialOptions(ctx));
    } catch (err) {
      ctx.logger.debug(`udp relay: ${errorMessage(err)}`);
      return null;
    }
    if (this.#closed) {
      closeQuietly(c);
      return null;
    }
    if (this.#targets.size >= MAX_TARGETS) {
      const [oldKey, old] = this.#targets.entries().next().value!;
      this.#targets.delete(oldKey);
      closeQuietly(old);
    }
    this.#targets.set(key, c);
    const loop = this.#replies(key, c, encodeUdpHeader(host, port));
    this.#loops.add(loop);
    loop.finally(() => this.#loops.delete(loop));
    return c;
  }

  /** Wraps each reply from a target with its address and sends it to the client. Never rejects. */
  async #replies(key: string, c: Conn, header: Uint8Array): Promise<void> {
    const out = new Uint8Array(header.length + this.#s.md.udpBufferSize);
    out.set(header);
    const data = out.subarray(header.length);
    try {
      for (;;) {
        const n = await c.read(data);
        if (n === null) break;
        try {
          await this.#sock.send(out.subarray(0, header.length + n), this.#client!);
          this.output += n;
        } catch (err) {
          if (this.#closed) break;
          this.#s.ctx.logger.debug(`udp relay: dropped a reply from ${key}: ${errorMessage(err)}`);
        }
      }
    } catch (err) {
      if (!this.#closed) this.#s.ctx.logger.debug(`udp relay from ${key}: ${errorMessage(err)}`);
    } finally {
      if (this.#targets.get(key) === c) this.#targets.delete(key);
      closeQuietly(c);
    }
  }

  /** Closes the client socket and every target conn (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.#sock);
    for (const c of this.#targets.values()) closeQuietly(c);
    this.#targets.clear();
  }
}
