/**
 * SOCKS5 BIND (RFC 1928): listen, reply #1 with the listen address, accept one peer, reply #2 with the peer's
 * address, then relay the control connection to the peer. As GOST does, the listener takes DST.PORT from the
 * request (0 = any free port) on the IP the client connected to; it does not filter peers by DST.ADDR.
 *
 * While it waits for the peer the control connection is read all the time, so the client leaving ends the wait
 * whatever it sent first: bytes sent before the peer came are kept for the peer, up to {@link MAX_EARLY_BYTES}; a
 * client that sends that much ends the BIND with REP 0x01. The listener is closed when the wait ends, however it ends (the client leaving,
 * a peer, the service closing).
 * @module
 */
import { addrString, closeQuietly, type Conn } from "../../core/conn.ts";
import { BindError, errorMessage, HandshakeError, PolicyError } from "../../core/errors.ts";
import { relay } from "../../core/relay.ts";
import { Rep } from "./wire.ts";
import { type CommandScope, netAddr, sendError, sendReply } from "./command.ts";

/** The most bytes kept for the peer that the client sends before the peer comes; reaching it ends the BIND. */
export const MAX_EARLY_BYTES = 64 * 1024;

/**
 * Serves BIND when the `bind` option is on (else REP 0x02).
 * @throws {PolicyError} when BIND is disabled; {@link BindError} when listening fails; {@link HandshakeError} when
 *   the client sends {@link MAX_EARLY_BYTES} before the peer comes (REP 0x01 is answered first)
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
  const where = addrString(ln.addr);
  const control = new WatchedConn(conn);
  const endWait = () => closeQuietly(ln);
  ctx.signal.addEventListener("abort", endWait, { once: true });
  let peer: Deno.Conn | undefined;
  try {
    if (ctx.signal.aborted) return;
    await sendReply(conn, Rep.Succeeded, local.hostname, (ln.addr as Deno.NetAddr).port);
    ctx.logger.debug(`bind on ${where}`);
    // the client leaving (EOF, reset), too much early data or the service closing ends the wait
    control.watch(endWait);
    try {
      peer = await ln.accept();
    } catch (err) {
      ctx.logger.debug(`bind on ${where} ended before a peer came: ${errorMessage(err)}`);
    }
  } finally {
    ctx.signal.removeEventListener("abort", endWait);
    closeQuietly(ln);
  }
  if (!peer) {
    if (!control.overflowed) return;
    await sendError(conn, Rep.Failure);
    throw new HandshakeError(
      `BIND on ${where}: the client sent ${MAX_EARLY_BYTES} bytes before a peer came, the most kept for it`,
    );
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
 * The control conn while BIND waits: a read loop in the background notices the client leaving and keeps what it
 * sends early (up to {@link MAX_EARLY_BYTES}). The relay's first read stops the loop and gets the kept bytes, then
 * the EOF or error the loop met, then reads the conn itself.
 */
class WatchedConn implements Conn {
  readonly #inner: Conn;
  #watching: Promise<void> | null = null;
  #stopped = false;
  #buf = new Uint8Array(0);
  #start = 0;
  #end = 0;
  #eof = false;
  #error: unknown = undefined;
  /** True when the client sent {@link MAX_EARLY_BYTES} while BIND waited. */
  overflowed = false;

  constructor(inner: Conn) {
    this.#inner = inner;
  }

  /** Starts the background reads; `onEnd` runs when they meet EOF, an error or the cap. */
  watch(onEnd: () => void): void {
    this.#watching = this.#watch(onEnd);
  }

  async #watch(onEnd: () => void): Promise<void> {
    try {
      while (!this.#stopped) {
        if (this.#end === this.#buf.length) {
          if (this.#buf.length >= MAX_EARLY_BYTES) {
            this.overflowed = true;
            return onEnd();
          }
          const grown = new Uint8Array(Math.min(MAX_EARLY_BYTES, Math.max(4096, this.#buf.length * 2)));
          grown.set(this.#buf.subarray(0, this.#end));
          this.#buf = grown;
        }
        const n = await this.#inner.read(this.#buf.subarray(this.#end));
        if (n === null) {
          this.#eof = true;
          return onEnd();
        }
        this.#end += n;
      }
    } catch (err) {
      this.#error = err;
      onEnd();
    }
  }

  get localAddr(): Deno.Addr {
    return this.#inner.localAddr;
  }
  get remoteAddr(): Deno.Addr {
    return this.#inner.remoteAddr;
  }
  async read(p: Uint8Array): Promise<number | null> {
    if (this.#watching) {
      // a read in flight ends the loop when it returns; its bytes are kept like the others
      this.#stopped = true;
      await this.#watching;
      this.#watching = null;
    }
    if (this.#start < this.#end) {
      const n = Math.min(p.length, this.#end - this.#start);
      p.set(this.#buf.subarray(this.#start, this.#start + n));
      this.#start += n;
      if (this.#start === this.#end) {
        this.#buf = new Uint8Array(0);
        this.#start = this.#end = 0;
      }
      return n;
    }
    if (this.#error !== undefined) {
      const err = this.#error;
      this.#error = undefined;
      throw err;
    }
    if (this.#eof) return null;
    return this.#inner.read(p);
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
