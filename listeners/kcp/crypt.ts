/**
 * kcp-go's packet crypt layer (docs/wire.md, "KCP"): every UDP datagram is `nonce(16) crc32(4) payload`, the CRC-32
 * (IEEE) over the payload, and the whole datagram enciphered by the crypt named in the config. The key is
 * `pbkdf2(key, "kcp-go", 4096, 32, sha1)`, cut to the cipher's key size, as GOST's x/internal/util/kcp `BlockCrypt`
 * and kcptun derive it; `xor` expands it further with `pbkdf2(pass, "sH3CIVoF#rWLtJo6", 32, 1500, sha1)`.
 * Block ciphers run in CFB mode with kcp-go's fixed IV, over the whole datagram nonce included.
 * @module
 */
import { createCipheriv, pbkdf2Sync } from "node:crypto";
import { crc32 } from "node:zlib";
import { ConfigError } from "../../core/errors.ts";
import { AesCfb } from "./aes.ts";
import { salsa20Key, salsa20Xor } from "./salsa20.ts";
import { Cfb64, tea, xtea } from "./tea.ts";

/** Bytes of the random nonce that starts every datagram. */
export const NONCE_SIZE = 16;
/** Bytes of the CRC-32 after the nonce. */
export const CRC_SIZE = 4;
/** The crypt header: nonce and CRC. */
export const CRYPT_HEADER_SIZE = NONCE_SIZE + CRC_SIZE;
/** The salt of the key derivation (GOST's `DefaultSalt`, kcptun's `SALT`). */
export const KEY_SALT = "kcp-go";

/** kcp-go's CFB initial vector. */
const IV = Uint8Array.of(167, 115, 79, 156, 18, 172, 27, 1, 164, 21, 242, 193, 252, 120, 230, 107);
/** The salt of the `xor` crypt's table. */
const XOR_SALT = "sH3CIVoF#rWLtJo6";
/** kcp-go's largest datagram: the `xor` table's length. */
const MTU_LIMIT = 1500;

/** Enciphers and deciphers whole datagrams in place. */
export interface PacketCipher {
  /** Enciphers `p` in place. */
  encrypt(p: Uint8Array): void;
  /** Deciphers `p` in place. */
  decrypt(p: Uint8Array): void;
}

/** The crypts gost.ts implements (GOST's names). */
export const CRYPTS = ["aes", "aes-128", "aes-192", "salsa20", "xor", "tea", "xtea", "none"] as const;
/** One of {@link CRYPTS}. */
export type CryptName = typeof CRYPTS[number];
/** GOST's crypts gost.ts does not implement. */
export const UNSUPPORTED_CRYPTS = ["sm4", "blowfish", "twofish", "cast5", "3des"] as const;

/**
 * Checks a crypt name.
 * @param key where the name came from, for the message (`"kcp.crypt"`)
 * @throws {ConfigError} for a GOST crypt gost.ts lacks or a name GOST does not know (GOST falls back to aes for those)
 */
export function checkCrypt(name: string, key: string): CryptName {
  if ((CRYPTS as readonly string[]).includes(name)) return name as CryptName;
  const supported = CRYPTS.join(", ");
  if ((UNSUPPORTED_CRYPTS as readonly string[]).includes(name)) {
    throw new ConfigError(`kcp: ${key} = "${name}" is not supported by gost.ts yet: the crypts are ${supported}`);
  }
  throw new ConfigError(
    `kcp: ${key} = "${name}" is not a crypt (GOST would silently use aes): the crypts are ${supported}`,
  );
}

/** The 32-byte secret of a key: `pbkdf2(key, "kcp-go", 4096, 32, sha1)`. */
export function deriveKey(key: string): Uint8Array {
  return new Uint8Array(pbkdf2Sync(key, KEY_SALT, 4096, 32, "sha1"));
}

/** The cipher of crypt `name` over the derived secret `pass` (see {@link deriveKey}). */
export function packetCipher(name: CryptName, pass: Uint8Array): PacketCipher {
  switch (name) {
    case "aes":
      return new AesPacketCipher(pass);
    case "aes-128":
      return new AesPacketCipher(pass.subarray(0, 16));
    case "aes-192":
      return new AesPacketCipher(pass.subarray(0, 24));
    case "salsa20": {
      const key = salsa20Key(pass);
      const run = (p: Uint8Array) => salsa20Xor(p.subarray(8), p.subarray(0, 8), key);
      return { encrypt: run, decrypt: run };
    }
    case "xor": {
      const table = new Uint8Array(pbkdf2Sync(pass, XOR_SALT, 32, MTU_LIMIT, "sha1"));
      const run = (p: Uint8Array) => {
        const n = Math.min(p.length, table.length);
        for (let i = 0; i < n; i++) p[i] ^= table[i];
      };
      return { encrypt: run, decrypt: run };
    }
    case "tea":
      return new Cfb64(tea(pass.subarray(0, 16), 16), IV);
    case "xtea":
      return new Cfb64(xtea(pass.subarray(0, 16)), IV);
    case "none":
      return { encrypt: () => {}, decrypt: () => {} };
  }
}

/** A `node:crypto` cipher object (the part used here). */
interface NodeCipher {
  update(p: Uint8Array): Uint8Array;
  setAutoPadding(on: boolean): unknown;
}

/**
 * AES-CFB through native AES, one call per datagram each way. Decryption: every keystream block is the encipherment
 * of a ciphertext block already known, so the keystream is ECB over `IV ‖ C[0..n-1)`. Encryption: the keystream block
 * i+1 is E(C_i) = E(P_i ⊕ K_i), which is what CBC with a zero IV computes from `IV ‖ P[0..n-1)` (each CBC output is
 * E(input ⊕ previous output)); one CBC cipher serves every datagram, its chaining value (the last block it output)
 * cancelled by XORing it into the first block. Without native CBC (`aes-192-cbc` in Deno) the TypeScript AES
 * (aes.ts) encrypts.
 */
class AesPacketCipher implements PacketCipher {
  readonly #js: AesCfb;
  readonly #ecb: NodeCipher;
  readonly #cbc: NodeCipher | null;
  /** The CBC cipher's chaining value: the last block it output. */
  readonly #chain = new Uint8Array(16);
  readonly #scratch = new Uint8Array(64 * 1024 + 16);

  constructor(key: Uint8Array) {
    const bits = key.length * 8;
    this.#js = new AesCfb(key, IV);
    this.#ecb = createCipheriv(`aes-${bits}-ecb`, key, null) as unknown as NodeCipher;
    this.#ecb.setAutoPadding(false);
    let cbc: NodeCipher | null = null;
    try {
      cbc = createCipheriv(`aes-${bits}-cbc`, key, new Uint8Array(16)) as unknown as NodeCipher;
      cbc.setAutoPadding(false);
    } catch {
      cbc = null; // not in this runtime's node:crypto
    }
    this.#cbc = cbc;
  }

  encrypt(p: Uint8Array): void {
    const blocks = (p.length + 15) >> 4;
    if (blocks === 0) return;
    if (!this.#cbc || blocks * 16 > this.#scratch.length) return this.#js.encrypt(p);
    const s = this.#scratch, chain = this.#chain;
    for (let i = 0; i < 16; i++) s[i] = IV[i] ^ chain[i];
    s.set(p.subarray(0, (blocks - 1) * 16), 16);
    const ks = this.#cbc.update(s.subarray(0, blocks * 16));
    chain.set(ks.subarray(blocks * 16 - 16, blocks * 16));
    xorInto(p, ks);
  }

  decrypt(p: Uint8Array): void {
    const blocks = (p.length + 15) >> 4;
    if (blocks === 0) return;
    if (blocks * 16 > this.#scratch.length) return this.#js.decrypt(p);
    const s = this.#scratch;
    s.set(IV, 0);
    s.set(p.subarray(0, (blocks - 1) * 16), 16);
    xorInto(p, this.#ecb.update(s.subarray(0, blocks * 16)));
  }
}

/** p ^= ks over p's length (words when both are aligned). */
function xorInto(p: Uint8Array, ks: Uint8Array): void {
  const n = p.length;
  let i = 0;
  if ((p.byteOffset & 3) === 0 && (ks.byteOffset & 3) === 0 && n >= 16) {
    const words = n >> 2;
    const a = new Uint32Array(p.buffer, p.byteOffset, words);
    const b = new Uint32Array(ks.buffer, ks.byteOffset, words);
    for (let w = 0; w < words; w++) a[w] ^= b[w];
    i = words << 2;
  }
  for (; i < n; i++) p[i] ^= ks[i];
}

/** CRC-32 (IEEE) of `p`. */
export function checksum(p: Uint8Array): number {
  return crc32(p) >>> 0;
}

/**
 * Seals a datagram in place: fills the nonce, writes the CRC of `p[20:]` and enciphers. `p` starts with the
 * {@link CRYPT_HEADER_SIZE} header bytes.
 */
export function seal(p: Uint8Array, cipher: PacketCipher): void {
  crypto.getRandomValues(p.subarray(0, NONCE_SIZE));
  const c = checksum(p.subarray(CRYPT_HEADER_SIZE));
  p[16] = c, p[17] = c >>> 8, p[18] = c >>> 16, p[19] = c >>> 24;
  cipher.encrypt(p);
}

/**
 * Opens a datagram in place: deciphers and checks the CRC.
 * @returns the payload (after the header), or null when the datagram is short or its CRC does not match
 */
export function open(p: Uint8Array, cipher: PacketCipher): Uint8Array | null {
  if (p.length < CRYPT_HEADER_SIZE) return null;
  cipher.decrypt(p);
  const want = (p[16] | (p[17] << 8) | (p[18] << 16) | (p[19] << 24)) >>> 0;
  const payload = p.subarray(CRYPT_HEADER_SIZE);
  return checksum(payload) === want ? payload : null;
}
