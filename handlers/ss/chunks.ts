/**
 * The chunk codec of a Shadowsocks TCP direction (docs/wire.md, "Shadowsocks"): each chunk is
 * `AEAD(length u16) ‖ tag ‖ AEAD(payload) ‖ tag`, every seal and open taking the next nonce. One write becomes one
 * batch: all its chunks are sealed at once (in parallel on WebCrypto for AES) and go out in one write; one read of
 * the socket opens every chunk it completed in one batch too, so a bulk transfer pays the per-call cost of the
 * asynchronous primitive once per read, not per chunk.
 * @module
 */
import { HandshakeError } from "../../core/errors.ts";
import type { Nonce, SessionAead } from "./aead.ts";
import { TAG_SIZE } from "./cipher.ts";

/** The largest SIP004 payload of a chunk (readers mask the length with it). */
export const MAX_PAYLOAD = 0x3fff;
/** The wire bytes of a length chunk. */
export const LENGTH_CHUNK = 2 + TAG_SIZE;

/** A chunk that did not authenticate: a wrong key, or bytes someone changed. */
export class ChunkAuthError extends HandshakeError {
  /** True when it was the stream's first chunk (what a wrong key looks like). */
  readonly first: boolean;
  constructor(first: boolean) {
    super(
      first
        ? "Shadowsocks: the first chunk does not authenticate (wrong key or method)"
        : "Shadowsocks: a chunk does not authenticate",
    );
    this.first = first;
  }
}

/** Seals a direction's chunks. */
export class ChunkWriter {
  readonly #aead: SessionAead;
  readonly #nonce: Nonce;
  readonly #max: number;

  /** @param max the largest payload of one chunk (0x3FFF; SIP022: 0xFFFF) */
  constructor(aead: SessionAead, nonce: Nonce, max = MAX_PAYLOAD) {
    this.#aead = aead;
    this.#nonce = nonce;
    this.#max = max;
  }

  /** The wire size of `n` plaintext bytes. */
  wireSize(n: number): number {
    return n + Math.ceil(n / this.#max) * (LENGTH_CHUNK + TAG_SIZE);
  }

  /**
   * Seals `data` as chunks into `out` from `off` (at least {@link wireSize} bytes free). Resolves at once (a plain
   * value) when every seal ran synchronously, else with a promise that settles when all have.
   */
  sealInto(data: Uint8Array, out: Uint8Array, off: number): Promise<void> | undefined {
    const aead = this.#aead, nonce = this.#nonce, max = this.#max;
    const async = data.length >= aead.asyncFrom;
    let pending: Promise<void>[] | undefined;
    const later = (p: Promise<Uint8Array>, at: number) => (pending ??= []).push(p.then((ct) => out.set(ct, at)));
    const len = new Uint8Array(2);
    for (let pos = 0; pos < data.length; pos += max) {
      const n = Math.min(max, data.length - pos);
      len[0] = n >> 8;
      len[1] = n & 0xff;
      if (aead.sync) {
        aead.sealInto(nonce.bytes, len, out, off);
        nonce.next();
      } else later(aead.sealAsync(nonce.take(), len), off);
      off += LENGTH_CHUNK;
      const payload = data.subarray(pos, pos + n);
      if (!async) {
        aead.sealInto(nonce.bytes, payload, out, off);
        nonce.next();
      } else later(aead.sealAsync(nonce.take(), payload), off);
      off += n + TAG_SIZE;
    }
    return pending ? Promise.all(pending).then(() => {}) : undefined;
  }

  /** Seals `data` as one AEAD message without a length chunk (SIP022 headers) into `out` at `off`. */
  sealRawInto(data: Uint8Array, out: Uint8Array, off: number): Promise<void> | undefined {
    const aead = this.#aead;
    if (aead.sync && data.length < aead.asyncFrom) {
      aead.sealInto(this.#nonce.bytes, data, out, off);
      this.#nonce.next();
      return undefined;
    }
    return aead.sealAsync(this.#nonce.take(), data).then((ct) => void out.set(ct, off));
  }
}

/** What one {@link ChunkOpener.open} made of the bytes it was given. */
export interface Opened {
  /** Bytes of the input consumed (whole chunks; a partial one stays for the next call). */
  consumed: number;
  /** The plaintexts, in order: values, or promises when asynchronous opens run. */
  plain: (Uint8Array | Promise<Uint8Array | null>)[];
  /** Verifications of lengths read ahead of their tag (AES-192-GCM): each must not resolve null. */
  checks: Promise<Uint8Array | null>[];
}

/** Opens a direction's chunks from the bytes read so far. */
export class ChunkOpener {
  readonly #aead: SessionAead;
  readonly #nonce: Nonce;
  readonly #mask: number;
  /** The payload length of the chunk whose length was opened and whose payload has not fully arrived; -1: none. */
  #pending = -1;
  /** Chunks opened so far (the first one tells a wrong key). */
  #opened = 0;

  /** @param mask the length mask (0x3FFF; SIP022: 0xFFFF) */
  constructor(aead: SessionAead, nonce: Nonce, mask = MAX_PAYLOAD) {
    this.#aead = aead;
    this.#nonce = nonce;
    this.#mask = mask;
  }

  /** The bytes the next chunk needs in all (its length chunk, or its payload and tag). */
  get need(): number {
    return this.#pending < 0 ? LENGTH_CHUNK : this.#pending + TAG_SIZE;
  }

  /** True once the first length chunk authenticated (or, for AES-192-GCM, was read ahead). */
  get started(): boolean {
    return this.#opened > 0 || this.#pending >= 0;
  }

  /**
   * Opens every whole chunk at the start of `b`.
   * @throws {ChunkAuthError} when a length chunk opened synchronously does not authenticate
   */
  open(b: Uint8Array): Opened {
    const aead = this.#aead, nonce = this.#nonce;
    const out: Opened = { consumed: 0, plain: [], checks: [] };
    let off = 0;
    for (;;) {
      if (this.#pending < 0) {
        if (b.length - off < LENGTH_CHUNK) break;
        const sealed = b.subarray(off, off + LENGTH_CHUNK);
        let len: number;
        if (aead.sync) {
          const p = aead.openSync(nonce.bytes, sealed);
          nonce.next();
          if (!p) throw new ChunkAuthError(this.#opened === 0);
          len = (p[0] << 8) | p[1];
        } else {
          len = aead.peekUint16(nonce.bytes, sealed);
          out.checks.push(aead.openAsync(nonce.take(), sealed));
        }
        this.#pending = len & this.#mask;
        off += LENGTH_CHUNK;
      }
      const n = this.#pending + TAG_SIZE;
      if (b.length - off < n) break;
      const sealed = b.subarray(off, off + n);
      if (this.#pending < aead.asyncFrom) {
        const p = aead.openSync(nonce.bytes, sealed);
        nonce.next();
        if (!p) throw new ChunkAuthError(false);
        out.plain.push(p);
      } else out.plain.push(aead.openAsync(nonce.take(), sealed));
      off += n;
      this.#pending = -1;
      this.#opened++;
    }
    out.consumed = off;
    return out;
  }

  /**
   * Opens one AEAD message of `n` plaintext bytes without a length chunk (SIP022 headers) at the start of `b`
   * (which holds at least `n` + tag bytes).
   * @returns the plaintext, or null when it does not authenticate
   */
  openRaw(b: Uint8Array, n: number): Uint8Array | null | Promise<Uint8Array | null> {
    const aead = this.#aead;
    const sealed = b.subarray(0, n + TAG_SIZE);
    this.#opened++;
    if (aead.sync && n < aead.asyncFrom) {
      const p = aead.openSync(this.#nonce.bytes, sealed);
      this.#nonce.next();
      return p;
    }
    return aead.openAsync(this.#nonce.take(), sealed);
  }
}

/**
 * Waits for every plaintext and check of a batch.
 * @returns the plaintexts in order
 * @throws {ChunkAuthError} when any does not authenticate (`first`: the batch held the stream's first chunk)
 */
export async function settle(o: Opened, first: boolean): Promise<Uint8Array[]> {
  const [plain, checks] = await Promise.all([Promise.all(o.plain), Promise.all(o.checks)]);
  if (checks.some((c) => c === null)) throw new ChunkAuthError(first);
  if (plain.some((p) => p === null)) throw new ChunkAuthError(first && plain[0] === null);
  return plain as Uint8Array[];
}
