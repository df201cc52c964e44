/**
 * In-memory conn pairs for unit tests: two {@link MemConn}s joined like the ends of one TCP connection, meeting the
 * Conn contract of core/conn.ts (short writes, half-close, close, datagram mode), with knobs to make one end fail.
 * @module
 */
import type { Conn } from "../../core/conn.ts";

/** One direction: what one end wrote and the other has not read yet. */
class Pipe {
  readonly chunks: Uint8Array[] = [];
  /** The writer half-closed (or closed): reads end with EOF once the chunks are drained. */
  ended = false;
  /** The reader closed: writes fail with BrokenPipe. */
  readerGone = false;
  /** Set by {@link MemConn.fail}: the reader's next and pending reads reject with it. */
  error: unknown = undefined;
  #wake: (() => void) | undefined;

  /** Resolves at the next change (a write, an end, an error). */
  changed(): Promise<void> {
    return new Promise((r) => (this.#wake = r));
  }

  notify(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }
}

/** Options of {@link memConnPair}. */
export interface MemConnOptions {
  /** Each write takes at most this many bytes (a short write, see writeFull); default: all. */
  maxWrite?: number;
  /** Datagram conns: one write = one message, one read = one message (cut to the buffer). */
  datagram?: boolean;
}

let nextPort = 40_000;

/** One end of an in-memory connection. */
export class MemConn implements Conn {
  readonly localAddr: Deno.NetAddr;
  readonly remoteAddr: Deno.NetAddr;
  readonly datagram: boolean;
  /** How many times `close()` was called. */
  closeCalls = 0;
  /** True once `closeWrite()` was called. */
  writeClosed = false;
  /** Bytes accepted by `write()`. */
  written = 0;
  readonly #in: Pipe;
  readonly #out: Pipe;
  readonly #maxWrite: number;
  #closed = false;
  #writeError: unknown = undefined;
  #closeWriteError: unknown = undefined;

  /** @internal built by {@link memConnPair} */
  constructor(input: Pipe, output: Pipe, local: Deno.NetAddr, remote: Deno.NetAddr, opts: MemConnOptions) {
    this.#in = input;
    this.#out = output;
    this.localAddr = local;
    this.remoteAddr = remote;
    this.datagram = opts.datagram ?? false;
    this.#maxWrite = opts.maxWrite ?? Infinity;
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  async read(p: Uint8Array): Promise<number | null> {
    for (;;) {
      if (this.#closed) throw new Deno.errors.BadResource("read on a closed conn");
      const pipe = this.#in;
      if (pipe.error !== undefined) throw pipe.error;
      const head = pipe.chunks[0];
      if (head) {
        const n = Math.min(p.length, head.length);
        p.set(head.subarray(0, n));
        if (this.datagram || n === head.length) pipe.chunks.shift();
        else pipe.chunks[0] = head.subarray(n);
        return n;
      }
      if (pipe.ended) return null;
      await pipe.changed();
    }
  }

  write(p: Uint8Array): Promise<number> {
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("write on a closed conn"));
    if (this.#writeError !== undefined) return Promise.reject(this.#writeError);
    if (this.writeClosed) return Promise.reject(new Deno.errors.BrokenPipe("write after closeWrite"));
    if (this.#out.readerGone) return Promise.reject(new Deno.errors.BrokenPipe("the peer closed"));
    const n = this.datagram ? p.length : Math.min(p.length, this.#maxWrite);
    this.#out.chunks.push(p.slice(0, n));
    this.written += n;
    this.#out.notify();
    return Promise.resolve(n);
  }

  closeWrite(): Promise<void> {
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("closeWrite on a closed conn"));
    this.writeClosed = true;
    this.#out.ended = true;
    this.#out.notify();
    return this.#closeWriteError === undefined ? Promise.resolve() : Promise.reject(this.#closeWriteError);
  }

  /** Closes this end: its reads and writes fail from now on, the peer reads EOF and its writes fail. */
  close(): void {
    this.closeCalls++;
    if (this.#closed) throw new Deno.errors.BadResource("conn closed twice");
    this.#closed = true;
    this.#out.ended = true;
    this.#out.notify();
    this.#in.readerGone = true;
    this.#in.notify(); // a pending read of this end rejects
  }

  /** Makes this end's pending and later reads reject with `err` (a reset, a broken transport). */
  fail(err: unknown): void {
    this.#in.error = err;
    this.#in.notify();
  }

  /** Makes this end's later writes reject with `err`. */
  failWrites(err: unknown): void {
    this.#writeError = err;
  }

  /** Makes `closeWrite()` half-close and then reject with `err`. */
  failCloseWrite(err: unknown): void {
    this.#closeWriteError = err;
  }
}

/**
 * Two connected in-memory ends: what one writes the other reads; `closeWrite()` is an EOF at the peer, `close()` too
 * (and the peer's writes then fail, as on a reset TCP conn).
 */
export function memConnPair(opts: MemConnOptions = {}): [MemConn, MemConn] {
  const ab = new Pipe();
  const ba = new Pipe();
  const transport = opts.datagram ? "udp" : "tcp";
  const a: Deno.NetAddr = { transport, hostname: "127.0.0.1", port: nextPort++ };
  const b: Deno.NetAddr = { transport, hostname: "127.0.0.1", port: nextPort++ };
  return [new MemConn(ba, ab, a, b, opts), new MemConn(ab, ba, b, a, opts)];
}
