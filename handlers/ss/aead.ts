/**
 * One session key's AEAD, on the fastest primitive Deno has for it (measured on the project's machines,
 * docs/wire.md, "Shadowsocks"): node:crypto for ChaCha20-Poly1305 (synchronous, about 1.1 GB/s on 1 MiB) and for
 * short AES-GCM messages (synchronous, 3 µs for a length chunk, but only 165 MB/s in bulk); WebCrypto for AES-GCM
 * payloads from 8 KiB up (asynchronous: 40 µs of latency a call, about 550 MB/s when a batch of chunks runs at once)
 * and for every AES-192-GCM message (node:crypto has no aes-192-gcm). AES-192-GCM lengths are read ahead of their
 * tag through the GCM keystream (one AES-192-ECB block from node:crypto) and verified with the rest of the batch.
 * @module
 */
import { type Cipheriv, createCipheriv, createDecipheriv } from "node:crypto";
import type { MethodSpec } from "./cipher.ts";
import { NONCE_SIZE, TAG_SIZE } from "./cipher.ts";

/** Payloads from this size up go to WebCrypto (AES-GCM): below it the synchronous call is faster. */
export const ASYNC_FROM = 8 * 1024;

/** node:crypto's typings give AEAD options per name; chacha20-poly1305 takes the same ones (authTagLength). */
type GcmName = "aes-128-gcm";

/** The 12-byte little-endian nonce counter of a direction, starting at zero. */
export class Nonce {
  readonly bytes = new Uint8Array(NONCE_SIZE);
  /** Increments the counter. */
  next(): void {
    const b = this.bytes;
    for (let i = 0; i < b.length; i++) {
      b[i]++; // `++b[i]` would read 256, not the 0 the byte holds
      if (b[i] !== 0) return;
    }
  }
  /** A copy of the current value, then increments (for calls that run after the counter moved on). */
  take(): Uint8Array<ArrayBuffer> {
    const copy = this.bytes.slice();
    this.next();
    return copy;
  }
}

/** A keyed AEAD with a synchronous and, for AES, an asynchronous path. */
export class SessionAead {
  /** Whether the synchronous path exists (everything but AES-192-GCM). */
  readonly sync: boolean;
  /** Payloads from this length up are better sealed and opened asynchronously (Infinity: never). */
  readonly asyncFrom: number;
  readonly #alg: "aes-128-gcm" | "aes-256-gcm" | "chacha20-poly1305" | null;
  readonly #key: Uint8Array;
  readonly #web: CryptoKey | null;
  readonly #ecb: Cipheriv | null;

  private constructor(spec: MethodSpec, key: Uint8Array, web: CryptoKey | null) {
    this.#key = key;
    this.#web = web;
    if (spec.kind === "chacha20-poly1305") this.#alg = "chacha20-poly1305";
    else if (key.length === 16) this.#alg = "aes-128-gcm";
    else if (key.length === 32) this.#alg = "aes-256-gcm";
    else this.#alg = null;
    this.sync = this.#alg !== null;
    this.asyncFrom = !web ? Infinity : this.sync ? ASYNC_FROM : 0;
    this.#ecb = this.sync ? null : createCipheriv("aes-192-ecb", key, null).setAutoPadding(false);
  }

  /** The AEAD of `key` (a session subkey) for `spec`'s primitive. */
  static async create(spec: MethodSpec, key: Uint8Array): Promise<SessionAead> {
    const web = spec.kind === "aes-gcm"
      ? await crypto.subtle.importKey("raw", key as Uint8Array<ArrayBuffer>, "AES-GCM", false, ["encrypt", "decrypt"])
      : null;
    return new SessionAead(spec, key, web);
  }

  /**
   * The AEAD of `key` for one message at a time (UDP packets): synchronous only, with no WebCrypto key to import,
   * except for AES-192-GCM (a promise then).
   */
  static single(spec: MethodSpec, key: Uint8Array): SessionAead | Promise<SessionAead> {
    if (spec.kind === "aes-gcm" && key.length === 24) return SessionAead.create(spec, key);
    return new SessionAead(spec, key, null);
  }

  /** Seals `plain` with `nonce` into `out` at `off` (ciphertext then tag). Only when {@link sync}. */
  sealInto(nonce: Uint8Array, plain: Uint8Array, out: Uint8Array, off: number): void {
    const c = createCipheriv(this.#alg as GcmName, this.#key, nonce, { authTagLength: TAG_SIZE });
    out.set(c.update(plain), off);
    c.final();
    out.set(c.getAuthTag(), off + plain.length);
  }

  /** Opens `sealed` (ciphertext then tag) with `nonce`; null when it does not authenticate. Only when {@link sync}. */
  openSync(nonce: Uint8Array, sealed: Uint8Array): Uint8Array | null {
    if (sealed.length < TAG_SIZE) return null;
    const n = sealed.length - TAG_SIZE;
    const d = createDecipheriv(this.#alg as GcmName, this.#key, nonce, { authTagLength: TAG_SIZE });
    d.setAuthTag(sealed.subarray(n));
    const out = d.update(sealed.subarray(0, n));
    try {
      d.final();
    } catch {
      return null;
    }
    return out;
  }

  /** Seals `plain` (WebCrypto, AES only; the bytes are copied at the call). */
  async sealAsync(nonce: Uint8Array<ArrayBuffer>, plain: Uint8Array): Promise<Uint8Array> {
    const web = this.#web;
    if (!web) {
      const out = new Uint8Array(plain.length + TAG_SIZE);
      this.sealInto(nonce, plain, out, 0);
      return out;
    }
    return new Uint8Array(
      await crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce }, web, plain as Uint8Array<ArrayBuffer>),
    );
  }

  /** Opens `sealed` (WebCrypto for AES; the bytes are copied at the call); null when it does not authenticate. */
  openAsync(nonce: Uint8Array<ArrayBuffer>, sealed: Uint8Array): Promise<Uint8Array | null> {
    const web = this.#web;
    if (!web) return Promise.resolve(this.openSync(nonce, sealed));
    if (sealed.length < TAG_SIZE) return Promise.resolve(null);
    return crypto.subtle.decrypt({ name: "AES-GCM", iv: nonce }, web, sealed as Uint8Array<ArrayBuffer>).then(
      (b) => new Uint8Array(b),
      () => null,
    );
  }

  /**
   * AES-GCM only: the first two plaintext bytes of `sealed` without checking its tag (the GCM keystream's first
   * block is AES(key, nonce ‖ 00000002)); the caller verifies the tag before using anything it led to.
   */
  peekUint16(nonce: Uint8Array, sealed: Uint8Array): number {
    const block = new Uint8Array(16);
    block.set(nonce);
    block[15] = 2;
    const ks = this.#ecb!.update(block);
    return ((sealed[0] ^ ks[0]) << 8) | (sealed[1] ^ ks[1]);
  }
}
