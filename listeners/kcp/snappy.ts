/**
 * Snappy block compression (google/snappy's format, golang/snappy's encoder) and the CRC-32C its framing format
 * masks (docs/wire.md, "KCP"). The decoder takes any valid block; the encoder is golang/snappy's `encodeBlock`
 * (hash table of 4-byte sequences, skipping faster through data that does not match).
 * @module
 */

/** Largest uncompressed block of the framing format. */
export const MAX_BLOCK_SIZE = 65_536;
/** Largest compressed form of a {@link MAX_BLOCK_SIZE} block (golang/snappy's `MaxEncodedLen(65536)`). */
export const MAX_ENCODED_LEN_OF_MAX_BLOCK = 76_490;

const TAG_LITERAL = 0;
const TAG_COPY1 = 1;
const TAG_COPY2 = 2;
const INPUT_MARGIN = 16 - 1;
const MIN_NON_LITERAL_BLOCK_SIZE = 1 + 1 + INPUT_MARGIN;
const MAX_TABLE_SIZE = 1 << 14;

/** Thrown on a block that does not decode. */
export class SnappyCorruptError extends Error {
  constructor(what: string) {
    super(`snappy: corrupt input (${what})`);
    this.name = "SnappyCorruptError";
  }
}

/** The decoded length of a block (its varint prefix), and the prefix's size. */
export function decodedLen(src: Uint8Array): [length: number, headerBytes: number] {
  let v = 0, shift = 0;
  for (let i = 0; i < src.length && i < 5; i++) {
    const b = src[i];
    v += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) {
      if (v > 0xffffffff) break;
      return [v, i + 1];
    }
    shift += 7;
  }
  throw new SnappyCorruptError("bad length varint");
}

/**
 * Decodes a block into `dst` (which must hold its decoded length).
 * @returns the decoded length
 * @throws {SnappyCorruptError} on a malformed block or one larger than `dst`
 */
export function decodeBlock(src: Uint8Array, dst: Uint8Array): number {
  const [n, hdr] = decodedLen(src);
  if (n > dst.length) throw new SnappyCorruptError(`decoded length ${n} over ${dst.length}`);
  let s = hdr, d = 0;
  while (s < src.length) {
    const tag = src[s];
    let length: number, offset: number;
    switch (tag & 3) {
      case TAG_LITERAL: {
        let x = tag >>> 2;
        if (x < 60) s++;
        else {
          const extra = x - 59;
          if (s + extra >= src.length) throw new SnappyCorruptError("short literal length");
          x = 0;
          for (let i = 0; i < extra; i++) x += src[s + 1 + i] * 2 ** (8 * i);
          s += 1 + extra;
        }
        length = x + 1;
        if (length > n - d || length > src.length - s) throw new SnappyCorruptError("literal past the end");
        dst.set(src.subarray(s, s + length), d);
        d += length;
        s += length;
        continue;
      }
      case TAG_COPY1:
        if (s + 2 > src.length) throw new SnappyCorruptError("short copy");
        length = 4 + ((tag >>> 2) & 7);
        offset = ((tag & 0xe0) << 3) | src[s + 1];
        s += 2;
        break;
      case TAG_COPY2:
        if (s + 3 > src.length) throw new SnappyCorruptError("short copy");
        length = 1 + (tag >>> 2);
        offset = src[s + 1] | (src[s + 2] << 8);
        s += 3;
        break;
      default: // copy with a 4-byte offset
        if (s + 5 > src.length) throw new SnappyCorruptError("short copy");
        length = 1 + (tag >>> 2);
        offset = (src[s + 1] | (src[s + 2] << 8) | (src[s + 3] << 16) | (src[s + 4] << 24)) >>> 0;
        s += 5;
    }
    if (offset <= 0 || d < offset || length > n - d) throw new SnappyCorruptError("bad copy offset or length");
    if (offset >= length) {
      dst.copyWithin(d, d - offset, d - offset + length);
      d += length;
    } else {
      for (const stop = d + length; d < stop; d++) dst[d] = dst[d - offset];
    }
  }
  if (d !== n) throw new SnappyCorruptError("decoded length mismatch");
  return n;
}

const hash = (u: number, shift: number) => Math.imul(u, 0x1e35a7bd) >>> shift;
const load32 = (b: Uint8Array, i: number) => (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;

function emitLiteral(dst: Uint8Array, d: number, src: Uint8Array, from: number, to: number): number {
  const n = to - from - 1;
  if (n < 60) dst[d++] = (n << 2) | TAG_LITERAL;
  else if (n < 1 << 8) {
    dst[d++] = (60 << 2) | TAG_LITERAL;
    dst[d++] = n;
  } else {
    dst[d++] = (61 << 2) | TAG_LITERAL;
    dst[d++] = n & 0xff;
    dst[d++] = n >>> 8;
  }
  dst.set(src.subarray(from, to), d);
  return d + (to - from);
}

function emitCopy(dst: Uint8Array, d: number, offset: number, length: number): number {
  while (length >= 68) {
    dst[d++] = (63 << 2) | TAG_COPY2;
    dst[d++] = offset & 0xff;
    dst[d++] = offset >>> 8;
    length -= 64;
  }
  if (length > 64) {
    dst[d++] = (59 << 2) | TAG_COPY2;
    dst[d++] = offset & 0xff;
    dst[d++] = offset >>> 8;
    length -= 60;
  }
  if (length >= 12 || offset >= 2048) {
    dst[d++] = ((length - 1) << 2) | TAG_COPY2;
    dst[d++] = offset & 0xff;
    dst[d++] = offset >>> 8;
    return d;
  }
  dst[d++] = ((offset >>> 8) << 5) | ((length - 4) << 2) | TAG_COPY1;
  dst[d++] = offset & 0xff;
  return d;
}

const table = new Uint16Array(MAX_TABLE_SIZE);

/** golang/snappy's `encodeBlock` for one ≤64 KiB block of at least 17 bytes; returns the end in `dst`. */
function encodeBlock(dst: Uint8Array, d: number, src: Uint8Array): number {
  let shift = 32 - 8;
  let tableSize = 1 << 8;
  for (; tableSize < MAX_TABLE_SIZE && tableSize < src.length; tableSize *= 2) shift--;
  table.fill(0, 0, tableSize);
  const mask = tableSize - 1;
  const sLimit = src.length - INPUT_MARGIN;
  let nextEmit = 0;
  let s = 1;
  let nextHash = hash(load32(src, s), shift);
  let done = false;
  while (!done) {
    let skip = 32;
    let nextS = s;
    let candidate = 0;
    let found = false;
    while (!found) {
      s = nextS;
      const between = skip >>> 5;
      nextS = s + between;
      skip += between;
      if (nextS > sLimit) break;
      candidate = table[nextHash & mask];
      table[nextHash & mask] = s;
      nextHash = hash(load32(src, nextS), shift);
      found = load32(src, s) === load32(src, candidate);
    }
    if (!found) break;
    d = emitLiteral(dst, d, src, nextEmit, s);
    for (;;) {
      const base = s;
      s += 4;
      for (let i = candidate + 4; s < src.length && src[i] === src[s]; i++, s++);
      d = emitCopy(dst, d, base - candidate, s - base);
      nextEmit = s;
      if (s >= sLimit) {
        done = true;
        break;
      }
      const prev = load32(src, s - 1);
      table[hash(prev, shift) & mask] = s - 1;
      const cur = load32(src, s);
      const h = hash(cur, shift) & mask;
      candidate = table[h];
      table[h] = s;
      if (cur !== load32(src, candidate)) {
        nextHash = hash(load32(src, s + 1), shift);
        s++;
        break;
      }
    }
  }
  if (nextEmit < src.length) d = emitLiteral(dst, d, src, nextEmit, src.length);
  return d;
}

/**
 * Compresses one block of at most {@link MAX_BLOCK_SIZE} bytes into `dst` (at least
 * {@link MAX_ENCODED_LEN_OF_MAX_BLOCK} bytes).
 * @returns the compressed length
 */
export function encode(src: Uint8Array, dst: Uint8Array): number {
  let d = 0;
  let n = src.length;
  while (n >= 0x80) {
    dst[d++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  dst[d++] = n;
  if (src.length === 0) return d;
  if (src.length < MIN_NON_LITERAL_BLOCK_SIZE) return emitLiteral(dst, d, src, 0, src.length);
  return encodeBlock(dst, d, src);
}

const CRC32C = new Uint32Array(256 * 8);
(function buildCrc32c() {
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    CRC32C[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = CRC32C[n];
    for (let k = 1; k < 8; k++) {
      c = CRC32C[c & 0xff] ^ (c >>> 8);
      CRC32C[k * 256 + n] = c >>> 0;
    }
  }
})();

/** CRC-32C (Castagnoli) of `b` (slicing by 8). */
export function crc32c(b: Uint8Array): number {
  const T = CRC32C;
  let c = ~0;
  let i = 0;
  const e = b.length;
  for (; i + 8 <= e; i += 8) {
    c ^= b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);
    c = T[1792 + (c & 0xff)] ^ T[1536 + ((c >>> 8) & 0xff)] ^ T[1280 + ((c >>> 16) & 0xff)] ^ T[1024 + (c >>> 24)] ^
      T[768 + b[i + 4]] ^ T[512 + b[i + 5]] ^ T[256 + b[i + 6]] ^ T[b[i + 7]];
  }
  for (; i < e; i++) c = T[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** The framing format's masked checksum of `b`: `rotr15(crc32c(b)) + 0xa282ead8`. */
export function maskedCrc(b: Uint8Array): number {
  const c = crc32c(b);
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
}
