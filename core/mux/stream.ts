/**
 * One smux stream as a {@link Conn} (docs/wire.md, "smux streams"). Reads drain the frames the session pushed, then
 * return null after the peer's FIN; `closeWrite()` sends our FIN and keeps reading (a gost.ts peer keeps writing; a
 * GOST peer treats FIN as a full close and stops); `close()` sends FIN if not sent yet and forgets the stream. Version
 * 2 streams keep GOST's sliding window: at most `window − (written − consumed)` bytes in flight, UPD after the first
 * read and after every half window read.
 * @module
 */
import type { Conn } from "../conn.ts";
import type { MuxConfig } from "./config.ts";
import { Cmd, encodeFrame, encodeUpd, HEADER_SIZE, MuxProtocolError, putHeader } from "./frame.ts";

/** Window a v2 sender assumes before the peer's first UPD (smux `initialPeerWindow`). */
export const INITIAL_PEER_WINDOW = 262_144;
/** Most bytes of one write queued to the session at a time, so other streams get their turn. */
const WRITE_CHUNK = 256 * 1024;

/** What a stream needs from its session. */
export interface StreamHost {
  readonly config: MuxConfig;
  readonly localAddr: Deno.Addr;
  readonly remoteAddr: Deno.Addr;
  /** Queues encoded frames; control frames go first. Resolves once written to the conn. */
  write(frame: Uint8Array, control: boolean): Promise<void>;
  /** Gives back receive budget after the application read `n` bytes. */
  returnTokens(n: number): void;
  /** Removes the stream from the session (later frames for its id are dropped). */
  forget(id: number): void;
  /** Why the session ended, once it has. */
  deadError(): Error;
}

/** A one-shot wake-up shared by every waiter. */
class Signal {
  #p: Promise<void> | null = null;
  #resolve: (() => void) | null = null;
  wait(): Promise<void> {
    this.#p ??= new Promise<void>((r) => (this.#resolve = r));
    return this.#p;
  }
  notify(): void {
    const r = this.#resolve;
    this.#p = this.#resolve = null;
    r?.();
  }
}

const closedStream = () => new Deno.errors.BadResource("mux stream is closed");

/** A multiplexed stream. Created by {@link MuxSession.openStream} and {@link MuxSession.acceptStream}. */
export class MuxStream implements Conn {
  readonly id: number;
  readonly #host: StreamHost;
  readonly #version: number;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #finReceived = false;
  #finSent = false;
  #closed = false;
  #dead = false;
  readonly #readable = new Signal();
  readonly #writable = new Signal();
  // v2 window accounting, all mod 2^32
  #numRead = 0;
  #incr = 0;
  #updSent = false;
  #numWritten = 0;
  #peerConsumed = 0;
  #peerWindow = INITIAL_PEER_WINDOW;

  constructor(host: StreamHost, id: number) {
    this.#host = host;
    this.id = id;
    this.#version = host.config.version;
  }

  get localAddr(): Deno.Addr {
    return this.#host.localAddr;
  }
  get remoteAddr(): Deno.Addr {
    return this.#host.remoteAddr;
  }
  /** Bytes received and not read yet. */
  get buffered(): number {
    return this.#buffered;
  }
  /** True once the peer sent FIN. */
  get finReceived(): boolean {
    return this.#finReceived;
  }

  /**
   * Reads buffered data; null after the peer's FIN (once drained) or after `close()`.
   * @throws {Deno.errors.ConnectionReset} when the session ended without a FIN for this stream
   */
  async read(p: Uint8Array): Promise<number | null> {
    if (p.length === 0) return 0;
    for (;;) {
      if (this.#chunks.length) return this.#take(p);
      if (this.#finReceived || this.#closed) return null;
      if (this.#dead) throw this.#host.deadError();
      await this.#readable.wait();
    }
  }

  #take(p: Uint8Array): number {
    let n = 0;
    while (n < p.length && this.#chunks.length) {
      const c = this.#chunks[0];
      const k = Math.min(c.length, p.length - n);
      p.set(k === c.length ? c : c.subarray(0, k), n);
      n += k;
      if (k === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(k);
    }
    this.#buffered -= n;
    this.#host.returnTokens(n);
    if (this.#version === 2) this.#consumed(n);
    return n;
  }

  /** v2: announces what was read after the first read and whenever half a window was read since the last UPD. */
  #consumed(n: number): void {
    this.#numRead = (this.#numRead + n) >>> 0;
    this.#incr += n;
    const cfg = this.#host.config;
    if (this.#updSent && this.#incr < cfg.maxStreamBuffer / 2) return;
    this.#updSent = true;
    this.#incr = 0;
    if (this.#closed || this.#dead) return;
    const frame = encodeUpd(this.#version, this.id, this.#numRead, cfg.maxStreamBuffer);
    this.#host.write(frame, true).catch(() => {});
  }

  /**
   * Sends `p` as PSH frames of at most `maxFrameSize` bytes; resolves once they are written to the session's conn.
   * @throws {Deno.errors.BadResource} after `closeWrite()`/`close()`; the session's error once it ended
   */
  async write(p: Uint8Array): Promise<number> {
    let off = 0;
    while (off < p.length) {
      this.#checkWritable();
      let n = Math.min(p.length - off, WRITE_CHUNK);
      if (this.#version === 2) {
        const win = this.#window();
        if (win <= 0) {
          await this.#waitWindow();
          continue;
        }
        n = Math.min(n, win);
        this.#numWritten = (this.#numWritten + n) >>> 0;
      }
      await this.#send(p.subarray(off, off + n));
      off += n;
    }
    return p.length;
  }

  #checkWritable(): void {
    if (this.#closed || this.#finSent) throw closedStream();
    if (this.#dead) throw this.#host.deadError();
  }

  /** Queues `p` as consecutive PSH frames built into one buffer (one write to the conn, one copy). */
  #send(p: Uint8Array): Promise<void> {
    const size = this.#host.config.maxFrameSize;
    const frames = Math.ceil(p.length / size);
    const out = new Uint8Array(p.length + frames * HEADER_SIZE);
    let at = 0;
    for (let i = 0; i < p.length; i += size) {
      const chunk = p.subarray(i, i + size);
      putHeader(out, at, this.#version, Cmd.PSH, chunk.length, this.id);
      out.set(chunk, at + HEADER_SIZE);
      at += HEADER_SIZE + chunk.length;
    }
    return this.#host.write(out, false);
  }

  /** v2: bytes that may be sent now. @throws {MuxProtocolError} when the peer claims more than was sent */
  #window(): number {
    const inflight = (this.#numWritten - this.#peerConsumed) | 0;
    if (inflight < 0) throw new MuxProtocolError(`smux peer consumed more than was sent on stream ${this.id}`);
    return (this.#peerWindow | 0) - inflight;
  }

  /**
   * v2: waits for a UPD. After the peer's FIN a GOST peer never sends one again, so the wait is bounded by the
   * keepalive timeout there.
   */
  async #waitWindow(): Promise<void> {
    if (!this.#finReceived) return await this.#writable.wait();
    const ms = this.#host.config.keepAliveTimeoutMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<boolean>((r) => (timer = setTimeout(() => r(true), ms)));
    try {
      if (await Promise.race([this.#writable.wait().then(() => false), expired])) {
        throw new Deno.errors.BrokenPipe(`mux stream ${this.id}: the peer closed it and stopped reading`);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends FIN (once); reads go on until the peer's FIN. */
  async closeWrite(): Promise<void> {
    if (this.#finSent || this.#closed || this.#dead) return;
    this.#finSent = true;
    this.#writable.notify();
    await this.#host.write(encodeFrame(this.#version, Cmd.FIN, this.id), false).catch(() => {});
    if (this.#finReceived) this.#host.forget(this.id);
  }

  /** Sends FIN unless sent, drops unread data and forgets the stream. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const unread = this.#buffered;
    this.#chunks = [];
    this.#buffered = 0;
    if (unread) this.#host.returnTokens(unread);
    if (!this.#finSent && !this.#dead) {
      this.#finSent = true;
      this.#host.write(encodeFrame(this.#version, Cmd.FIN, this.id), false).catch(() => {});
    }
    this.#host.forget(this.id);
    this.#readable.notify();
    this.#writable.notify();
  }

  // ---- called by the session ----

  /** Data from a PSH frame (owned by the stream). */
  push(data: Uint8Array): void {
    this.#chunks.push(data);
    this.#buffered += data.length;
    this.#readable.notify();
  }

  /** The peer's FIN. */
  fin(): void {
    if (this.#finReceived) return;
    this.#finReceived = true;
    if (this.#finSent) this.#host.forget(this.id);
    this.#readable.notify();
    this.#writable.notify();
  }

  /** A v2 window update. */
  update(consumed: number, window: number): void {
    this.#peerConsumed = consumed >>> 0;
    this.#peerWindow = window >>> 0;
    this.#writable.notify();
  }

  /** The session ended. */
  sessionClosed(): void {
    this.#dead = true;
    this.#readable.notify();
    this.#writable.notify();
  }
}
