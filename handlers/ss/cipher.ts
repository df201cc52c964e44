/**
 * Shadowsocks methods and keys (docs/wire.md, "Shadowsocks"): the AEAD methods of SIP004 with their sizes, the
 * master key from the password (OpenSSL's EVP_BytesToKey with MD5, one round, no salt) and the session subkey from a
 * salt (HKDF-SHA1, info `ss-subkey`). The 2022 methods (SIP022) derive theirs with BLAKE3 (handlers/ss/ss2022/).
 * @module
 */
import { createHash, hkdfSync } from "node:crypto";
import { ConfigError } from "../../core/errors.ts";

/** The AEAD primitive under a method. */
export type AeadKind = "aes-gcm" | "chacha20-poly1305";

/** One method: its name, primitive and sizes (bytes). */
export interface MethodSpec {
  /** The method's name, lower case (`aes-256-gcm`). */
  readonly name: string;
  /** The AEAD primitive. */
  readonly kind: AeadKind;
  /** Key and subkey length. */
  readonly keySize: number;
  /** Salt length (the key length for every method). */
  readonly saltSize: number;
  /** SIP022 (`2022-blake3-*`): a base64 PSK instead of a password, BLAKE3 subkeys, headers with timestamps. */
  readonly sip022: boolean;
}

/** The AEAD tag length of every method. */
export const TAG_SIZE = 16;
/** The AEAD nonce length of every method. */
export const NONCE_SIZE = 12;

const spec = (name: string, kind: AeadKind, keySize: number, sip022 = false): MethodSpec => ({
  name,
  kind,
  keySize,
  saltSize: keySize,
  sip022,
});

/** The methods gost.ts speaks, by name. */
export const METHODS: Readonly<Record<string, MethodSpec>> = {
  "aes-128-gcm": spec("aes-128-gcm", "aes-gcm", 16),
  "aes-192-gcm": spec("aes-192-gcm", "aes-gcm", 24),
  "aes-256-gcm": spec("aes-256-gcm", "aes-gcm", 32),
  "chacha20-ietf-poly1305": spec("chacha20-ietf-poly1305", "chacha20-poly1305", 32),
  "2022-blake3-aes-128-gcm": spec("2022-blake3-aes-128-gcm", "aes-gcm", 16, true),
  "2022-blake3-aes-256-gcm": spec("2022-blake3-aes-256-gcm", "aes-gcm", 32, true),
  "2022-blake3-chacha20-poly1305": spec("2022-blake3-chacha20-poly1305", "chacha20-poly1305", 32, true),
};

/** Other spellings of the methods: shadowsocks/go-shadowsocks2's names, which older GOST accepted. */
const ALIASES: Readonly<Record<string, string>> = {
  "aead_aes_128_gcm": "aes-128-gcm",
  "aead_aes_192_gcm": "aes-192-gcm",
  "aead_aes_256_gcm": "aes-256-gcm",
  "aead_chacha20_poly1305": "chacha20-ietf-poly1305",
};

/**
 * The method named `name` (case-insensitive, as GOST).
 * @throws {ConfigError} naming the method and the supported ones (`none`, stream ciphers and others are refused)
 * @example parseMethod("AES-128-GCM").keySize // 16
 */
export function parseMethod(name: string): MethodSpec {
  const lower = name.trim().toLowerCase();
  const found = METHODS[ALIASES[lower] ?? lower];
  if (found) return found;
  const hint = lower === "none" || lower === "dummy" || lower === "plain"
    ? " (GOST's unencrypted method is not offered: use a transport such as relay instead)"
    : "";
  throw new ConfigError(
    `Shadowsocks method "${name}" is not supported${hint}; supported: ${Object.keys(METHODS).join(", ")}`,
  );
}

/**
 * The master key of a password: EVP_BytesToKey(MD5, no salt, one round) — D1 = MD5(password),
 * Di = MD5(Di−1 ‖ password), concatenated and cut to `keySize` bytes.
 * @example evpBytesToKey("foobar", 16) // MD5("foobar") = 3858f62230ac3c915f300c664312c63f
 */
export function evpBytesToKey(password: string, keySize: number): Uint8Array {
  const pw = new TextEncoder().encode(password);
  const out = new Uint8Array(keySize);
  let prev = new Uint8Array(0);
  for (let off = 0; off < keySize;) {
    const d = createHash("md5").update(prev).update(pw).digest();
    prev = new Uint8Array(d);
    out.set(prev.subarray(0, Math.min(prev.length, keySize - off)), off);
    off += prev.length;
  }
  return out;
}

const SUBKEY_INFO = new TextEncoder().encode("ss-subkey");

/**
 * The session subkey of a salt: HKDF-SHA1(key = master key, salt, info `ss-subkey`), as long as the master key.
 */
export function sessionSubkey(masterKey: Uint8Array, salt: Uint8Array): Uint8Array {
  return new Uint8Array(hkdfSync("sha1", masterKey, salt, SUBKEY_INFO, masterKey.length));
}

/** How a conn gets its keys: the method and the subkey of each salt. */
export interface StreamKeys {
  /** The method. */
  readonly spec: MethodSpec;
  /** The session subkey of a salt. */
  subkey(salt: Uint8Array): Uint8Array;
}

/** The keys of a SIP004 method and password. */
export function aeadKeys(spec: MethodSpec, password: string): StreamKeys {
  const master = evpBytesToKey(password, spec.keySize);
  return { spec, subkey: (salt) => sessionSubkey(master, salt) };
}
