/**
 * UDP over a relay stream: a buffered frame reader and the datagram conn that speaks `[len u16][datagram]` frames
 * (docs/wire.md, "Relay UDP"). Both sides of CONNECT with the UDP flag use it; the BIND association reads UDP-tun
 * frames through the same {@link FrameReader}.
 * @module
 */
import { type Conn, writeFull } from "../../core/conn.ts";
import { UnexpectedEofError } from "../../core/errors.ts";
import { MAX_DATAGRAM } from "./wire.ts";

/** Room for the largest frame: a UDP-tun header with a 255-byte domain plus 65535 bytes of data. */
const FRAME_BUFFER = 3 + 1 + 1 + 255 + 2 + MAX_DATAGRAM;

/** A peer closed the stream in the middle of a frame. */
export class TruncatedFrameError extends UnexpectedEofError {
  constructor() {
    super("Relay stream ended in the middle of a UDP frame");
  }
}

/**
 * Reads frames from a byte stream through one reused buffer, so a burst of small datagrams costs one read.
 * `view` is valid until the next `fill`.
 */
export class FrameReader {
  readonly #conn: Conn;
  readonly #buf = new Uint8Array(FRAME_BUFFER);
  #start = 0;
  #end = 0;

  constructor(conn: Conn) {
    this.#conn = conn;
  }

  /** The buffered unread bytes. */
  get view(): Uint8Array {
    return this.#buf.subarray(this.#start, this.#end);
  }

  /**
   * Waits until at least `n` bytes are buffered.
   * @returns false on EOF with nothing buffered (a clean end between frames)
   * @throws {TruncatedFrameError} on EOF with a partial frame buffered
   */
  async fill(n: number): Promise<boolean> {
    if (n > this.#buf.length) throw new RangeError(`Frame of ${n} bytes exceeds ${this.#buf.length}`);
    while (this.#end - this.#start < n) {
      if (this.#buf.length - this.#start < n) {
        this.#buf.copyWithin(0, this.#start, this.#end);
        this.#end -= this.#start;
        this.#start = 0;
      }
      const got = await this.#conn.read(this.#buf.subarray(this.#end));
      if (got === null) {
        if (this.#end === this.#start) return false;
        throw new TruncatedFrameError();
      }
      this.#end += got;
    }
    return true;
  }

  /** Drops `n` buffered bytes. */
  consume(n: number): void {
    this.#start += n;
    if (this.#start === this.#end) this.#start = this.#end = 0;
  }
}

/**
 * A datagram conn over a relay stream: each read returns one `[len u16]` frame's datagram (truncated to the
 * caller's buffer, as GOST does), each write sends one frame. Writes must not overlap (the relay awaits each one).
 */
export class DatagramFrameConn implements Conn {
  readonly datagram = true;
  readonly #inner: Conn;
  readonly #reader: FrameReader;
  readonly #wbuf = new Uint8Array(2 + MAX_DATAGRAM);
  readonly #remote: Deno.Addr;

  /** @param remote the address to report as `remoteAddr` (the UDP target); defaults to the inner conn's */
  constructor(inner: Conn, remote?: Deno.Addr) {
    this.#inner = inner;
    this.#reader = new FrameReader(inner);
    this.#remote = remote ?? inner.remoteAddr;
  }
  get localAddr(): Deno.Addr {
    return this.#inner.localAddr;
  }
  get remoteAddr(): Deno.Addr {
    return this.#remote;
  }

  async read(p: Uint8Array): Promise<number | null> {
    const d = await this.readDatagram();
    if (!d) return null;
    const n = Math.min(d.length, p.length);
    p.set(d.subarray(0, n));
    return n;
  }

  /** The next frame's datagram, a view of the reader's buffer valid until the next call. */
  async readDatagram(): Promise<Uint8Array | null> {
    const r = this.#reader;
    if (!(await r.fill(2))) return null;
    const len = (r.view[0] << 8) | r.view[1];
    await r.fill(2 + len);
    const d = r.view.subarray(2, 2 + len);
    r.consume(2 + len);
    return d;
  }

  /** Sends `p` as one frame. @throws {RangeError} when `p` is longer than 65535 bytes */
  async write(p: Uint8Array): Promise<number> {
    if (p.length > MAX_DATAGRAM) throw new RangeError(`Datagram longer than 65535 bytes: ${p.length}`);
    const b = this.#wbuf;
    b[0] = p.length >> 8;
    b[1] = p.length & 0xff;
    b.set(p, 2);
    await writeFull(this.#inner, b.subarray(0, 2 + p.length));
    return p.length;
  }

  /** Datagram conns do not half-close. */
  closeWrite(): Promise<void> {
    return Promise.resolve();
  }

  close(): void {
    this.#inner.close();
  }
}
