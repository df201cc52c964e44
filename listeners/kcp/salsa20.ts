/**
 * Salsa20/20 with a 64-bit nonce and a 32-byte key (Bernstein's original; Go's `x/crypto/salsa20.XORKeyStream`):
 * kcp-go's `salsa20` crypt takes the nonce from the packet's first 8 bytes and XORs the keystream over the rest
 * (docs/wire.md, "KCP").
 * @module
 */

/** "expand 32-byte k" as four little-endian words. */
const SIGMA = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574];

/** XORs the Salsa20 keystream for `key` and `nonce` (8 bytes, block counter from 0) over `p` in place. */
export function salsa20Xor(p: Uint8Array, nonce: Uint8Array, key: Uint32Array): void {
  const input = new Uint32Array(16);
  input[0] = SIGMA[0];
  input[1] = key[0], input[2] = key[1], input[3] = key[2], input[4] = key[3];
  input[5] = SIGMA[1];
  input[6] = le32(nonce, 0), input[7] = le32(nonce, 4);
  input[8] = 0, input[9] = 0;
  input[10] = SIGMA[2];
  input[11] = key[4], input[12] = key[5], input[13] = key[6], input[14] = key[7];
  input[15] = SIGMA[3];
  const block = new Uint8Array(64);
  const bw = new DataView(block.buffer);
  for (let off = 0; off < p.length; off += 64) {
    core(input, bw);
    const n = Math.min(64, p.length - off);
    for (let i = 0; i < n; i++) p[off + i] ^= block[i];
    if (++input[8] === 0) input[9]++;
  }
}

/** The 32-byte key as eight little-endian words. */
export function salsa20Key(key: Uint8Array): Uint32Array {
  const k = new Uint32Array(8);
  for (let i = 0; i < 8; i++) k[i] = le32(key, 4 * i);
  return k;
}

function le32(b: Uint8Array, i: number): number {
  return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
}

/** One 64-byte keystream block of `input` into `out`. */
function core(input: Uint32Array, out: DataView): void {
  let x0 = input[0], x1 = input[1], x2 = input[2], x3 = input[3], x4 = input[4], x5 = input[5];
  let x6 = input[6], x7 = input[7], x8 = input[8], x9 = input[9], x10 = input[10], x11 = input[11];
  let x12 = input[12], x13 = input[13], x14 = input[14], x15 = input[15];
  const rotl = (v: number, c: number) => (v << c) | (v >>> (32 - c));
  for (let i = 0; i < 20; i += 2) {
    x4 ^= rotl(x0 + x12, 7), x8 ^= rotl(x4 + x0, 9), x12 ^= rotl(x8 + x4, 13), x0 ^= rotl(x12 + x8, 18);
    x9 ^= rotl(x5 + x1, 7), x13 ^= rotl(x9 + x5, 9), x1 ^= rotl(x13 + x9, 13), x5 ^= rotl(x1 + x13, 18);
    x14 ^= rotl(x10 + x6, 7), x2 ^= rotl(x14 + x10, 9), x6 ^= rotl(x2 + x14, 13), x10 ^= rotl(x6 + x2, 18);
    x3 ^= rotl(x15 + x11, 7), x7 ^= rotl(x3 + x15, 9), x11 ^= rotl(x7 + x3, 13), x15 ^= rotl(x11 + x7, 18);
    x1 ^= rotl(x0 + x3, 7), x2 ^= rotl(x1 + x0, 9), x3 ^= rotl(x2 + x1, 13), x0 ^= rotl(x3 + x2, 18);
    x6 ^= rotl(x5 + x4, 7), x7 ^= rotl(x6 + x5, 9), x4 ^= rotl(x7 + x6, 13), x5 ^= rotl(x4 + x7, 18);
    x11 ^= rotl(x10 + x9, 7), x8 ^= rotl(x11 + x10, 9), x9 ^= rotl(x8 + x11, 13), x10 ^= rotl(x9 + x8, 18);
    x12 ^= rotl(x15 + x14, 7), x13 ^= rotl(x12 + x15, 9), x14 ^= rotl(x13 + x12, 13), x15 ^= rotl(x14 + x13, 18);
  }
  const xs = [x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15];
  for (let i = 0; i < 16; i++) out.setUint32(4 * i, (xs[i] + input[i]) >>> 0, true);
}
