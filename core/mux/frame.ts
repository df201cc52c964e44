/**
 * smux frames (docs/wire.md, "smux frames"): `VER | CMD | LENGTH u16 LE | STREAM ID u32 LE | payload`. Pure encoding
 * and a reader that parses frames out of a conn with one buffer and no allocation except for PSH payloads.
 * @module
 */
import type { Conn } from "../conn.ts";
import { HandshakeError } from "../errors.ts";

/** Frame commands. */
export const Cmd = { SYN: 0x00, FIN: 0x01, PSH: 0x02, NOP: 0x03, UPD: 0x04 } as const;
/** A frame command value. */
export type CmdValue = typeof Cmd[keyof typeof Cmd];

/** Bytes of a frame header. */
export const HEADER_SIZE = 8;
/** Bytes of a UPD payload: `consumed u32 LE | window u32 LE`. */
export const UPD_SIZE = 8;
/**
 * The stream id of gost.ts's hello: a NOP with this id (`"gost"` in ASCII, LE) is the first frame a gost.ts session
 * sends. smux reads a NOP's id nowhere, so GOST peers ignore it; a gost.ts peer learns from it that FIN is a half-close
 * on this session and that a second FIN for a stream means "closed, stop writing" (docs/wire.md, "smux streams").
 */
export const HELLO_SID = 0x7473_6f67;

/** A decoded frame header. */
export interface FrameHeader {
  version: number;
  cmd: number;
  length: number;
  sid: number;
}

/** The peer broke the smux protocol (wrong version, unknown command, bad length): the session is closed. */
export class MuxProtocolError extends HandshakeError {}

/** Writes a header at `off` of `b`. */
export function putHeader(b: Uint8Array, off: number, version: number, cmd: number, length: number, sid: number): void {
  b[off] = version;
  b[off + 1] = cmd;
  b[off + 2] = length & 0xff;
  b[off + 3] = (length >>> 8) & 0xff;
  b[off + 4] = sid & 0xff;
  b[off + 5] = (sid >>> 8) & 0xff;
  b[off + 6] = (sid >>> 16) & 0xff;
  b[off + 7] = (sid >>> 24) & 0xff;
}

/**
 * Encodes one frame (header + a copy of `payload`).
 * @throws {RangeError} when the payload is longer than 65535 bytes
 * @example encodeFrame(1, Cmd.SYN, 3) // 01 00 00 00 03 00 00 00
 */
export function encodeFrame(version: number, cmd: number, sid: number, payload?: Uint8Array): Uint8Array {
  const n = payload?.length ?? 0;
  if (n > 0xffff) throw new RangeError(`smux frame payload of ${n} bytes is longer than 65535`);
  const out = new Uint8Array(HEADER_SIZE + n);
  putHeader(out, 0, version, cmd, n, sid);
  if (payload) out.set(payload, HEADER_SIZE);
  return out;
}

/** Decodes the header at `off` of `b` (which must hold 8 bytes there). */
export function decodeHeader(b: Uint8Array, off = 0): FrameHeader {
  return {
    version: b[off],
    cmd: b[off + 1],
    length: b[off + 2] | (b[off + 3] << 8),
    sid: (b[off + 4] | (b[off + 5] << 8) | (b[off + 6] << 16) | (b[off + 7] << 24)) >>> 0,
  };
}

/** Encodes a UPD frame (v2 window update) for stream `sid`. */
export function encodeUpd(version: number, sid: number, consumed: number, window: number): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE + UPD_SIZE);
  putHeader(out, 0, version, Cmd.UPD, UPD_SIZE, sid);
  const dv = new DataView(out.buffer);
  dv.setUint32(HEADER_SIZE, consumed >>> 0, true);
  dv.setUint32(HEADER_SIZE + 4, window >>> 0, true);
  return out;
}

/** Decodes a UPD payload. */
export function decodeUpd(b: Uint8Array, off = 0): { consumed: number; window: number } {
  const dv = new DataView(b.buffer, b.byteOffset + off, UPD_SIZE);
  return { consumed: dv.getUint32(0, true), window: dv.getUint32(4, true) };
}

/**
 * Checks a header against the session's version and the command table.
 * @throws {MuxProtocolError} for a frame that would desynchronise the stream: another version, an unknown command,
 *   a payload on SYN/FIN/NOP (smux never reads one) or a UPD whose length is not 8
 */
export function checkHeader(h: FrameHeader, version: number): void {
  if (h.version !== version) {
    throw new MuxProtocolError(`smux frame of version ${h.version} in a version ${version} session`);
  }
  switch (h.cmd) {
    case Cmd.PSH:
      return;
    case Cmd.UPD:
      if (version !== 2) throw new MuxProtocolError("smux UPD frame in a version 1 session");
      if (h.length !== UPD_SIZE) throw new MuxProtocolError(`smux UPD frame of ${h.length} bytes (expected 8)`);
      return;
    case Cmd.SYN:
    case Cmd.FIN:
    case Cmd.NOP:
      if (h.length !== 0) throw new MuxProtocolError(`smux control frame 0x0${h.cmd} with a ${h.length}-byte payload`);
      return;
    default:
      throw new MuxProtocolError(`unknown smux command 0x${h.cmd.toString(16).padStart(2, "0")}`);
  }
}

/** One parsed frame; `payload` is a view into the reader's buffer, valid until the next `next()`. */
export interface Frame extends FrameHeader {
  payload: Uint8Array;
}

/**
 * Parses frames from a conn. Reads in large chunks (many frames per read) into one buffer that holds at least one
 * whole frame of the largest size.
 */
export class FrameReader {
  readonly #conn: Conn;
  #buf: Uint8Array;
  #start = 0;
  #end = 0;

  constructor(conn: Conn, bufferSize = 128 * 1024) {
    this.#conn = conn;
    this.#buf = new Uint8Array(Math.max(bufferSize, HEADER_SIZE + 0xffff));
  }

  /** Waits until `n` bytes are buffered; false at a clean EOF before any of them. */
  async #fill(n: number): Promise<boolean> {
    if (this.#end - this.#start >= n) return true;
    if (this.#buf.length - this.#start < n) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    while (this.#end - this.#start < n) {
      const got = await this.#conn.read(this.#buf.subarray(this.#end));
      if (got === null || got === 0) {
        if (this.#end === this.#start) return false;
        throw new MuxProtocolError("smux stream ended inside a frame");
      }
      this.#end += got;
    }
    return true;
  }

  /**
   * The next frame, checked with {@link checkHeader}; null at a clean EOF between frames.
   * @throws {MuxProtocolError} on a malformed frame or an EOF inside one; whatever the conn's read throws
   */
  async next(version: number): Promise<Frame | null> {
    if (!(await this.#fill(HEADER_SIZE))) return null;
    const h = decodeHeader(this.#buf, this.#start);
    checkHeader(h, version);
    if (!(await this.#fill(HEADER_SIZE + h.length))) throw new MuxProtocolError("smux stream ended inside a frame");
    const at = this.#start + HEADER_SIZE;
    this.#start = at + h.length;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    return { ...h, payload: this.#buf.subarray(at, at + h.length) };
  }
}
