/**
 * SOCKS5 BIND (RFC 1928): listen, reply #1 with the listen address, accept one peer, reply #2 with the peer's
 * address, then relay the control connection to the peer. As GOST does, the listener takes DST.PORT from the
 * request (0 = any free port) on the IP the client connected to; it does not filter peers by DST.ADDR.
 * @module
 */
import { addrString, closeQuietly, type Conn } from "../../../core/conn.ts";
import { BindError, errorMessage, PolicyError } from "../../../core/errors.ts";
import { relay } from "../../../core/relay.ts";
import { Rep } from "../wire.ts";
import { type CommandScope, netAddr, sendError, sendReply } from "./command.ts";

/**
 * Serves BIND when the `bind` option is on (else REP 0x02).
 * @throws {PolicyError} when BIND is disabled; {@link BindError} when listening fails
 */
export async function bind(s: CommandScope): Promise<void> {
  const { conn, ctx, addr } = s;
  if (!s.md.bind) {
    await sendError(conn, Rep.NotAllowed);
    throw new PolicyError("BIND is disabled (set bind=true)");
  }
  const local = netAddr(conn.localAddr);
  let ln: Deno.Listener;
  try {
    ln = Deno.listen({ hostname: local.hostname, port: addr.port, transport: "tcp" });
  } catch (err) {
    await sendError(conn, Rep.Failure);
    throw new BindError(`BIND on ${local.hostname}:${addr.port}: ${errorMessage(err)}`, { cause: err });
  }
  let peer: Deno.Conn;
  const control = new WatchedConn(conn);
  try {
    const port = (ln.addr as Deno.NetAddr).port;
    await sendReply(conn, Rep.Succeeded, local.hostname, port);
    ctx.logger.debug(`bind on ${addrString(ln.addr)}`);
    // the client closing the control connection ends the wait
    control.watch(() => closeQuietly(ln));
    try {
      peer = await ln.accept();
    } catch (err) {
      ctx.logger.debug(`bind on ${addrString(ln.addr)} ended before a peer came: ${errorMessage(err)}`);
      return;
    }
  } finally {
    closeQuietly(ln);
  }
  try {
    const from = netAddr(peer.remoteAddr);
    await sendReply(conn, Rep.Succeeded, from.hostname, from.port);
  } catch (err) {
    closeQuietly(peer);
    throw err;
  }
  ctx.logger.info(`${ctx.src} <-> ${addrString(peer.remoteAddr)} (bind)`);
  await relay(control, peer);
}

/**
 * The control conn while BIND waits: one read runs in the background to notice the client leaving. Its result
 * (EOF, or bytes the client sent early) is handed to the first read of the relay, so nothing is lost.
 */
class WatchedConn implements Conn {
  readonly #inner: Conn;
  #pending: Promise<number | null> | null = null;
  #buf: Uint8Array | null = null;
  #rest: Uint8Array | null = null;

  constructor(inner: Conn) {
    this.#inner = inner;
  }

  /** Starts the background read; `onEnd` runs when it hits EOF or fails. */
  watch(onEnd: () => void): void {
    const buf = this.#buf = new Uint8Array(4096);
    this.#pending = this.#inner.read(buf);
    this.#pending.then((n) => n === null && onEnd(), onEnd);
  }
  get localAddr(): Deno.Addr {
    return this.#inner.localAddr;
  }
  get remoteAddr(): Deno.Addr {
    return this.#inner.remoteAddr;
  }
  async read(p: Uint8Array): Promise<number | null> {
    if (this.#pending) {
      const n = await this.#pending;
      this.#pending = null;
      if (n === null) return null;
      this.#rest = this.#buf!.subarray(0, n);
    }
    const rest = this.#rest;
    if (!rest) return this.#inner.read(p);
    const n = Math.min(p.length, rest.length);
    p.set(rest.subarray(0, n));
    this.#rest = n < rest.length ? rest.subarray(n) : null;
    return n;
  }
  write(p: Uint8Array): Promise<number> {
    return this.#inner.write(p);
  }
  closeWrite(): Promise<void> {
    return this.#inner.closeWrite();
  }
  close(): void {
    this.#inner.close();
  }
}
