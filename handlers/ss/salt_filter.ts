/**
 * The replay filter of a Shadowsocks server: the salts it has seen (and sent), kept in a rotating pair of sets so
 * memory stays bounded — when the current set holds {@link SALT_GENERATION} salts it becomes the previous one and the
 * old previous one is dropped. A salt is remembered for at least one generation and at most two; shadowsocks-libev
 * and go-shadowsocks2 keep a ring of Bloom filters to the same end (docs/wire.md, "Shadowsocks").
 * @module
 */

/** Salts per generation: with two generations, at most 2 × this many are held (about 60 bytes each). */
export const SALT_GENERATION = 100_000;

/** A bounded set of salts. */
export class SaltFilter {
  readonly #generation: number;
  #current = new Set<string>();
  #previous = new Set<string>();
  /** Replays refused so far (for logs and tests). */
  replays = 0;

  constructor(generation = SALT_GENERATION) {
    this.#generation = generation;
  }

  /** Tells whether `salt` was seen (or sent) within the last one or two generations. */
  has(salt: Uint8Array): boolean {
    const k = key(salt);
    return this.#current.has(k) || this.#previous.has(k);
  }

  /** Remembers `salt`. */
  add(salt: Uint8Array): void {
    if (this.#current.size >= this.#generation) {
      this.#previous = this.#current;
      this.#current = new Set();
    }
    this.#current.add(key(salt));
  }

  /**
   * Remembers `salt` unless it is already known.
   * @returns false (and counts a replay) when it was known
   */
  check(salt: Uint8Array): boolean {
    if (this.has(salt)) {
      this.replays++;
      return false;
    }
    this.add(salt);
    return true;
  }

  /** Salts held now. */
  get size(): number {
    return this.#current.size + this.#previous.size;
  }
}

/** A salt as a compact string key: its first 16 bytes as one-byte characters (salts are random). */
function key(salt: Uint8Array): string {
  return String.fromCharCode(...salt.subarray(0, 16));
}
