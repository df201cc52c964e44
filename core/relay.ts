/**
 * The hot path: copies bytes both ways between two conns (DESIGN.md §7). Each direction starts on its own small
 * buffer (2 KiB: an idle connection costs little); a read that fills the buffer moves the next reads up one tier,
 * to a 16 KiB then a 1 MiB buffer borrowed from shared pools, and the first short read hands the borrowed buffer
 * back and returns to the small one. Bulk transfers thus run on 1 MiB reads, chatty ones on 2–16 KiB, and idle
 * ones hold 2 KiB. Writes loop until everything is written. EOF half-closes the other side; both conns are closed
 * once, when both directions end or one fails. Datagram conns use one 64 KiB buffer per direction and never
 * half-close.
 * @module
 */
import { closeQuietly, type Conn } from "./conn.ts";

const SMALL = 2 * 1024;
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
  input: number;
  output: number;
}

async function writeFull(dst: Conn, p: Uint8Array): Promise<void> {
  let off = await dst.write(p);
  while (off < p.length) off += await dst.write(p.subarray(off));
}

async function copyDatagrams(src: Conn, dst: Conn): Promise<number> {
  let total = 0;
  const buf = new Uint8Array(DATAGRAM);
  for (;;) {
    const n = await src.read(buf);
    if (n === null) return total;
    await dst.write(buf.subarray(0, n));
    total += n;
  }
}

/**
 * Copies `src` to `dst` until EOF, then half-closes `dst`. Rejects on any read/write error.
 * @returns the number of bytes copied
 */
export async function copy(src: Conn, dst: Conn): Promise<number> {
  if (src.datagram || dst.datagram) return await copyDatagrams(src, dst);
  let total = 0;
  const small = new Uint8Array(SMALL);
  let buf: Uint8Array<ArrayBuffer> = small;
  let tier = -1;
  try {
    for (;;) {
      const n = await src.read(buf);
      if (n === null) break;
      await writeFull(dst, n === buf.length ? buf : buf.subarray(0, n));
      total += n;
      if (n === buf.length) {
        if (tier < TIERS.length - 1) {
          if (tier >= 0) TIERS[tier].put(buf);
          buf = TIERS[++tier].get();
        }
      } else if (tier >= 0) {
        TIERS[tier].put(buf);
        tier = -1;
        buf = small;
      }
    }
  } finally {
    if (tier >= 0) TIERS[tier].put(buf);
  }
  await dst.closeWrite().catch(() => {});
  return total;
}

/**
 * Relays between two conns until both directions finish or one fails, then closes both (once).
 * Never rejects: connection errors end the relay.
 * @param a usually the client conn
 * @param b usually the target conn
 * @returns bytes moved each way
 * @example const { input, output } = await relay(clientConn, targetConn);
 */
export async function relay(a: Conn, b: Conn): Promise<RelayResult> {
  const result: RelayResult = { input: 0, output: 0 };
  let closed = false;
  const closeBoth = () => {
    if (closed) return;
    closed = true;
    closeQuietly(a);
    closeQuietly(b);
  };
  const datagram = a.datagram || b.datagram;
  const up = copy(a, b).then((n) => {
    result.input = n;
    if (datagram) closeBoth();
  }, closeBoth);
  const down = copy(b, a).then((n) => {
    result.output = n;
    if (datagram) closeBoth();
  }, closeBoth);
  await Promise.all([up, down]);
  closeBoth();
  return result;
}
