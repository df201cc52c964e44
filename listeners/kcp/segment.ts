/**
 * KCP's segment (the fields the engine keeps for each one), its header on the wire (docs/wire.md, "KCP") and the queue
 * the engine keeps segments in.
 * @module
 */

/** One segment. */
export class Segment {
  frg = 0;
  wnd = 0;
  ts = 0;
  sn = 0;
  una = 0;
  rto = 0;
  xmit = 0;
  resendts = 0;
  fastack = 0;
  acked = false;
  /** The data: `len` bytes of a buffer of `mss` bytes (the last queued segment grows in place). */
  data: Uint8Array;
  len: number;
  constructor(data: Uint8Array, len: number) {
    this.data = data;
    this.len = len;
  }
}

/** An array used as a queue: removal from the front moves a head index, compacted now and then. */
export class Queue<T> {
  items: T[] = [];
  head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  at(i: number): T {
    return this.items[this.head + i];
  }
  push(v: T): void {
    this.items.push(v);
  }
  last(): T | undefined {
    return this.length ? this.items[this.items.length - 1] : undefined;
  }
  dropFront(n: number): void {
    this.head += n;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
  insert(i: number, v: T): void {
    this.items.splice(this.head + i, 0, v);
  }
  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

/** A little-endian u32 at `i`. */
export function u32(b: Uint8Array, i: number): number {
  return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
}

function put32(b: Uint8Array, i: number, v: number): void {
  b[i] = v, b[i + 1] = v >>> 8, b[i + 2] = v >>> 16, b[i + 3] = v >>> 24;
}

/** Writes a segment header at `off`. */
export function encodeHeader(
  b: Uint8Array,
  off: number,
  conv: number,
  cmd: number,
  frg: number,
  wnd: number,
  ts: number,
  sn: number,
  una: number,
  len: number,
): void {
  put32(b, off, conv);
  b[off + 4] = cmd;
  b[off + 5] = frg;
  b[off + 6] = wnd, b[off + 7] = wnd >>> 8;
  put32(b, off + 8, ts);
  put32(b, off + 12, sn);
  put32(b, off + 16, una);
  put32(b, off + 20, len);
}
