/**
 * One smux stream as a {@link Conn} (docs/wire.md, "smux streams"). Reads drain the frames the session pushed, then
 * return null after the peer's FIN; `closeWrite()` sends our FIN and keeps reading (a gost.ts peer keeps writing; a
 * GOST peer treats FIN as a full close and stops); `close()` sends FIN if not sent yet and forgets the stream. Version
 * 2 streams keep GOST's sliding window: at most `window − (written − consumed)` bytes in flight, UPD after the first
 * read and after every half window read.
 *
 * Receive memory is allocated by use: an idle stream holds no buffer. Arriving payloads are copied into blocks that
 * later payloads fill up: the first one of {@link MIN_RECV_BLOCK} bytes, each next one twice as large while unread data
 * piles up (to {@link MAX_RECV_BLOCK}), or of the payload's own size when that is larger; a block is dropped once
 * read, and a drained queue starts small again. Each block is charged to the session's receive budget at its capacity plus
 * {@link BLOCK_OVERHEAD}, and given back when dropped, so the budget bounds the memory held, not only the payload
 * bytes: a peer that sends one-byte frames cannot make 4 MiB of budget cost gigabytes of small buffers.
 * @module
 */
import type { Conn } from "../conn.ts";
import type { MuxConfig } from "./config.ts";
import { Cmd, encodeFrame, encodeUpd, MuxProtocolError } from "./frame.ts";

/** Window a v2 sender assumes before the peer's first UPD (smux `initialPeerWindow`). */
export const INITIAL_PEER_WINDOW = 262_144;
/** Most bytes of one write queued to the session at a time (the session serves streams in turns of 64 KiB). */
const WRITE_CHUNK = 1024 * 1024;
/** The first receive block of a stream whose queue is empty (small payloads share it). */
export const MIN_RECV_BLOCK = 512;
/** Receive blocks double while a stream's queue keeps filling, up to this size; a larger payload gets its own. */
export const MAX_RECV_BLOCK = 16_384;
/** What a receive block costs besides its bytes (its ArrayBuffer, backing store and view), charged to the budget. */
export const BLOCK_OVERHEAD = 256;

/** What a stream needs from its session. */
export interface StreamHost {
  readonly config: MuxConfig;
  readonly localAddr: Deno.Addr;
  readonly remoteAddr: Deno.Addr;
  /** Queues an encoded frame; control frames go first. Resolves once written to the conn. */
  write(frame: Uint8Array, control: boolean): Promise<void>;
  /**
   * Queues `data` for stream `sid` (sent as PSH frames; the session copies it, not before its turn, so `data` must not
   * change until this resolves). Resolves once written to the conn.
   */
  writeData(sid: number, data: Uint8Array): Promise<void>;
  /** Gives back `n` bytes of receive budget (a dropped receive block, see {@link MuxStream.push}). */
  returnTokens(n: number): void;
  /** Removes the stream from the session (later frames for its id are dropped). */
  forget(id: number): void;
  /** Why the session ended, once it has. */
  deadError(): Error;
  /** True once the peer said hello (a gost.ts peer: FIN is a half-close, a second FIN a full close). */
  peerHalfClose(): boolean;
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

/** The budget a receive block was charged (see {@link MuxStream.push}). */
const blockCost = (c: Uint8Array) => c.buffer.byteLength + BLOCK_OVERHEAD;

const closedStream = () => new Deno.errors.BadResource("mux stream is closed");

/** A multiplexed stream. Created by {@link MuxSession.openStream} and {@link MuxSession.acceptStream}. */
export class MuxStream implements Conn {
  readonly id: number;
  readonly #host: StreamHost;
  readonly #version: number;
  /** Unread data: views into receive blocks, oldest first; the last one may have room left in its block. */
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  /** Receive budget the blocks in `#chunks` hold. */
  #charged = 0;
  /** Capacity of the next receive block. */
  #blockSize = MIN_RECV_BLOCK;
  #finReceived = false;
  #finSent = false;
  /** The peer closed the stream for good (a GOST peer's FIN, a gost.ts peer's second FIN): writes fail. */
  #peerGone = false;
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
    let n = 0, freed = 0;
    while (n < p.length && this.#chunks.length) {
      const c = this.#chunks[0];
      const k = Math.min(c.length, p.length - n);
      p.set(k === c.length ? c : c.subarray(0, k), n);
      n += k;
      if (k === c.length) {
        this.#chunks.shift();
        freed += blockCost(c);
      } else this.#chunks[0] = c.subarray(k);
    }
    this.#buffered -= n;
    if (!this.#chunks.length) this.#blockSize = MIN_RECV_BLOCK;
    if (freed) {
      this.#charged -= freed;
      this.#host.returnTokens(freed);
    }
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
      await this.#host.writeData(this.id, p.subarray(off, off + n));
      off += n;
    }
    return p.length;
  }

  #checkWritable(): void {
    if (this.#closed || this.#finSent) throw closedStream();
    if (this.#dead) throw this.#host.deadError();
    if (this.#peerGone) throw new Deno.errors.BrokenPipe(`mux stream ${this.id}: the peer closed it`);
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

  /**
   * Sends FIN unless sent, drops unread data and forgets the stream. A gost.ts peer that may still be writing also
   * gets a second FIN: it stops, where it would otherwise send into a stream nobody reads. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const held = this.#charged;
    this.#chunks = [];
    this.#buffered = this.#charged = 0;
    if (held) this.#host.returnTokens(held);
    if (!this.#dead) {
      const fins = (this.#finSent ? 0 : 1) + (this.#finReceived || !this.#host.peerHalfClose() ? 0 : 1);
      this.#finSent = true;
      const fin = encodeFrame(this.#version, Cmd.FIN, this.id);
      for (let i = 0; i < fins; i++) this.#host.write(fin, false).catch(() => {});
    }
    this.#host.forget(this.id);
    this.#readable.notify();
    this.#writable.notify();
  }

  // ---- called by the session ----

  /**
   * Copies a PSH payload (a view the session reuses) into the receive blocks.
   * @returns the receive budget newly charged: a new block's capacity plus {@link BLOCK_OVERHEAD}, or 0 when the
   *   payload fit in the last block's room
   */
  push(data: Uint8Array): number {
    const n = data.length;
    const chunks = this.#chunks;
    const last = chunks[chunks.length - 1];
    let charge = 0;
    if (last && last.buffer.byteLength - (last.byteOffset + last.length) >= n) {
      const grown = new Uint8Array(last.buffer, last.byteOffset, last.length + n);
      grown.set(data, last.length);
      chunks[chunks.length - 1] = grown;
    } else {
      const size = this.#blockSize;
      const block = new Uint8Array(n < size ? size : n);
      if (size < MAX_RECV_BLOCK) this.#blockSize = size * 2;
      block.set(data);
      chunks.push(block.subarray(0, n));
      charge = block.length + BLOCK_OVERHEAD;
      this.#charged += charge;
    }
    this.#buffered += n;
    this.#readable.notify();
    return charge;
  }

  /**
   * The peer's FIN: the end of its data. From a GOST peer (no hello) and as a gost.ts peer's second FIN it is also a
   * full close: writes fail from now on, as GOST's do.
   */
  fin(): void {
    if (this.#finReceived || !this.#host.peerHalfClose()) this.#peerGone = true;
    if (!this.#finReceived) {
      this.#finReceived = true;
      if (this.#finSent) this.#host.forget(this.id);
    }
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
