/**
 * GOST's hidden target name (GOST 2.x's `Gost-Target` header, and the ClientHello extension 0xFFFE of its `sni`
 * connector): `base64url(crc32(name) ‖ base64url(name))`, both base64url without padding, the CRC-32 (IEEE) big-endian
 * (docs/wire.md, "SNI"). The checksum makes a random or mangled value fail to decode instead of routing somewhere.
 * @module
 */

/** The IEEE CRC-32 table (polynomial 0xEDB88320, reflected). */
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE) of `p`, as Go's `crc32.ChecksumIEEE`. */
export function crc32(p: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < p.length; i++) c = CRC_TABLE[(c ^ p[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

/** The bytes as a binary string (one char per byte). */
function binary(p: Uint8Array): string {
  let s = "";
  for (let i = 0; i < p.length; i++) s += String.fromCharCode(p[i]);
  return s;
}

/** base64url without padding (Go's `base64.RawURLEncoding`). */
function toBase64Url(p: Uint8Array): string {
  return btoa(binary(p)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Decodes base64url without padding; null when `s` is not that (padding, other characters, a dangling char). */
function fromBase64Url(s: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) return null;
  try {
    const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (s.length % 4)) % 4));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

/**
 * Encodes a target name as GOST's connector does.
 * @example encodeTargetName("example.com") // "YjZ...": decodeTargetName gives "example.com" back
 */
export function encodeTargetName(name: string): string {
  const inner = enc.encode(toBase64Url(enc.encode(name)));
  const buf = new Uint8Array(4 + inner.length);
  new DataView(buf.buffer).setUint32(0, crc32(enc.encode(name)));
  buf.set(inner, 4);
  return toBase64Url(buf);
}

/**
 * Decodes a hidden target name; null when the value is not one (bad base64url, too short, a checksum mismatch,
 * not UTF-8), as GOST then ignores it.
 * @example decodeTargetName(encodeTargetName("a.test:8443")) // "a.test:8443"
 */
export function decodeTargetName(value: string): string | null {
  const outer = fromBase64Url(value.trim());
  if (!outer || outer.length < 4) return null;
  const inner = fromBase64Url(binary(outer.subarray(4)));
  if (!inner) return null;
  if (crc32(inner) !== new DataView(outer.buffer, outer.byteOffset).getUint32(0)) return null;
  try {
    return dec.decode(inner);
  } catch {
    return null;
  }
}
