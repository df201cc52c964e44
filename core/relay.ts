/**
 * The hot path: copies bytes both ways between two conns (docs/architecture.md, "The relay loop"). Each direction
 * starts on its own small buffer (1 KiB, as microsocks copies: an idle connection costs little); a read that fills the
 * buffer moves the next reads up one tier, to a 16 KiB then a 1 MiB buffer borrowed from shared pools, and the first
 * short read hands the borrowed buffer back and returns to the small one. Bulk transfers thus run on 1 MiB reads,
 * chatty ones on 1–16 KiB, and idle ones hold 1 KiB. Writes loop until everything is written. EOF half-closes the other
 * side; both conns are closed once, when both directions end or one fails. A stream direction is a callback-driven
 * `Pump`, not an async loop, so an idle relay holds two small objects and two pending reads (idle memory,
 * docs/benchmarks.md, "V8 heap flag"). Datagram conns never half-close; a direction reads whole datagrams through the
 * source's `readDatagram` (no buffer of its own), or into one 64 KiB buffer when the source has none.
 * @module
 */
import { closeQuietly, type Conn } from "./conn.ts";

const SMALL = 1024;
const DATAGRAM = 65_536;

/** A bounded pool of equal buffers. */
class BufferPool {
  readonly size: number;
  readonly #max: number;
  readonly #free: Uint8Array<ArrayBuffer>[] = [];
  constructor(size: number, max: number) {
    this.size = size;
    this.#max = max;
  }
  get(): Uint8Array<ArrayBuffer> {
    return this.#free.pop() ?? new Uint8Array(this.size);
  }
  put(b: Uint8Array<ArrayBuffer>): void {
    if (this.#free.length < this.#max) this.#free.push(b);
  }
}

/** The borrowed tiers, smallest first. */
const TIERS = [new BufferPool(16 * 1024, 256), new BufferPool(1024 * 1024, 16)];

/** Bytes moved by {@link relay}: `input` from `a` to `b`, `output` from `b` to `a`. */
export interface RelayResult {
  /** Bytes copied from `a` to `b`. */
  input: number;
  /** Bytes copied from `b` to `a`. */
  output: number;
}

async function copyDatagrams(src: Conn, dst: Conn, moved: { n: number } = { n: 0 }): Promise<number> {
  if (src.readDatagram) {
    for (;;) {
      const d = await src.readDatagram();
      if (d === null) return moved.n;
      await dst.write(d);
      moved.n += d.length;
    }
  }
  const buf = new Uint8Array(DATAGRAM);
  for (;;) {
    const n = await src.read(buf);
    if (n === null) return moved.n;
    await dst.write(buf.subarray(0, n));
    moved.n += n;
  }
}

/**
 * One direction of a byte-stream relay: reads `src` into the tiered buffers and writes everything to `dst` until
 * EOF, then half-closes `dst` and calls `end(true)`; a failed read or write calls `end(false, err)`. Written with callbacks
 * rather than as an async loop: an idle direction holds this object and one pending read, where a suspended async
 * function would also hold its generator, register file and two fresh await closures per read (about 0.5 KiB).
 */
class Pump {
  /** Bytes written to `dst`. */
  total = 0;
  readonly #src: Conn;
  readonly #dst: Conn;
  readonly #end: (ok: boolean, err?: unknown) => void;
  readonly #small = new Uint8Array(SMALL);
  #buf: Uint8Array<ArrayBuffer> = this.#small;
  #tier = -1;
  /** The chunk being written: `#buf[#off, #n)`. */
  #n = 0;
  #off = 0;
  #done = false;

  constructor(src: Conn, dst: Conn, end: (ok: boolean, err?: unknown) => void) {
    this.#src = src;
    this.#dst = dst;
    this.#end = end;
  }

  /** Starts the first read. */
  start(): void {
    this.#read();
  }

  #read(): void {
    try {
      this.#src.read(this.#buf).then(this.#onRead, this.#onError);
    } catch (err) {
      this.#onError(err);
    }
  }

  #write(p: Uint8Array): void {
    try {
      this.#dst.write(p).then(this.#onWritten, this.#onError);
    } catch (err) {
      this.#onError(err);
    }
  }

  readonly #onRead = (n: number | null): void => {
    if (n === null) {
      this.#finish();
      const eof = () => this.#end(true);
      try {
        this.#dst.closeWrite().then(eof, eof);
      } catch {
        eof();
      }
      return;
    }
    this.#n = n;
    this.#off = 0;
    const buf = this.#buf;
    this.#write(n === buf.length ? buf : buf.subarray(0, n));
  };

  readonly #onWritten = (k: number): void => {
    const n = this.#n;
    this.#off += k;
    if (this.#off < n) return this.#write(this.#buf.subarray(this.#off, n));
    this.total += n;
    const buf = this.#buf;
    if (n === buf.length) {
      if (this.#tier < TIERS.length - 1) {
        if (this.#tier >= 0) TIERS[this.#tier].put(buf);
        this.#buf = TIERS[++this.#tier].get();
      }
    } else if (this.#tier >= 0) {
      TIERS[this.#tier].put(buf);
      this.#tier = -1;
      this.#buf = this.#small;
    }
    this.#read();
  };

  readonly #onError = (err: unknown): void => {
    if (this.#done) return;
    this.#finish();
    this.#end(false, err);
  };

  /** Hands a borrowed buffer back: no read or write is pending on it any more. */
  #finish(): void {
    this.#done = true;
    if (this.#tier >= 0) TIERS[this.#tier].put(this.#buf);
    this.#tier = -1;
    this.#buf = this.#small;
  }
}

/**
 * Copies `src` to `dst` until EOF, then half-closes `dst`. Rejects on any read/write error.
 * @returns the number of bytes copied
 */
export function copy(src: Conn, dst: Conn): Promise<number> {
  if (src.datagram || dst.datagram) return copyDatagrams(src, dst);
  return new Promise((resolve, reject) => {
    const p = new Pump(src, dst, (ok, err) => ok ? resolve(p.total) : reject(err));
    p.start();
  });
}

/**
 * Relays between two conns until both directions finish or one fails, then closes both (once).
 * Never rejects: connection errors end the relay.
 * @param a usually the client conn
 * @param b usually the target conn
 * @returns bytes moved each way (written to the other side, also when a direction failed)
 * @example const { input, output } = await relay(clientConn, targetConn);
 */
export function relay(a: Conn, b: Conn): Promise<RelayResult> {
  if (a.datagram || b.datagram) return relayDatagrams(a, b);
  return new Promise((resolve) => {
    let open = 2;
    let closed = false;
    const end = (ok: boolean) => {
      open--;
      if (!closed && (!ok || open === 0)) {
        closed = true;
        closeQuietly(a);
        closeQuietly(b);
      }
      if (open === 0) resolve({ input: up.total, output: down.total });
    };
    const up = new Pump(a, b, end);
    const down = new Pump(b, a, end);
    up.start();
    down.start();
  });
}

/** {@link relay} for datagram conns: no half-close, so the first direction to end closes both. */
async function relayDatagrams(a: Conn, b: Conn): Promise<RelayResult> {
  const up = { n: 0 };
  const down = { n: 0 };
  let closed = false;
  const closeBoth = () => {
    if (closed) return;
    closed = true;
    closeQuietly(a);
    closeQuietly(b);
  };
  await Promise.all([
    // the counters, not the return values: the direction that did not end first fails once both are closed
    copyDatagrams(a, b, up).finally(closeBoth).catch(() => {}),
    copyDatagrams(b, a, down).finally(closeBoth).catch(() => {}),
  ]);
  return { input: up.n, output: down.n };
}
