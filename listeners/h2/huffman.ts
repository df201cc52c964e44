/**
 * The HPACK Huffman code (RFC 7541 §5.2, Appendix B), decode side: header strings a peer (curl, nghttp2, Go) sends
 * Huffman-coded. The code is canonical, so the table is only each symbol's code length (256 octets, then EOS); the
 * codes follow from the lengths, and decoding walks the bits with the first code and count of each length.
 * @module
 */
import { HpackError } from "./errors.ts";

/** Code length in bits of octets 0–255 (RFC 7541 Appendix B), then of EOS (30). */
// deno-fmt-ignore
const LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
];

/** The EOS symbol: never part of a string, its leading bits are the padding. */
const EOS = 256;
const MAX_LEN = 30;

/** Canonical code layout: symbols sorted by (length, value); per length the first code and the symbols' offset. */
const SYMBOLS = Array.from(LENGTHS.keys()).sort((a, b) => LENGTHS[a] - LENGTHS[b] || a - b);
const FIRST_CODE = new Int32Array(MAX_LEN + 2);
const COUNT = new Int32Array(MAX_LEN + 2);
const OFFSET = new Int32Array(MAX_LEN + 2);
/** Each symbol's code (for tests and the encoder of tests), indexed by symbol. */
export const HUFFMAN_CODES: readonly number[] = (() => {
  const codes: number[] = new Array(LENGTHS.length).fill(0);
  let code = 0, len = LENGTHS[SYMBOLS[0]];
  for (const [i, s] of SYMBOLS.entries()) {
    const l = LENGTHS[s];
    if (l !== len) {
      code <<= l - len;
      len = l;
    }
    if (COUNT[l] === 0) {
      FIRST_CODE[l] = code;
      OFFSET[l] = i;
    }
    COUNT[l]++;
    codes[s] = code++;
  }
  return codes;
})();
/** Each symbol's code length, indexed by symbol. */
export const HUFFMAN_LENGTHS: readonly number[] = LENGTHS;

/**
 * Decodes a Huffman-coded header string (RFC 7541 §5.2) into its octets.
 * @throws {HpackError} on the EOS symbol, padding longer than 7 bits, or padding that is not all ones
 * @example new TextDecoder().decode(huffmanDecode(Uint8Array.from([0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff]))) // "www.example.com"
 */
export function huffmanDecode(src: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil((src.length * 8) / 5));
  let n = 0;
  let code = 0, len = 0; // bits of the symbol being read
  for (let i = 0; i < src.length; i++) {
    const b = src[i];
    for (let bit = 7; bit >= 0; bit--) {
      code = (code << 1) | ((b >> bit) & 1);
      len++;
      const k = code - FIRST_CODE[len];
      if (COUNT[len] > 0 && k >= 0 && k < COUNT[len]) {
        const s = SYMBOLS[OFFSET[len] + k];
        if (s === EOS) throw new HpackError("HPACK: Huffman string contains EOS");
        out[n++] = s;
        code = 0;
        len = 0;
      } else if (len >= MAX_LEN) {
        throw new HpackError("HPACK: invalid Huffman code");
      }
    }
  }
  // The rest must be a prefix of EOS (all ones), shorter than an octet.
  if (len > 7) throw new HpackError("HPACK: Huffman padding longer than 7 bits");
  if (code !== (1 << len) - 1) throw new HpackError("HPACK: Huffman padding is not EOS");
  return out.subarray(0, n);
}

/**
 * Huffman-codes octets (RFC 7541 §5.2), padding with ones: for tests that build what curl and nghttp2 send.
 * @example huffmanEncode(new TextEncoder().encode("no-cache")) // a8 eb 10 64 9c bf
 */
export function huffmanEncode(src: Uint8Array): Uint8Array {
  const out: number[] = [];
  let acc = 0, bits = 0;
  for (const s of src) {
    const l = LENGTHS[s];
    const c = HUFFMAN_CODES[s];
    for (let i = l - 1; i >= 0; i--) {
      acc = (acc << 1) | ((c >>> i) & 1);
      if (++bits === 8) {
        out.push(acc);
        acc = 0;
        bits = 0;
      }
    }
  }
  if (bits > 0) out.push(((acc << (8 - bits)) | ((1 << (8 - bits)) - 1)) & 0xff);
  return Uint8Array.from(out);
}
