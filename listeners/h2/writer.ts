/**
 * The one writer of an HTTP/2 connection: frames from every stream go out through it, in order, batched into few
 * conn writes. Control frames (SETTINGS ack, PING, WINDOW_UPDATE) go before queued streams' frames, so a PING is
 * answered and a window granted without waiting behind bulk data. A DATA frame is copied into the batch buffer with
 * its header; its promise resolves once copied, so the caller may reuse its buffer, and the next write of a stream
 * waits for the batch before it (backpressure from the conn). The batch buffer is small while traffic is light and
 * grows for bulk transfers (docs/wire.md, "HTTP/2 (h2, h2c)").
 * @module
 */
import { type Conn, writeFull } from "../../core/conn.ts";
import { FRAME_HEADER, FrameType, putHeader } from "./frames.ts";

/** Batch buffer while traffic is light … */
const SMALL = 16 * 1024;
/** … and for bulk (room for two of the largest DATA frames the engine sends). */
export const LARGE = 1024 * 1024 + 4 * 1024;

interface Pending {
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** A queued frame: whole bytes (HEADERS, RST_STREAM, GOAWAY), or a DATA frame to assemble from parts. */
interface Item {
  stream: number;
  size: number;
  bytes?: Uint8Array;
  flags?: number;
  parts?: Uint8Array[];
  done?: Pending;
}

/** Serialises the frames of one connection onto its conn. */
export class FrameWriter {
  readonly #conn: Conn;
  readonly #urgent: Uint8Array[] = [];
  #queue: Item[] = [];
  #head = 0;
  #queuedBytes = 0;
  #busy = false;
  #error: Error | null = null;
  readonly #small = new Uint8Array(SMALL);
  #large: Uint8Array | null = null;
  #idle: (() => void)[] = [];
  /** Bytes written to the conn. */
  bytesOut = 0;
  /** Called once with the error when a write to the conn fails. */
  onError: (err: Error) => void = () => {};
  /** Called before each batch that carries stream frames (gRPC's ping policy resets its strikes). */
  onStreamFrames: () => void = () => {};

  constructor(conn: Conn) {
    this.#conn = conn;
  }

  /** Sends a control frame ahead of the queued stream frames. */
  control(frame: Uint8Array): void {
    if (this.#error) return;
    this.#urgent.push(frame);
    this.#kick();
  }

  /** Queues whole frame bytes (a header block, RST_STREAM, GOAWAY); resolves once they are in a batch. */
  frame(bytes: Uint8Array, stream = 0): Promise<void> {
    return this.#push({ stream, size: bytes.length, bytes });
  }

  /** Queues a DATA frame of `size` bytes made of `parts`; resolves once copied into a batch. */
  data(stream: number, flags: number, parts: Uint8Array[], size: number): Promise<void> {
    return this.#push({ stream, size: FRAME_HEADER + size, flags, parts });
  }

  /** Drops the queued DATA frames of `stream` (it was reset): their writers see `err`. */
  dropStream(stream: number, err: Error): void {
    for (let i = this.#head; i < this.#queue.length; i++) {
      const it = this.#queue[i];
      if (it.stream !== stream || !it.parts) continue;
      it.done?.reject(err);
      it.done = undefined;
      it.parts = undefined;
      it.bytes = new Uint8Array(0); // nothing is written for it
      this.#queuedBytes -= it.size;
      it.size = 0;
    }
  }

  /** Resolves once everything queued so far is written (or the writer failed). */
  idle(): Promise<void> {
    if (!this.#busy || this.#error) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Fails every queued frame with `err`; later frames are dropped. */
  fail(err: Error): void {
    if (this.#error) return;
    this.#error = err;
    for (let i = this.#head; i < this.#queue.length; i++) this.#queue[i].done?.reject(err);
    this.#queue = [];
    this.#head = 0;
    this.#urgent.length = 0;
    for (const w of this.#idle.splice(0)) w();
  }

  #push(item: Item): Promise<void> {
    if (this.#error) return Promise.reject(this.#error);
    const p = new Promise<void>((resolve, reject) => (item.done = { resolve, reject }));
    this.#queue.push(item);
    this.#queuedBytes += item.size;
    this.#kick();
    return p;
  }

  #kick(): void {
    if (this.#busy) return;
    this.#busy = true;
    queueMicrotask(() => this.#flush());
  }

  async #flush(): Promise<void> {
    try {
      while (!this.#error && (this.#urgent.length > 0 || this.#head < this.#queue.length)) {
        const buf = this.#buffer();
        let n = 0;
        while (this.#urgent.length > 0 && n + this.#urgent[0].length <= buf.length) {
          const f = this.#urgent.shift()!;
          buf.set(f, n);
          n += f.length;
        }
        const done: Pending[] = [];
        let streamFrames = false;
        let out = buf;
        while (this.#head < this.#queue.length) {
          const it = this.#queue[this.#head];
          if (n + it.size > out.length) {
            if (n > 0) break;
            out = new Uint8Array(it.size); // one header block larger than the batch buffer
          }
          if (it.parts) {
            putHeader(out, n, it.size - FRAME_HEADER, FrameType.DATA, it.flags!, it.stream);
            let o = n + FRAME_HEADER;
            for (const p of it.parts) {
              out.set(p, o);
              o += p.length;
            }
          } else {
            out.set(it.bytes!, n);
          }
          n += it.size;
          this.#queuedBytes -= it.size;
          if (it.stream !== 0) streamFrames = true;
          if (it.done) done.push(it.done);
          this.#head++;
        }
        if (this.#head === this.#queue.length) {
          this.#queue = [];
          this.#head = 0;
        } else if (this.#head > 1024) {
          this.#queue = this.#queue.slice(this.#head);
          this.#head = 0;
        }
        for (const d of done) d.resolve();
        if (streamFrames) this.onStreamFrames();
        if (n === 0) continue;
        await writeFull(this.#conn, out.subarray(0, n));
        this.bytesOut += n;
      }
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      this.fail(e);
      this.onError(e);
    } finally {
      this.#busy = false;
      // frames queued while the last write was in flight were picked up by the loop; none can be left here
      if (!this.#error && (this.#urgent.length > 0 || this.#head < this.#queue.length)) this.#kick();
      else for (const w of this.#idle.splice(0)) w();
    }
  }

  /** The batch buffer for what is queued: the small one, or the large one while bulk data is queued. */
  #buffer(): Uint8Array {
    let urgent = 0;
    for (const f of this.#urgent) urgent += f.length;
    if (this.#queuedBytes + urgent <= SMALL) {
      this.#large = null; // light traffic again: let the large buffer go
      return this.#small;
    }
    return this.#large ??= new Uint8Array(LARGE);
  }
}
