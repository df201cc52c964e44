/**
 * TEA and XTEA (Go's `x/crypto/tea` and `x/crypto/xtea`, big-endian 64-bit blocks) and CFB mode over 8-byte blocks
 * (kcp-go's `encrypt8`): the block ciphers of kcp-go's `tea` crypt (TEA with 16 rounds, as kcp-go builds it) and
 * `xtea` crypt (docs/wire.md, "KCP").
 * @module
 */

/** A 64-bit block cipher's forward direction: enciphers the block (v0, v1) into `out`. */
export type Block64 = (v0: number, v1: number, out: Uint32Array) => void;

const DELTA = 0x9e3779b9;

function be32(b: Uint8Array, i: number): number {
  return ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
}

/** TEA with `rounds` Feistel rounds (an even number; 64 is the standard, kcp-go uses 16) and a 16-byte key. */
export function tea(key: Uint8Array, rounds: number): Block64 {
  const k0 = be32(key, 0), k1 = be32(key, 4), k2 = be32(key, 8), k3 = be32(key, 12);
  const cycles = rounds / 2;
  return (v0, v1, out) => {
    let sum = 0;
    for (let i = 0; i < cycles; i++) {
      sum = (sum + DELTA) | 0;
      v0 = (v0 + ((((v1 << 4) + k0) | 0) ^ ((v1 + sum) | 0) ^ (((v1 >>> 5) + k1) | 0))) | 0;
      v1 = (v1 + ((((v0 << 4) + k2) | 0) ^ ((v0 + sum) | 0) ^ (((v0 >>> 5) + k3) | 0))) | 0;
    }
    out[0] = v0, out[1] = v1;
  };
}

/** XTEA (64 rounds) with a 16-byte key. */
export function xtea(key: Uint8Array): Block64 {
  const k = [be32(key, 0), be32(key, 4), be32(key, 8), be32(key, 12)];
  const table = new Uint32Array(64);
  let sum = 0;
  for (let i = 0; i < 64;) {
    table[i++] = (sum + k[sum & 3]) >>> 0;
    sum = (sum + DELTA) >>> 0;
    table[i++] = (sum + k[(sum >>> 11) & 3]) >>> 0;
  }
  return (v0, v1, out) => {
    for (let i = 0; i < 64;) {
      v0 = (v0 + (((((v1 << 4) ^ (v1 >>> 5)) + v1) | 0) ^ table[i++])) | 0;
      v1 = (v1 + (((((v0 << 4) ^ (v0 >>> 5)) + v0) | 0) ^ table[i++])) | 0;
    }
    out[0] = v0, out[1] = v1;
  };
}

/** CFB over 8-byte blocks with a fixed IV, in place (the tail XORed with the keystream). */
export class Cfb64 {
  readonly #block: Block64;
  readonly #iv0: number;
  readonly #iv1: number;
  readonly #out = new Uint32Array(2);

  /** @param iv the first 8 bytes are used */
  constructor(block: Block64, iv: Uint8Array) {
    this.#block = block;
    this.#iv0 = be32(iv, 0);
    this.#iv1 = be32(iv, 4);
  }

  /** Encrypts `p` in place. */
  encrypt(p: Uint8Array): void {
    this.#cfb(p, true);
  }

  /** Decrypts `p` in place. */
  decrypt(p: Uint8Array): void {
    this.#cfb(p, false);
  }

  #cfb(p: Uint8Array, encrypt: boolean): void {
    const o = this.#out;
    const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
    this.#block(this.#iv0, this.#iv1, o);
    let i = 0;
    for (; i + 8 <= p.length; i += 8) {
      const c0 = dv.getUint32(i), c1 = dv.getUint32(i + 4);
      const r0 = (c0 ^ o[0]) >>> 0, r1 = (c1 ^ o[1]) >>> 0;
      dv.setUint32(i, r0), dv.setUint32(i + 4, r1);
      if (encrypt) this.#block(r0, r1, o);
      else this.#block(c0, c1, o);
    }
    for (let j = 0; i < p.length; i++, j++) p[i] ^= (o[j >> 2] >>> (24 - 8 * (j & 3))) & 0xff;
  }
}
