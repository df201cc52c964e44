/**
 * The byte queue and the wake-up list both sides of a PHT session use (listeners/pht/session.ts and
 * listeners/pht/client_conn.ts).
 * @module
 */

const EMPTY = new Uint8Array(0);

/** A FIFO of byte chunks with a byte count. */
export class Chunks {
  readonly #q: Uint8Array[] = [];
  #head = 0;
  size = 0;
  push(b: Uint8Array): void {
    this.#q.push(b);
    this.size += b.length;
  }
  /** Copies up to `p.length` bytes out. */
  readInto(p: Uint8Array): number {
    let n = 0;
    while (n < p.length && this.#head < this.#q.length) {
      const c = this.#q[this.#head];
      const k = Math.min(c.length, p.length - n);
      p.set(c.subarray(0, k), n);
      n += k;
      if (k === c.length) this.#q[this.#head++] = EMPTY;
      else this.#q[this.#head] = c.subarray(k);
    }
    this.#compact();
    this.size -= n;
    return n;
  }
  /** Takes up to `max` bytes as one buffer. */
  take(max: number): Uint8Array {
    const first = this.#q[this.#head];
    if (first && first.length === this.size && first.length <= max) {
      this.#q[this.#head++] = EMPTY; // the only chunk: handed out whole, not copied
      this.#compact();
      this.size = 0;
      return first;
    }
    if (first && first.length >= max) {
      const out = first.subarray(0, max);
      if (first.length === max) this.#q[this.#head++] = EMPTY;
      else this.#q[this.#head] = first.subarray(max);
      this.#compact();
      this.size -= out.length;
      return out;
    }
    const out = new Uint8Array(Math.min(max, this.size));
    this.readInto(out);
    return out;
  }
  /** Drops every byte. */
  clear(): void {
    this.#q.length = 0;
    this.#head = 0;
    this.size = 0;
  }
  #compact(): void {
    if (this.#head === this.#q.length) {
      this.#q.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024) {
      this.#q.splice(0, this.#head);
      this.#head = 0;
    }
  }
}

/** A one-shot wake-up list. */
export class Waiters {
  #list: (() => void)[] = [];
  wait(): Promise<void> {
    return new Promise((r) => this.#list.push(r));
  }
  wake(): void {
    const l = this.#list;
    if (!l.length) return;
    this.#list = [];
    for (const w of l) w();
  }
}
