/**
 * A small buffered reader for protocol handshakes, with a hard cap on how much it buffers. After the handshake
 * `conn()` hands on the underlying conn with any bytes read ahead put back in front.
 * @module
 */
import { type Conn, PrefixConn } from "./conn.ts";
import { HandshakeError, UnexpectedEofError } from "./errors.ts";

/** The buffer of a detached reader: a later read grows it into a new one. */
const EMPTY = new Uint8Array(0);

/** Thrown when the peer closes the connection in the middle of a handshake (defined with the other errors). */
export { UnexpectedEofError };

/**
 * Buffered handshake reader.
 * @example
 * const r = new HandshakeReader(conn);
 * const [ver, n] = await r.readFull(2);
 */
export class HandshakeReader {
  readonly #conn: Conn;
  #buf: Uint8Array;
  #start = 0;
  #end = 0;

  #reading = false;
  /** A read started by {@link readAhead}: the next fill takes its result. */
  #ahead: Promise<boolean> | undefined;

  /**
   * @param conn the client conn
   * @param initial initial buffer size, or the buffer itself (reused, see {@link detach}); it grows up to the caps
   * callers pass
   */
  constructor(conn: Conn, initial: number | Uint8Array = 1024) {
    this.#conn = conn;
    this.#buf = typeof initial === "number" ? new Uint8Array(initial) : initial;
  }

  /**
   * Gives up the buffer for reuse once the reader is done, unless a read into it is still in flight (then null:
   * the read may still write into it). Buffered bytes are dropped; a later read starts with a new buffer.
   */
  detach(): Uint8Array | null {
    if (this.#reading) return null;
    const b = this.#buf;
    this.#buf = EMPTY;
    this.#start = this.#end = 0;
    return b;
  }

  /** Number of buffered unread bytes. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /**
   * Starts a read while the conn waits idle (a kept upstream conn): it settles as soon as the peer sends or closes
   * (true: bytes came, false: EOF, or rejects). The next read takes its result over instead of reading again.
   */
  readAhead(): Promise<boolean> {
    return this.#ahead ??= this.#read(this.#buf.length);
  }

  /** Reads more bytes into the buffer (or takes a {@link readAhead}'s); false at EOF. */
  #fill(max: number): Promise<boolean> {
    const ahead = this.#ahead;
    if (ahead) {
      this.#ahead = undefined;
      return ahead;
    }
    return this.#read(max);
  }

  async #read(max: number): Promise<boolean> {
    if (this.#start > 0 && this.#start === this.#end) this.#start = this.#end = 0;
    if (this.#end === this.#buf.length) {
      const used = this.#end - this.#start;
      if (this.#start > 0) {
        this.#buf.copyWithin(0, this.#start, this.#end);
      } else {
        const grown = new Uint8Array(Math.min(Math.max(this.#buf.length * 2, 1024), Math.max(max, used + 1)));
        grown.set(this.#buf.subarray(this.#start, this.#end));
        this.#buf = grown;
      }
      this.#start = 0;
      this.#end = used;
    }
    this.#reading = true;
    let n: number | null;
    try {
      n = await this.#conn.read(this.#buf.subarray(this.#end));
    } finally {
      this.#reading = false;
    }
    if (n === null || n === 0) return false;
    this.#end += n;
    return true;
  }

  /** Waits until at least `n` bytes are buffered. @throws {UnexpectedEofError} */
  async #ensure(n: number): Promise<void> {
    while (this.buffered < n) {
      if (!(await this.#fill(Math.max(n, this.#buf.length)))) throw new UnexpectedEofError();
    }
  }

  /** Returns the next byte without consuming it; null at EOF. */
  async peekByte(): Promise<number | null> {
    if (this.buffered === 0 && !(await this.#fill(this.#buf.length))) return null;
    return this.#buf[this.#start];
  }

  /** Reads one byte. @throws {UnexpectedEofError} */
  async readByte(): Promise<number> {
    await this.#ensure(1);
    return this.#buf[this.#start++];
  }

  /** Reads exactly `n` bytes (a copy). @throws {UnexpectedEofError} */
  async readFull(n: number): Promise<Uint8Array> {
    await this.#ensure(n);
    const out = this.#buf.slice(this.#start, this.#start + n);
    this.#start += n;
    return out;
  }

  /** Reads a u16 in network order. */
  async readUint16(): Promise<number> {
    const b = await this.readFull(2);
    return (b[0] << 8) | b[1];
  }

  /**
   * Reads up to and including `delim`, returning the bytes before it.
   * @param max the most bytes accepted before the delimiter
   * @throws {HandshakeError} `tooLong` when more than `max` bytes come without the delimiter
   */
  async readUntil(delim: number, max: number): Promise<Uint8Array> {
    let scanned = 0;
    for (;;) {
      const i = this.#buf.subarray(this.#start + scanned, this.#end).indexOf(delim);
      if (i >= 0) {
        const end = this.#start + scanned + i;
        if (end - this.#start > max) throw new FieldTooLongError(max);
        const out = this.#buf.slice(this.#start, end);
        this.#start = end + 1;
        return out;
      }
      scanned = this.buffered;
      if (scanned > max) throw new FieldTooLongError(max);
      if (!(await this.#fill(max + 1))) throw new UnexpectedEofError();
    }
  }

  /** The buffered unread bytes as a view (no copy), valid until the next read. */
  peekBuffered(): Uint8Array {
    return this.#buf.subarray(this.#start, this.#end);
  }

  /** Consumes `n` of the buffered bytes. */
  discard(n: number): void {
    if (n < 0 || n > this.buffered) throw new RangeError(`discard ${n} of ${this.buffered} buffered bytes`);
    this.#start += n;
  }

  /** Takes the buffered unread bytes. */
  takeBuffered(): Uint8Array {
    const out = this.#buf.slice(this.#start, this.#end);
    this.#start = this.#end = 0;
    return out;
  }

  /**
   * The underlying conn with the unread bytes put back in front.
   * @throws {Error} while a {@link readAhead} is pending (read through the reader first)
   */
  conn(): Conn {
    if (this.#ahead) throw new Error("a read ahead is pending: read through the reader first");
    return this.buffered ? new PrefixConn(this.#conn, this.takeBuffered()) : this.#conn;
  }
}

/** A handshake field or line exceeded its size cap. */
export class FieldTooLongError extends HandshakeError {
  readonly max: number;
  constructor(max: number) {
    super(`Handshake field longer than ${max} bytes`);
    this.max = max;
  }
}
