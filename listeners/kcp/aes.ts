/**
 * AES (FIPS-197), forward direction only, in CFB mode over a whole packet: the block cipher of kcp-go's `aes`,
 * `aes-128` and `aes-192` crypts (docs/wire.md, "KCP"). CFB needs only the forward cipher in both directions, and its
 * encryption is one block after another (each block's keystream is the previous ciphertext block enciphered), so one
 * native call per 16 bytes would dominate: this is a table-driven AES in TypeScript instead. `node:crypto` in Deno has
 * no CFB mode.
 * @module
 */

const SBOX = new Uint8Array(256);
const TE0 = new Uint32Array(256);
const TE1 = new Uint32Array(256);
const TE2 = new Uint32Array(256);
const TE3 = new Uint32Array(256);

(function buildTables() {
  // GF(2^8) with x^8 + x^4 + x^3 + x + 1; 3 generates the multiplicative group
  const exp = new Uint8Array(256);
  const log = new Uint8Array(256);
  for (let i = 0, x = 1; i < 255; i++) {
    exp[i] = x;
    log[x] = i;
    x ^= (x << 1) ^ ((x & 0x80) ? 0x11b : 0); // x *= 3
    x &= 0xff;
  }
  for (let a = 0; a < 256; a++) {
    const inv = a === 0 ? 0 : exp[(255 - log[a]) % 255];
    let s = inv;
    for (let k = 1; k < 5; k++) s ^= ((inv << k) | (inv >>> (8 - k))) & 0xff;
    SBOX[a] = s ^ 0x63;
  }
  for (let a = 0; a < 256; a++) {
    const s = SBOX[a];
    const s2 = ((s << 1) ^ ((s & 0x80) ? 0x11b : 0)) & 0xff;
    const s3 = s2 ^ s;
    const t = ((s2 << 24) | (s << 16) | (s << 8) | s3) >>> 0;
    TE0[a] = t;
    TE1[a] = ((t >>> 8) | (t << 24)) >>> 0;
    TE2[a] = ((t >>> 16) | (t << 16)) >>> 0;
    TE3[a] = ((t >>> 24) | (t << 8)) >>> 0;
  }
})();

/** The expanded encryption key of AES-128, -192 or -256. */
function expandKey(key: Uint8Array): Uint32Array {
  const nk = key.length / 4;
  if (![4, 6, 8].includes(nk)) throw new RangeError(`AES key must be 16, 24 or 32 bytes, got ${key.length}`);
  const rounds = nk + 6;
  const w = new Uint32Array(4 * (rounds + 1));
  for (let i = 0; i < nk; i++) {
    w[i] = ((key[4 * i] << 24) | (key[4 * i + 1] << 16) | (key[4 * i + 2] << 8) | key[4 * i + 3]) >>> 0;
  }
  let rcon = 1;
  for (let i = nk; i < w.length; i++) {
    let t = w[i - 1];
    if (i % nk === 0) {
      t = ((SBOX[(t >>> 16) & 0xff] << 24) | (SBOX[(t >>> 8) & 0xff] << 16) | (SBOX[t & 0xff] << 8) |
        SBOX[t >>> 24]) ^ (rcon << 24);
      rcon = ((rcon << 1) ^ ((rcon & 0x80) ? 0x11b : 0)) & 0xff;
    } else if (nk > 6 && i % nk === 4) {
      t = (SBOX[t >>> 24] << 24) | (SBOX[(t >>> 16) & 0xff] << 16) | (SBOX[(t >>> 8) & 0xff] << 8) | SBOX[t & 0xff];
    }
    w[i] = (w[i - nk] ^ t) >>> 0;
  }
  return w;
}

/**
 * AES in CFB mode (128-bit segments) with a fixed IV, over byte ranges in place; the last partial block is XORed with
 * the keystream, as Go's `cipher.NewCFBEncrypter` and kcp-go's `encrypt16` do.
 * @example const c = new AesCfb(key32, iv16); c.encrypt(packet); c.decrypt(packet);
 */
export class AesCfb {
  readonly #w: Uint32Array;
  readonly #rounds: number;
  readonly #iv: Uint32Array;
  /** The output block of the last {@link AesCfb.#block} call. */
  readonly #out = new Uint32Array(4);

  /** @param key 16, 24 or 32 bytes @param iv 16 bytes */
  constructor(key: Uint8Array, iv: Uint8Array) {
    this.#w = expandKey(key);
    this.#rounds = key.length / 4 + 6;
    this.#iv = new Uint32Array(4);
    for (let i = 0; i < 4; i++) {
      this.#iv[i] = ((iv[4 * i] << 24) | (iv[4 * i + 1] << 16) | (iv[4 * i + 2] << 8) | iv[4 * i + 3]) >>> 0;
    }
  }

  /** Enciphers one block given as four big-endian words into `#out`. */
  #block(a0: number, a1: number, a2: number, a3: number): void {
    const w = this.#w;
    let s0 = a0 ^ w[0], s1 = a1 ^ w[1], s2 = a2 ^ w[2], s3 = a3 ^ w[3];
    let k = 4;
    for (let r = 1; r < this.#rounds; r++) {
      const t0 = TE0[s0 >>> 24] ^ TE1[(s1 >>> 16) & 0xff] ^ TE2[(s2 >>> 8) & 0xff] ^ TE3[s3 & 0xff] ^ w[k];
      const t1 = TE0[s1 >>> 24] ^ TE1[(s2 >>> 16) & 0xff] ^ TE2[(s3 >>> 8) & 0xff] ^ TE3[s0 & 0xff] ^ w[k + 1];
      const t2 = TE0[s2 >>> 24] ^ TE1[(s3 >>> 16) & 0xff] ^ TE2[(s0 >>> 8) & 0xff] ^ TE3[s1 & 0xff] ^ w[k + 2];
      const t3 = TE0[s3 >>> 24] ^ TE1[(s0 >>> 16) & 0xff] ^ TE2[(s1 >>> 8) & 0xff] ^ TE3[s2 & 0xff] ^ w[k + 3];
      s0 = t0, s1 = t1, s2 = t2, s3 = t3;
      k += 4;
    }
    const o = this.#out;
    o[0] = ((SBOX[s0 >>> 24] << 24) | (SBOX[(s1 >>> 16) & 0xff] << 16) | (SBOX[(s2 >>> 8) & 0xff] << 8) |
      SBOX[s3 & 0xff]) ^ w[k];
    o[1] = ((SBOX[s1 >>> 24] << 24) | (SBOX[(s2 >>> 16) & 0xff] << 16) | (SBOX[(s3 >>> 8) & 0xff] << 8) |
      SBOX[s0 & 0xff]) ^ w[k + 1];
    o[2] = ((SBOX[s2 >>> 24] << 24) | (SBOX[(s3 >>> 16) & 0xff] << 16) | (SBOX[(s0 >>> 8) & 0xff] << 8) |
      SBOX[s1 & 0xff]) ^ w[k + 2];
    o[3] = ((SBOX[s3 >>> 24] << 24) | (SBOX[(s0 >>> 16) & 0xff] << 16) | (SBOX[(s1 >>> 8) & 0xff] << 8) |
      SBOX[s2 & 0xff]) ^ w[k + 3];
  }

  /** Enciphers one block (16 bytes) into `dst` (ECB, for the test vectors of FIPS-197). */
  encryptBlock(src: Uint8Array, dst: Uint8Array): void {
    this.#block(word(src, 0), word(src, 4), word(src, 8), word(src, 12));
    for (let i = 0; i < 4; i++) putWord(dst, 4 * i, this.#out[i]);
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
    const w = this.#w, rounds = this.#rounds, iv = this.#iv;
    const n = p.length;
    const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
    // the keystream block: E(IV), then E(previous ciphertext block)
    let k0 = iv[0], k1 = iv[1], k2 = iv[2], k3 = iv[3];
    let i = 0;
    for (;;) {
      // one AES block over k0..k3
      let s0 = k0 ^ w[0], s1 = k1 ^ w[1], s2 = k2 ^ w[2], s3 = k3 ^ w[3];
      let r = 4;
      for (const last = rounds * 4; r < last; r += 4) {
        const t0 = TE0[s0 >>> 24] ^ TE1[(s1 >>> 16) & 0xff] ^ TE2[(s2 >>> 8) & 0xff] ^ TE3[s3 & 0xff] ^ w[r];
        const t1 = TE0[s1 >>> 24] ^ TE1[(s2 >>> 16) & 0xff] ^ TE2[(s3 >>> 8) & 0xff] ^ TE3[s0 & 0xff] ^ w[r + 1];
        const t2 = TE0[s2 >>> 24] ^ TE1[(s3 >>> 16) & 0xff] ^ TE2[(s0 >>> 8) & 0xff] ^ TE3[s1 & 0xff] ^ w[r + 2];
        s3 = TE0[s3 >>> 24] ^ TE1[(s0 >>> 16) & 0xff] ^ TE2[(s1 >>> 8) & 0xff] ^ TE3[s2 & 0xff] ^ w[r + 3];
        s0 = t0, s1 = t1, s2 = t2;
      }
      const o0 = ((SBOX[s0 >>> 24] << 24) | (SBOX[(s1 >>> 16) & 0xff] << 16) | (SBOX[(s2 >>> 8) & 0xff] << 8) |
        SBOX[s3 & 0xff]) ^ w[r];
      const o1 = ((SBOX[s1 >>> 24] << 24) | (SBOX[(s2 >>> 16) & 0xff] << 16) | (SBOX[(s3 >>> 8) & 0xff] << 8) |
        SBOX[s0 & 0xff]) ^ w[r + 1];
      const o2 = ((SBOX[s2 >>> 24] << 24) | (SBOX[(s3 >>> 16) & 0xff] << 16) | (SBOX[(s0 >>> 8) & 0xff] << 8) |
        SBOX[s1 & 0xff]) ^ w[r + 2];
      const o3 = ((SBOX[s3 >>> 24] << 24) | (SBOX[(s0 >>> 16) & 0xff] << 16) | (SBOX[(s1 >>> 8) & 0xff] << 8) |
        SBOX[s2 & 0xff]) ^ w[r + 3];
      if (i + 16 > n) {
        for (let j = 0; i < n; i++, j++) {
          const o = j < 4 ? o0 : j < 8 ? o1 : j < 12 ? o2 : o3;
          p[i] ^= (o >>> (24 - 8 * (j & 3))) & 0xff;
        }
        return;
      }
      const c0 = dv.getUint32(i), c1 = dv.getUint32(i + 4), c2 = dv.getUint32(i + 8), c3 = dv.getUint32(i + 12);
      dv.setUint32(i, c0 ^ o0), dv.setUint32(i + 4, c1 ^ o1), dv.setUint32(i + 8, c2 ^ o2);
      dv.setUint32(i + 12, c3 ^ o3);
      if (encrypt) k0 = c0 ^ o0, k1 = c1 ^ o1, k2 = c2 ^ o2, k3 = c3 ^ o3;
      else k0 = c0, k1 = c1, k2 = c2, k3 = c3;
      i += 16;
    }
  }
}

function word(p: Uint8Array, i: number): number {
  return ((p[i] << 24) | (p[i + 1] << 16) | (p[i + 2] << 8) | p[i + 3]) >>> 0;
}

function putWord(p: Uint8Array, i: number, v: number): void {
  p[i] = v >>> 24;
  p[i + 1] = v >>> 16;
  p[i + 2] = v >>> 8;
  p[i + 3] = v;
}
