/**
 * HTTP/2 frame layout (RFC 9113 §4, §6): the 9-byte header, frame types, flags and settings, and the encoders of the
 * frames the engine sends. Every encoder returns one buffer with header and payload.
 * @module
 */

/** The client connection preface (RFC 9113 §3.4), sent before the client's SETTINGS. */
export const CLIENT_PREFACE: Uint8Array = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/** Frame header length. */
export const FRAME_HEADER = 9;

/** Frame types (RFC 9113 §6). */
export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

/** Frame flags. */
export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

/** Settings identifiers (RFC 9113 §6.5.2). */
export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

/** The protocol's defaults before SETTINGS say otherwise. */
export const DEFAULT_WINDOW = 65_535;
export const DEFAULT_MAX_FRAME = 16_384;
/** The largest frame size a SETTINGS may name, and the largest window (2^31 - 1). */
export const MAX_FRAME_LIMIT = (1 << 24) - 1;
export const MAX_WINDOW = 0x7fffffff;

/** Writes a frame header at `at` of `buf`. */
export function putHeader(buf: Uint8Array, at: number, len: number, type: number, flags: number, stream: number): void {
  buf[at] = len >>> 16;
  buf[at + 1] = (len >>> 8) & 0xff;
  buf[at + 2] = len & 0xff;
  buf[at + 3] = type;
  buf[at + 4] = flags;
  buf[at + 5] = (stream >>> 24) & 0x7f;
  buf[at + 6] = (stream >>> 16) & 0xff;
  buf[at + 7] = (stream >>> 8) & 0xff;
  buf[at + 8] = stream & 0xff;
}

/** A whole frame with `payload` (control frames and header blocks; DATA is framed by the writer). */
export function frame(
  type: number,
  flags: number,
  stream: number,
  payload: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const buf = new Uint8Array(FRAME_HEADER + payload.length);
  putHeader(buf, 0, payload.length, type, flags, stream);
  buf.set(payload, FRAME_HEADER);
  return buf;
}

/** A 32-bit big-endian value at `at`. */
export function u32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

function be32(n: number): Uint8Array {
  return Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

/** SETTINGS with `values` (id → value); none = an empty SETTINGS. */
export function settingsFrame(values: ReadonlyMap<number, number>): Uint8Array {
  const p = new Uint8Array(values.size * 6);
  let o = 0;
  for (const [id, v] of values) {
    p[o] = id >>> 8;
    p[o + 1] = id & 0xff;
    p.set(be32(v), o + 2);
    o += 6;
  }
  return frame(FrameType.SETTINGS, 0, 0, p);
}

/** The SETTINGS acknowledgement. */
export const SETTINGS_ACK: Uint8Array = frame(FrameType.SETTINGS, Flag.ACK, 0);

/** WINDOW_UPDATE of `stream` (0 = the connection) by `increment`. */
export function windowUpdateFrame(stream: number, increment: number): Uint8Array {
  return frame(FrameType.WINDOW_UPDATE, 0, stream, be32(increment & 0x7fffffff));
}

/** RST_STREAM of `stream` with `code`. */
export function rstStreamFrame(stream: number, code: number): Uint8Array {
  return frame(FrameType.RST_STREAM, 0, stream, be32(code));
}

/** PING with 8 opaque bytes (an ack echoes them). */
export function pingFrame(data: Uint8Array, ack: boolean): Uint8Array {
  return frame(FrameType.PING, ack ? Flag.ACK : 0, 0, data);
}

/** GOAWAY naming the last stream processed, a code and debug text. */
export function goawayFrame(lastStream: number, code: number, debug = ""): Uint8Array {
  const text = new TextEncoder().encode(debug);
  const p = new Uint8Array(8 + text.length);
  p.set(be32(lastStream & 0x7fffffff), 0);
  p.set(be32(code), 4);
  p.set(text, 8);
  return frame(FrameType.GOAWAY, 0, 0, p);
}

/**
 * A header block as HEADERS (+ CONTINUATION frames when it is longer than `maxFrame`).
 * @param endStream the END_STREAM flag on the HEADERS frame
 */
export function headersFrames(stream: number, block: Uint8Array, endStream: boolean, maxFrame: number): Uint8Array {
  const first = Math.min(block.length, maxFrame);
  const parts: Uint8Array[] = [];
  const last = first === block.length;
  parts.push(
    frame(
      FrameType.HEADERS,
      (endStream ? Flag.END_STREAM : 0) | (last ? Flag.END_HEADERS : 0),
      stream,
      block.subarray(0, first),
    ),
  );
  for (let o = first; o < block.length; o += maxFrame) {
    const end = Math.min(block.length, o + maxFrame);
    parts.push(
      frame(FrameType.CONTINUATION, end === block.length ? Flag.END_HEADERS : 0, stream, block.subarray(o, end)),
    );
  }
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
