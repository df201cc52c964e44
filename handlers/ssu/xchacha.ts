/**
 * XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha), for `2022-blake3-chacha20-poly1305` over UDP (docs/wire.md,
 * "Shadowsocks 2022"): node:crypto has ChaCha20-Poly1305 but not its 24-byte-nonce form, so the subkey is HChaCha20
 * of the key and the nonce's first 16 bytes, and the message is ChaCha20-Poly1305 under it with the nonce
 * `00000000 ‖ nonce[16..24]`.
 * @module
 */
import { createCipheriv, createDecipheriv } from "node:crypto";

/** The nonce size of XChaCha20-Poly1305. */
export const XNONCE_SIZE = 24;
const TAG = 16;

const rotl = (v: number, n: number) => (v << n) | (v >>> (32 - n));

/**
 * HChaCha20(`key`, `nonce16`): 32 bytes.
 * @example hchacha20(key32, nonce.subarray(0, 16))
 */
export function hchacha20(key: Uint8Array, nonce16: Uint8Array): Uint8Array {
  const kv = new DataView(key.buffer, key.byteOffset, 32);
  const nv = new DataView(nonce16.buffer, nonce16.byteOffset, 16);
  const s = new Uint32Array(16);
  s[0] = 0x61707865, s[1] = 0x3320646e, s[2] = 0x79622d32, s[3] = 0x6b206574;
  for (let i = 0; i < 8; i++) s[4 + i] = kv.getUint32(i * 4, true);
  for (let i = 0; i < 4; i++) s[12 + i] = nv.getUint32(i * 4, true);
  const qr = (a: number, b: number, c: number, d: number) => {
    s[a] += s[b], s[d] = rotl(s[d] ^ s[a], 16);
    s[c] += s[d], s[b] = rotl(s[b] ^ s[c], 12);
    s[a] += s[b], s[d] = rotl(s[d] ^ s[a], 8);
    s[c] += s[d], s[b] = rotl(s[b] ^ s[c], 7);
  };
  for (let r = 0; r < 10; r++) {
    qr(0, 4, 8, 12), qr(1, 5, 9, 13), qr(2, 6, 10, 14), qr(3, 7, 11, 15);
    qr(0, 5, 10, 15), qr(1, 6, 11, 12), qr(2, 7, 8, 13), qr(3, 4, 9, 14);
  }
  const out = new Uint8Array(32);
  const ov = new DataView(out.buffer);
  for (let i = 0; i < 4; i++) {
    ov.setUint32(i * 4, s[i], true);
    ov.setUint32(16 + i * 4, s[12 + i], true);
  }
  return out;
}

function inner(key: Uint8Array, nonce: Uint8Array): { subkey: Uint8Array; iv: Uint8Array } {
  const iv = new Uint8Array(12);
  iv.set(nonce.subarray(16, 24), 4);
  return { subkey: hchacha20(key, nonce.subarray(0, 16)), iv };
}

/** Seals `plain` under `key` (32 bytes) and `nonce` (24): ciphertext then tag. */
export function xchachaSeal(key: Uint8Array, nonce: Uint8Array, plain: Uint8Array): Uint8Array {
  const { subkey, iv } = inner(key, nonce);
  // node:crypto's typings give AEAD options per name; chacha20-poly1305 takes the same ones as GCM.
  const c = createCipheriv("chacha20-poly1305" as "aes-256-gcm", subkey, iv, { authTagLength: TAG });
  const out = new Uint8Array(plain.length + TAG);
  out.set(c.update(plain));
  c.final();
  out.set(c.getAuthTag(), plain.length);
  return out;
}

/** Opens `sealed` (ciphertext then tag); null when it does not authenticate. */
export function xchachaOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array): Uint8Array | null {
  if (sealed.length < TAG) return null;
  const { subkey, iv } = inner(key, nonce);
  const n = sealed.length - TAG;
  const d = createDecipheriv("chacha20-poly1305" as "aes-256-gcm", subkey, iv, { authTagLength: TAG });
  d.setAuthTag(sealed.subarray(n));
  const out = d.update(sealed.subarray(0, n));
  try {
    d.final();
  } catch {
    return null;
  }
  return new Uint8Array(out);
}
