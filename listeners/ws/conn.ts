/**
 * A WebSocket conn (RFC 6455 framing) over any {@link Conn}: the byte stream of GOST's ws transports
 * (docs/wire.md, "WebSocket"). Every `write` is one binary frame (FIN set; masked when we are the client); reads take
 * the payloads of binary, text and continuation frames in order, as GOST reads its messages. Ping is answered with a
 * pong, a close frame with a close frame (then EOF), and a bad frame (reserved bits, a wrong mask bit, an unknown
 * opcode, a bad control frame, a length over {@link MAX_FRAME_BYTES}) with a close frame and an error. Payloads are
 * read straight into the caller's buffer when nothing is read ahead; a write costs one copy (header + payload in one
 * buffer, masked on the client side; a large write's buffer comes from a shared pool).
 * @module
 */
import { closeQuietly, type Conn, writeFull } from "../../core/conn.ts";
import { HandshakeError, UnexpectedEofError } from "../../core/errors.ts";

/** Frame opcodes (RFC 6455 §5.2). */
export const OP_CONTINUATION = 0x0, OP_TEXT = 0x1, OP_BINARY = 0x2, OP_CLOSE = 0x8, OP_PING = 0x9, OP_PONG = 0xa;

/** The largest data frame accepted: a longer one is refused with close code 1009 (docs/wire.md, "WebSocket"). */
export const MAX_FRAME_BYTES = 1 << 30;

/** Close status codes sent (RFC 6455 §7.4.1). */
export const CLOSE_NORMAL = 1000, CLOSE_PROTOCOL_ERROR = 1002, CLOSE_TOO_BIG = 1009;

/** A frame the peer sent breaks RFC 6455; the conn has sent a close frame. */
export class WsProtocolError extends HandshakeError {}

/**
 * XORs `b[from, from+n)` with the 4-byte `key` starting at key position `phase`; 32 bits at a time where aligned.
 * @returns the key position after the last byte
 */
export function applyMask(b: Uint8Array, from: number, n: number, key: Uint8Array, phase: number): number {
  let i = from;
  const end = from + n;
  while (i < end && ((b.byteOffset + i) & 3) !== 0) b[i++] ^= key[phase++ & 3];
  const words = (end - i) >> 2;
  if (words > 0) {
    const p = phase & 3;
    const k = (key[p] | (key[(p + 1) & 3] << 8) | (key[(p + 2) & 3] << 16) | (key[(p + 3) & 3] << 24)) >>> 0;
    const w = new Uint32Array(b.buffer, b.byteOffset + i, words);
    for (let j = 0; j < words; j++) w[j] ^= k;
    i += words << 2;
  }
  while (i < end) b[i++] ^= key[phase++ & 3];
  return phase & 3;
}

/** Bytes before a frame's payload in the buffers {@link encodeFrameInto} fills (the longest header, aligned). */
const FRAME_HEAD = 16;
/** Data frames carry at most this much of a write: a longer write is several frames, each built in a pooled buffer. */
const WRITE_FRAME_BYTES = 256 * 1024;
/** Writes up to this size build their frame in a fresh buffer; larger ones borrow from {@link framePool}. */
const SMALL_WRITE = 16 * 1024;
/** Frame buffers not in use, shared by every conn (a conn borrows one while a large write goes out). */
const framePool: Uint8Array<ArrayBuffer>[] = [];
const FRAME_POOL_MAX = 16;

/**
 * One frame: header and payload in one buffer, masked with a fresh key when `masked` (client to server).
 * The payload starts at a 4-byte aligned offset so masking runs 32 bits at a time.
 */
export function encodeFrame(opcode: number, payload: Uint8Array, masked: boolean): Uint8Array {
  return encodeFrameInto(new Uint8Array(FRAME_HEAD + payload.length), opcode, payload, masked);
}

/**
 * {@link encodeFrame} into `buf` (at least 16 + payload bytes long).
 * @returns the frame: a view of `buf`
 */
export function encodeFrameInto(buf: Uint8Array, opcode: number, payload: Uint8Array, masked: boolean): Uint8Array {
  const n = payload.length;
  const hlen = (n < 126 ? 2 : n < 65536 ? 4 : 10) + (masked ? 4 : 0);
  const at = FRAME_HEAD - hlen;
  buf[at] = 0x80 | opcode;
  let o = at + 2;
  if (n < 126) buf[at + 1] = n;
  else if (n < 65536) {
    buf[at + 1] = 126;
    buf[o++] = n >>> 8;
    buf[o++] = n & 0xff;
  } else {
    buf[at + 1] = 127;
    new DataView(buf.buffer, buf.byteOffset).setBigUint64(o, BigInt(n));
    o += 8;
  }
  buf.set(payload, FRAME_HEAD);
  if (masked) {
    buf[at + 1] |= 0x80;
    crypto.getRandomValues(buf.subarray(o, o + 4));
    applyMask(buf, FRAME_HEAD, n, buf.subarray(o, o + 4), 0);
  }
  return buf.subarray(at, FRAME_HEAD + n);
}

/** A close frame's payload: the status code and a reason (cut to fit 125 bytes). */
function closePayload(code: number, reason = ""): Uint8Array {
  const r = new TextEncoder().encode(reason).subarray(0, 123);
  const p = new Uint8Array(2 + r.length);
  p[0] = code >>> 8;
  p[1] = code & 0xff;
  p.set(r, 2);
  return p;
}

/** The stream carried in WebSocket binary frames over `inner`. */
export class WsConn implements Conn {
  /** The conn under the WebSocket (TCP, TLS, or a stream through a chain). */
  readonly inner: Conn;
  readonly #client: boolean;
  #buf: Uint8Array;
  #start = 0;
  #end = 0;
  /** Payload bytes left in the current data frame, its masking key and key position. */
  #remaining = 0;
  #key: Uint8Array | null = null;
  #phase = 0;
  /** A data message (its first frame without FIN) is in progress: the next data frame must be a continuation. */
  #inMessage = false;
  #eof = false;
  #closeSent = false;
  #writing: Promise<unknown> = Promise.resolve();
  /** Called on every pong (the dialer's keep-alive). */
  onPong: (() => void) | null = null;

  /**
   * @param inner the conn after the upgrade
   * @param client true on the dialer side: writes are masked, reads must not be
   * @param readAhead bytes already read past the handshake head
   * @param bufferSize the read-ahead buffer (frame headers, control frames, small payloads)
   */
  constructor(inner: Conn, client: boolean, readAhead?: Uint8Array, bufferSize = 4096) {
    this.inner = inner;
    this.#client = client;
    const size = Math.max(bufferSize, 256, readAhead?.length ?? 0);
    this.#buf = new Uint8Array(size);
    if (readAhead?.length) {
      this.#buf.set(readAhead);
      this.#end = readAhead.length;
    }
  }

  get localAddr(): Deno.Addr {
    return this.inner.localAddr;
  }

  get remoteAddr(): Deno.Addr {
    return this.inner.remoteAddr;
  }

  /** Reads payload bytes; null once the peer closed (a close frame, or the end of the conn between frames). */
  async read(p: Uint8Array): Promise<number | null> {
    if (p.length === 0) return 0;
    for (;;) {
      if (this.#remaining > 0) {
        const want = Math.min(p.length, this.#remaining);
        let n: number;
        const buffered = this.#end - this.#start;
        if (buffered > 0) {
          n = Math.min(want, buffered);
          p.set(this.#buf.subarray(this.#start, this.#start + n));
          this.#start += n;
        } else {
          const r = await this.inner.read(p.subarray(0, want));
          if (r === null) throw new UnexpectedEofError("WebSocket conn ended inside a frame");
          n = r;
        }
        if (this.#key) this.#phase = applyMask(p, 0, n, this.#key, this.#phase);
        this.#remaining -= n;
        return n;
      }
      if (this.#eof || !(await this.#nextFrame())) return null;
    }
  }

  /** Buffers at least `n` bytes; false when the conn ends before any byte of them (`atBoundary`), else throws. */
  async #ensure(n: number, atBoundary: boolean): Promise<boolean> {
    while (this.#end - this.#start < n) {
      if (this.#start > 0) {
        this.#buf.copyWithin(0, this.#start, this.#end);
        this.#end -= this.#start;
        this.#start = 0;
      }
      const r = await this.inner.read(this.#buf.subarray(this.#end));
      if (r === null) {
        if (atBoundary && this.#end === this.#start) return false;
        throw new UnexpectedEofError("WebSocket conn ended inside a frame header");
      }
      this.#end += r;
    }
    return true;
  }

  /** Reads frame headers, handling control frames, until a data frame starts; false at the end of the stream. */
  async #nextFrame(): Promise<boolean> {
    for (;;) {
      if (!(await this.#ensure(2, true))) {
        this.#eof = true;
        return false;
      }
      const b0 = this.#buf[this.#start], b1 = this.#buf[this.#start + 1];
      const opcode = b0 & 0x0f, fin = (b0 & 0x80) !== 0, masked = (b1 & 0x80) !== 0;
      const len7 = b1 & 0x7f;
      const hlen = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (masked ? 4 : 0);
      await this.#ensure(hlen, false);
      const s = this.#start;
      let len = len7;
      if (len7 === 126) len = (this.#buf[s + 2] << 8) | this.#buf[s + 3];
      else if (len7 === 127) {
        const big = new DataView(this.#buf.buffer, this.#buf.byteOffset + s + 2, 8).getBigUint64(0);
        if (big > BigInt(MAX_FRAME_BYTES)) {
          return await this.#fail(CLOSE_TOO_BIG, `frame of ${big} bytes (the most accepted: ${MAX_FRAME_BYTES})`);
        }
        len = Number(big);
      }
      if (b0 & 0x70) return await this.#fail(CLOSE_PROTOCOL_ERROR, "reserved bits set (no extension negotiated)");
      if (masked === this.#client) {
        return await this.#fail(
          CLOSE_PROTOCOL_ERROR,
          masked ? "masked frame from the server" : "unmasked client frame",
        );
      }
      const key = masked ? this.#buf.slice(s + hlen - 4, s + hlen) : null;
      if (opcode >= 0x8) {
        if (opcode > OP_PONG) return await this.#fail(CLOSE_PROTOCOL_ERROR, `unknown opcode ${opcode}`);
        if (!fin || len > 125) return await this.#fail(CLOSE_PROTOCOL_ERROR, "fragmented or long control frame");
        await this.#ensure(hlen + len, false);
        const payload = this.#buf.slice(s + hlen, s + hlen + len);
        this.#start += hlen + len;
        if (key) applyMask(payload, 0, len, key, 0);
        if (opcode === OP_PING) await this.#sendControl(OP_PONG, payload);
        else if (opcode === OP_PONG) this.onPong?.();
        else {
          // echo the status as RFC 6455 §5.5.1 asks (no status: an empty close frame), then end the stream
          await this.#sendClose(len >= 2 ? payload.subarray(0, 2) : new Uint8Array(0)).catch(() => {});
          this.#eof = true;
          return false;
        }
        continue;
      }
      if (opcode !== OP_CONTINUATION && opcode !== OP_TEXT && opcode !== OP_BINARY) {
        return await this.#fail(CLOSE_PROTOCOL_ERROR, `unknown opcode ${opcode}`);
      }
      if ((opcode === OP_CONTINUATION) !== this.#inMessage) {
        return await this.#fail(
          CLOSE_PROTOCOL_ERROR,
          opcode ? "new message inside a fragmented one" : "stray continuation",
        );
      }
      this.#inMessage = !fin;
      this.#start += hlen;
      this.#remaining = len;
      this.#key = key;
      this.#phase = 0;
      if (len > 0) return true;
    }
  }

  /** Sends a close frame with `code`, closes the conn and throws. */
  async #fail(code: number, why: string): Promise<never> {
    await this.#sendClose(closePayload(code, why)).catch(() => {});
    this.#eof = true;
    closeQuietly(this.inner);
    throw new WsProtocolError(`WebSocket: ${why}`);
  }

  #sendClose(payload: Uint8Array): Promise<void> {
    if (this.#closeSent) return Promise.resolve();
    this.#closeSent = true;
    return this.#sendControl(OP_CLOSE, payload);
  }

  #sendControl(opcode: number, payload: Uint8Array): Promise<void> {
    return this.#send(encodeFrame(opcode, payload, this.#client));
  }

  /** Writes one whole frame after the frames already queued (writes never interleave). */
  #send(frame: Uint8Array): Promise<void> {
    const done = this.#writing.then(() => writeFull(this.inner, frame));
    this.#writing = done.catch(() => {});
    return done;
  }

  /** Sends a ping (the dialer's keep-alive). */
  ping(): Promise<void> {
    return this.#sendControl(OP_PING, new Uint8Array(0));
  }

  /** Bytes {@link writeInPlace} needs before the data: the longest header (10) and a masking key (4). */
  readonly writeHeadroom = 14;

  /**
   * Writes `buf[start, end)` as one binary frame built in place: the header goes in the `writeHeadroom` bytes before
   * `start`, and a client masks the data where it is (`buf` is the caller's scratch, e.g. a mux session's batch).
   */
  async writeInPlace(buf: Uint8Array, start: number, end: number): Promise<void> {
    if (this.#closeSent) throw new Deno.errors.BrokenPipe("WebSocket closed");
    const n = end - start;
    if (n <= 0) return;
    const masked = this.#client;
    const hlen = (n < 126 ? 2 : n < 65536 ? 4 : 10) + (masked ? 4 : 0);
    const at = start - hlen;
    if (at < 0) throw new RangeError(`writeInPlace needs ${hlen} bytes before the data, got ${start}`);
    buf[at] = 0x80 | OP_BINARY;
    let o = at + 2;
    if (n < 126) buf[at + 1] = n;
    else if (n < 65536) {
      buf[at + 1] = 126;
      buf[o++] = n >>> 8;
      buf[o++] = n & 0xff;
    } else {
      buf[at + 1] = 127;
      new DataView(buf.buffer, buf.byteOffset).setBigUint64(o, BigInt(n));
      o += 8;
    }
    if (masked) {
      buf[at + 1] |= 0x80;
      const key = buf.subarray(o, o + 4);
      crypto.getRandomValues(key);
      applyMask(buf, start, n, key, 0);
    }
    await this.#send(buf.subarray(at, end));
  }

  /**
   * Writes `p` as one binary frame, or as frames of 256 KiB when longer. A large write builds its frames in a buffer
   * borrowed from a shared pool, so bulk traffic allocates nothing per write.
   */
  async write(p: Uint8Array): Promise<number> {
    if (p.length === 0) return 0;
    if (this.#closeSent) throw new Deno.errors.BrokenPipe("WebSocket closed");
    if (p.length <= SMALL_WRITE) {
      await this.#send(encodeFrame(OP_BINARY, p, this.#client));
      return p.length;
    }
    const buf = framePool.pop() ?? new Uint8Array(FRAME_HEAD + WRITE_FRAME_BYTES);
    try {
      for (let off = 0; off < p.length; off += WRITE_FRAME_BYTES) {
        const part = p.subarray(off, off + WRITE_FRAME_BYTES);
        await this.#send(encodeFrameInto(buf, OP_BINARY, part, this.#client));
      }
    } finally {
      if (framePool.length < FRAME_POOL_MAX) framePool.push(buf);
    }
    return p.length;
  }

  /** Half-closes the conn under the WebSocket, as GOST's ws conn does (no close frame). */
  async closeWrite(): Promise<void> {
    await this.#writing;
    await this.inner.closeWrite();
  }

  /** Closes the conn under the WebSocket (GOST sends no close frame either). */
  close(): void {
    this.#eof = true;
    closeQuietly(this.inner);
  }
}
