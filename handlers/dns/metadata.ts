/**
 * The `dns` handler's metadata (handlers/dns/mod.ts has the table), read once at `init()`.
 * @module
 */
import { ConfigError } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import { type IP, parseIP, unmapIP } from "../../core/routing/matcher.ts";
import { DEFAULT_DNS_TIMEOUT_MS } from "../../core/routing/dns_exchange.ts";
import { DEFAULT_CACHE_SIZE } from "./cache.ts";

/** GOST's default `bufferSize`: the largest query taken. */
export const DEFAULT_BUFFER_SIZE = 4096;
/** Upstream exchanges in flight at once (`concurrency`) before more queries are answered SERVFAIL. */
export const DEFAULT_CONCURRENCY = 256;

/** The handler's settings. */
export interface DnsMetadata {
  /** GOST's `dns`: the upstream nameservers, in order. */
  dns: string[];
  /** GOST's `ttl` in seconds: above 0 replaces the answers' TTLs, below 0 turns the cache off, 0 keeps them. */
  ttlSec: number;
  /** Deadline of one upstream exchange, ms. */
  timeoutMs: number;
  /** GOST's `clientIP`: sent as an EDNS0 client subnet. */
  clientIP?: IP;
  /** The largest query taken, bytes; a longer one gets FORMERR. */
  bufferSize: number;
  /** GOST's `async`: an expired answer is served while it is asked again in the background. */
  async: boolean;
  /** GOST's `readTimeout`: deadline of writing a reply, ms (0: none). */
  readTimeoutMs: number;
  /** Most answers cached (0: no cache). */
  cacheSize: number;
  /** Upstream exchanges in flight at once. */
  concurrency: number;
}

/**
 * Reads the handler's keys.
 * @throws {ConfigError} naming the key on a value that does not parse
 * @example parseDnsMetadata(new Metadata({ dns: ["udp://1.1.1.1"], ttl: "60s" })).ttlSec // 60
 */
export function parseDnsMetadata(md: Metadata): DnsMetadata {
  const ttlMs = md.duration("ttl", 0);
  const timeoutMs = md.duration("timeout", 0);
  const ip = md.string("clientIP").trim();
  let clientIP: IP | undefined;
  if (ip) {
    const parsed = parseIP(ip.replace(/^\[(.*)\]$/, "$1"));
    if (!parsed) throw new ConfigError(`Cannot parse "clientIP" as an IP address: "${ip}"`);
    clientIP = unmapIP(parsed);
  }
  return {
    dns: md.strings("dns").map((s) => s.trim()).filter(Boolean),
    ttlSec: ttlMs > 0 ? Math.max(1, Math.round(ttlMs / 1000)) : ttlMs < 0 ? -1 : 0,
    timeoutMs: timeoutMs > 0 ? timeoutMs : DEFAULT_DNS_TIMEOUT_MS,
    clientIP,
    bufferSize: md.int("bufferSize", 0, 0, 65_535) || DEFAULT_BUFFER_SIZE,
    async: md.bool("async"),
    readTimeoutMs: Math.max(0, md.duration("readTimeout", 0)),
    cacheSize: md.int("cacheSize", DEFAULT_CACHE_SIZE, 0, 1_000_000),
    concurrency: md.int("concurrency", DEFAULT_CONCURRENCY, 1, 100_000),
  };
}
