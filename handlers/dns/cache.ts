/**
 * The DNS proxy's answer cache: upstream answers kept as bytes, by question (name as on the wire, type, class, and
 * the DO and CD bits, which change the answer), for their TTL. Served from the cache, an answer's TTLs count down by the seconds
 * it has been kept (never below 1, as GOST serves them).
 *
 * How long an answer is kept: GOST's `ttl` when it is positive (every record's TTL is then that value, as GOST
 * writes it); else the smallest TTL of the answer records; a negative answer (NXDOMAIN, or NOERROR without answers)
 * for the TTL of its SOA record capped by the SOA's minimum field (RFC 2308 §5) and by {@link MAX_NEGATIVE_TTL};
 * positive answers at most {@link MAX_POSITIVE_TTL}. Not kept: a `ttl` below 0 (GOST: no cache), a TTL of 0, a
 * negative answer without SOA (RFC 2308 §5), a truncated answer, any rcode but NOERROR and NXDOMAIN (GOST keeps every
 * answer, a SERVFAIL for 60 s).
 *
 * Bounded by entries (`cacheSize`) and by bytes ({@link CACHE_MAX_BYTES}); the least recently used answer goes first.
 * @module
 */
import type { DnsMessage } from "../../core/routing/dns_wire.ts";
import { DnsType, Rcode } from "../../core/routing/dns_wire.ts";
import { type AnswerLayout, layoutOf, type ParsedQuery } from "./message.ts";

/** Default most answers kept (`cacheSize`). */
export const DEFAULT_CACHE_SIZE = 4096;
/** Most bytes of answers kept, whatever `cacheSize` says. */
export const CACHE_MAX_BYTES = 32 << 20;
/** The longest a negative answer is kept, in seconds (3 hours, BIND's max-ncache-ttl; RFC 2308 §5: 1 to 3 hours). */
export const MAX_NEGATIVE_TTL = 3 * 3600;
/** The longest a positive answer is kept, in seconds (a week, BIND's max-cache-ttl). */
export const MAX_POSITIVE_TTL = 7 * 24 * 3600;

/** One kept answer. */
interface Entry {
  /** The answer (its id is rewritten per client). */
  readonly bytes: Uint8Array;
  /** Where each record's TTL sits in `bytes` (OPT records excluded: their TTL field is flags). */
  readonly ttlAt: readonly number[];
  /** Each record's TTL when it was kept, in seconds. */
  readonly ttls: readonly number[];
  /** When it was kept (ms): TTLs count down from here. */
  storedAt: number;
  /** When it expires (ms). */
  expiresAt: number;
  /** How long it lives (ms), for GOST's async refresh. */
  readonly lifeMs: number;
  readonly layout: AnswerLayout;
}

/** A cache lookup: the answer (a copy, TTLs counted down), its layout, and whether it is still within its TTL. */
export interface CacheHit {
  readonly bytes: Uint8Array;
  readonly layout: AnswerLayout;
  readonly fresh: boolean;
}

/**
 * The cache key of a query: its question name as it is on the wire (ASCII letters in lower case: names that decode
 * alike but differ in their labels, `a.b` as one label or two, are different keys), type, class, DO and CD bits.
 * @example cacheKey(q) // "\x07example\x03com\x00|1|1|0|0"
 */
export function cacheKey(q: ParsedQuery): string {
  const b = q.questionBytes;
  let name = "";
  for (let i = 0; i < b.length - 4; i++) {
    const c = b[i];
    name += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c + 32 : c);
  }
  const { type, class: cls } = q.question;
  return `${name}|${type}|${cls}|${q.dnssecOk ? 1 : 0}|${q.checkingDisabled ? 1 : 0}`;
}

/**
 * How long an answer may be kept, in seconds (0: not at all), by the rules of the module doc.
 * @param overrideSec GOST's `ttl` in seconds: above 0 it is the answer's TTL, below 0 nothing is kept, 0 the answer's
 * @example cacheSeconds(nxdomainWithSoa, 0) // min(SOA TTL, SOA minimum, 10800)
 */
export function cacheSeconds(m: DnsMessage, overrideSec: number): number {
  if (overrideSec < 0 || m.tc || (m.rcode !== Rcode.NOERROR && m.rcode !== Rcode.NXDOMAIN)) return 0;
  if (overrideSec > 0) return overrideSec;
  if (m.rcode === Rcode.NOERROR && m.answers.length > 0) {
    return Math.min(MAX_POSITIVE_TTL, ...m.answers.map((r) => r.ttl));
  }
  const soa = m.authorities.find((r) => r.type === DnsType.SOA && r.soa);
  if (!soa) return 0;
  return Math.min(MAX_NEGATIVE_TTL, soa.ttl, soa.soa!.minimum);
}

/** Options of {@link DnsCache}. */
export interface DnsCacheOptions {
  /** Most answers kept. */
  maxEntries: number;
  /** Most bytes kept (default {@link CACHE_MAX_BYTES}). */
  maxBytes?: number;
  /** The clock in ms (default `Date.now`), for tests. */
  now?: () => number;
}

/**
 * The answer cache.
 * @example
 * const c = new DnsCache({ maxEntries: 1024 });
 * c.put(key, reply.bytes, reply.message, 0);
 * c.get(key)?.bytes // the answer, its TTLs counted down
 */
export class DnsCache {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #now: () => number;
  #bytes = 0;

  constructor(opts: DnsCacheOptions) {
    this.#maxEntries = opts.maxEntries;
    this.#maxBytes = opts.maxBytes ?? CACHE_MAX_BYTES;
    this.#now = opts.now ?? Date.now;
  }

  /** Answers kept now. */
  get size(): number {
    return this.#entries.size;
  }

  /** Bytes kept now. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Keeps an upstream answer for {@link cacheSeconds}, its TTLs as they are kept: every one GOST's `ttl` when it is
   * set, a negative answer's SOA the negative TTL (RFC 2308 §5), none over {@link MAX_POSITIVE_TTL}.
   * @returns the seconds it is kept for and its bytes as kept (a copy), or null when it is not kept
   */
  put(
    key: string,
    bytes: Uint8Array,
    m: DnsMessage,
    overrideSec: number,
  ): { seconds: number; bytes: Uint8Array } | null {
    const seconds = cacheSeconds(m, overrideSec);
    if (seconds <= 0 || this.#maxEntries <= 0 || bytes.length > this.#maxBytes) return null;
    const copy = bytes.slice();
    const ttlAt: number[] = [], ttls: number[] = [];
    const view = new DataView(copy.buffer);
    const negative = m.rcode !== Rcode.NOERROR || m.answers.length === 0;
    for (const r of [...m.answers, ...m.authorities, ...m.additionals]) {
      if (r.type === DnsType.OPT || !r.span) continue;
      ttlAt.push(r.span.ttl);
      const ttl = overrideSec > 0
        ? overrideSec
        : negative && r.type === DnsType.SOA
        ? seconds
        : Math.min(r.ttl, MAX_POSITIVE_TTL);
      ttls.push(ttl);
      view.setUint32(r.span.ttl, ttl);
    }
    this.#delete(key);
    const now = this.#now();
    this.#entries.set(key, {
      bytes: copy,
      ttlAt,
      ttls,
      storedAt: now,
      expiresAt: now + seconds * 1000,
      lifeMs: seconds * 1000,
      layout: layoutOf(m),
    });
    this.#bytes += copy.length;
    this.#evict(now);
    return { seconds, bytes: copy };
  }

  /**
   * The answer kept for `key`, its TTLs counted down (the client's id and spelling are forClient's, message.ts). An
   * expired answer is returned with `fresh: false` when `stale` (GOST's `async`), else forgotten.
   */
  get(key: string, stale = false): CacheHit | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    const now = this.#now();
    const fresh = now < e.expiresAt;
    if (!fresh && !stale) {
      this.#delete(key);
      return undefined;
    }
    // least recently used goes first: a hit moves to the back
    this.#entries.delete(key);
    this.#entries.set(key, e);
    const out = e.bytes.slice();
    const elapsed = Math.floor((now - e.storedAt) / 1000);
    const view = new DataView(out.buffer);
    for (let i = 0; i < e.ttlAt.length; i++) view.setUint32(e.ttlAt[i], Math.max(1, e.ttls[i] - elapsed));
    return { bytes: out, layout: e.layout, fresh };
  }

  /** GOST's async refresh: an expired answer served meanwhile counts as kept anew, for its lifetime. */
  renew(key: string): void {
    const e = this.#entries.get(key);
    if (!e) return;
    e.storedAt = this.#now();
    e.expiresAt = e.storedAt + e.lifeMs;
  }

  /** Forgets everything. */
  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  #delete(key: string): void {
    const e = this.#entries.get(key);
    if (!e) return;
    this.#entries.delete(key);
    this.#bytes -= e.bytes.length;
  }

  /** Expired answers at the front go first, then the least recently used, until within both bounds. */
  #evict(now: number): void {
    for (const [k, e] of this.#entries) {
      if (this.#entries.size <= this.#maxEntries && this.#bytes <= this.#maxBytes && now < e.expiresAt) break;
      this.#delete(k);
    }
  }
}
