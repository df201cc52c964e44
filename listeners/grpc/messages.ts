/**
 * gRPC messages of GOST's tunnel: the standard length-prefixed framing (`compressed flag(1) | length u32 BE |
 * message`) around a protobuf `Chunk { bytes data = 1; }` (`0x0A | varint(len) | data`). Each write is one message;
 * reads take the `data` of each message in order as one byte stream. docs/wire.md, "gRPC".
 * @module
 */

/** The largest message accepted (grpc-go's default receive limit); a longer prefix fails the stream. */
export const MAX_MESSAGE = 4 * 1024 * 1024;
/** The largest `data` sent in one message (a longer write is split). */
export const MAX_WRITE = 1024 * 1024;

/** The bytes of a varint (protobuf base-128) of `n` into `out` at `at`; returns the next offset. */
export function putVarint(out: Uint8Array, at: number, n: number): number {
  while (n >= 0x80) {
    out[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[at++] = n;
  return at;
}

/**
 * The message header of a Chunk carrying `n` data bytes: the 5-byte gRPC prefix, the field tag and the length.
 * @example chunkHeader(3) // 00 00 00 00 05 0a 03
 */
export function chunkHeader(n: number): Uint8Array {
  const head = new Uint8Array(16);
  const end = putVarint(head, 6, n);
  const len = end - 5 + n; // tag + varint + data
  head[0] = 0;
  head[1] = len >>> 24;
  head[2] = (len >>> 16) & 0xff;
  head[3] = (len >>> 8) & 0xff;
  head[4] = len & 0xff;
  head[5] = 0x0a; // field 1, wire type 2 (length-delimited)
  return head.subarray(0, end);
}

/**
 * A whole message: a Chunk with `data` (for tests and peers written by hand).
 * @example encodeChunk(new Uint8Array([1, 2])) // 00 00 00 00 04 0a 02 01 02
 */
export function encodeChunk(data: Uint8Array): Uint8Array {
  const head = chunkHeader(data.length);
  const out = new Uint8Array(head.length + data.length);
  out.set(head);
  out.set(data, head.length);
  return out;
}
