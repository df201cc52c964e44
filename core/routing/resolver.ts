/**
 * GOST's resolver: names are resolved by a list of nameservers tried in order — `udp://ip[:53]` (the default
 * scheme), `tcp://ip[:53]`, `tls://` or `dot://ip[:853]` (DNS over TLS), `https://host/dns-query` (DoH, RFC 8484
 * POST) — with a TTL cache, a per-query timeout, IPv4/IPv6 preference and fall-through to the next nameserver
 * when one fails. IP literals resolve to themselves. Differences from GOST, on purpose: DoT verifies the server
 * certificate (GOST skips verification) against `hostname`; a truncated UDP answer is retried over TCP; a
 * zero-TTL answer is not cached (GOST caches it for 60 s); a timed-out nameserver is not asked for the other
 * address family; the cache is bounded; DoT defaults to port 853 (GOST's exchanger uses 53); an unknown scheme or a
 * bad option is a ConfigError (GOST falls back to udp or ignores it). Not supported yet (refused in config): `clientIP`
 * (EDNS0 subnet) and `async`. A nameserver's `chain` is the `dial` the config builder passes (core/runtime/objects.ts).
 * One query and its answer are an exchange of core/routing/dns_exchange.ts, shared with the `dns` proxy handler.
 * @module
 */
import { ConfigError, DialError, errorMessage, TimeoutError } from "../errors.ts";
import { parseDuration } from "../metadata.ts";
import { type DnsDial, type DnsUpstream, exchangeDns, parseDnsUpstream } from "./dns_exchange.ts";
import { type DnsMessage, DnsType, encodeQuery, Rcode } from "./dns_wire.ts";
import type { HostTable } from "./hosts.ts";
import { canonicalIP } from "./matcher.ts";

export { DEFAULT_DNS_TIMEOUT_MS, type DnsDial } from "./dns_exchange.ts";

/**
 * One nameserver (the config's `resolvers[].nameservers[]` entry).
 * @example const ns: NameserverOptions = { addr: "tls://1.1.1.1", hostname: "one.one.one.one", timeout: "3s" };
 */
export interface NameserverOptions {
  /** `[udp|tcp|tls|dot|https]://host[:port][/path]`; no scheme means udp. `http://` DoH is for tests. */
  addr: string;
  /** `ipv4` (default) or `ipv6`: which family is asked first; the other is asked when the first is empty. */
  prefer?: string;
  /** `ipv4` or `ipv6`: only this family is asked. */
  only?: string;
  /** Cache time, ms or a Go duration: positive overrides the answer TTL, negative disables caching. */
  ttl?: number | string;
  /** Per-query timeout, ms or a Go duration (default 5 s). */
  timeout?: number | string;
  /** DoT: the TLS server name (SNI and certificate check); default the address host. */
  hostname?: string;
  /** DoT: extra trusted CA certificates (PEM). */
  caCerts?: string[];
}

/**
 * Resolver options (the config's `resolvers[]` entry).
 * @example const o: ResolverOptions = { name: "r0", nameservers: [{ addr: "udp://8.8.8.8:53", prefer: "ipv6" }] };
 */
export interface ResolverOptions {
  name?: string;
  nameservers: NameserverOptions[];
  /** Custom transport (a chain); default direct. DoH then goes as HTTP/1.1 over the conns it opens. */
  dial?: DnsDial;
  /** Most cached answers (default 1024). */
  cacheSize?: number;
  /** Clock in ms, for tests (default `Date.now`). */
  now?: () => number;
}

const DEFAULT_CACHE_TTL_MS = 60_000;

type Family = 4 | 6;
interface Server extends DnsUpstream {
  prefer: Family;
  only?: Family;
  ttlMs?: number;
}

function parseFamily(v: string | undefined, key: string, addr: string): Family | undefined {
  const s = (v ?? "").trim().toLowerCase();
  if (s === "") return undefined;
  if (s === "ipv4" || s === "ip4") return 4;
  if (s === "ipv6" || s === "ip6") return 6;
  throw new ConfigError(`Invalid "${key}" of nameserver "${addr}": "${v}" (expected ipv4 or ipv6)`);
}

function toMs(v: number | string | undefined, key: string): number | undefined {
  if (v === undefined || v === "") return undefined;
  return typeof v === "number" ? v : parseDuration(v, key);
}

function parseNameserver(o: NameserverOptions): Server {
  const up = parseDnsUpstream(o.addr, { timeout: o.timeout, hostname: o.hostname, caCerts: o.caCerts });
  const only = parseFamily(o.only, "only", o.addr);
  return {
    ...up,
    only,
    prefer: only ?? parseFamily(o.prefer, "prefer", o.addr) ?? 4,
    ttlMs: toMs(o.ttl, "ttl") || undefined,
  };
}

interface CacheEntry {
  ips: string[];
  expires: number;
}

/**
 * A resolver over a list of nameservers.
 * @example
 * const r = new Resolver({ nameservers: [{ addr: "udp://1.1.1.1:53", prefer: "ipv6" }, { addr: "tls://9.9.9.9" }] });
 * await r.resolve("ip", "example.com") // ["2606:2800:…", …]
 */
export class Resolver {
  /** The resolver's name, when it has one. */
  readonly name?: string;
  readonly #servers: Server[];
  readonly #dial?: DnsDial;
  readonly #now: () => number;
  readonly #cacheSize: number;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #inflight = new Map<string, Promise<string[]>>();

  /**
   * A resolver over `opts.nameservers`.
   * @throws {ConfigError} naming a nameserver address or option that does not parse
   */
  constructor(opts: ResolverOptions) {
    this.name = opts.name;
    this.#servers = opts.nameservers.filter((n) => n.addr.trim() !== "").map(parseNameserver);
    if (this.#servers.length === 0) throw new ConfigError(`Resolver "${opts.name ?? ""}" has no nameservers`);
    this.#dial = opts.dial;
    this.#now = opts.now ?? Date.now;
    this.#cacheSize = opts.cacheSize ?? 1024;
  }

  /**
   * Resolves a name to IPs: `ip4`/`ip6` ask only that family, `ip` asks each nameserver's preferred family and
   * the other one when it is empty. Nameservers are tried in order until one returns addresses.
   * @returns the IPs, canonical; empty when every nameserver answered without addresses
   * @throws {DialError} when every nameserver failed (timeout, refused, NXDOMAIN, SERVFAIL, malformed answer)
   * @example await resolver.resolve("ip4", "localhost.test")
   */
  async resolve(network: "ip" | "ip4" | "ip6", host: string): Promise<string[]> {
    const literal = canonicalIP(host.replace(/^\[(.*)\]$/, "$1"));
    if (literal) return [literal];
    let name = host.trim().toLowerCase().replace(/\.$/, "");
    if (name === "") throw new DialError(host, "Cannot resolve an empty host name");
    // deno-lint-ignore no-control-regex
    if (/[^\x00-\x7f]/.test(name)) {
      try {
        name = new URL(`http://${name}`).hostname; // IDNA: the name as it is asked and answered
      } catch (err) {
        throw new DialError(host, `Cannot resolve "${host}": not a valid host name`, { cause: err });
      }
    }
    const want: Family | undefined = network === "ip4" ? 4 : network === "ip6" ? 6 : undefined;
    const errors: string[] = [];
    let lastErr: unknown, answered = false;
    for (const s of this.#servers) {
      try {
        const ips = await this.#resolveWith(s, name, want);
        if (ips.length > 0) return ips;
        answered = true;
      } catch (err) {
        errors.push(`${s.url}: ${errorMessage(err)}`);
        lastErr = err;
      }
    }
    if (answered) return [];
    throw new DialError(host, `Cannot resolve "${host}": ${errors.join("; ")}`, { cause: lastErr });
  }

  async #resolveWith(s: Server, name: string, want: Family | undefined): Promise<string[]> {
    if (s.only && want && s.only !== want) return [];
    const first = s.only ?? want ?? s.prefer;
    const order: Family[] = s.only || want ? [first] : [first, first === 4 ? 6 : 4];
    let err: unknown;
    for (const fam of order) {
      try {
        const ips = await this.#query(s, name, fam === 4 ? DnsType.A : DnsType.AAAA);
        if (ips.length > 0) return [...ips]; // the cached array stays private
      } catch (e) {
        if (e instanceof TimeoutError) throw e;
        err ??= e;
      }
    }
    if (err) throw err;
    return [];
  }

  #query(s: Server, name: string, type: number): Promise<string[]> {
    const key = `${type}|${name}`;
    const useCache = s.ttlMs === undefined || s.ttlMs > 0;
    const hit = useCache ? this.#cache.get(key) : undefined;
    if (hit && hit.expires > this.#now()) return Promise.resolve(hit.ips);
    const flight = `${s.url}|${key}`;
    const pending = this.#inflight.get(flight);
    if (pending) return pending;
    const p = this.#lookup(s, name, type, useCache ? key : undefined).finally(() => this.#inflight.delete(flight));
    this.#inflight.set(flight, p);
    return p;
  }

  async #lookup(s: Server, name: string, type: number, cacheKey: string | undefined): Promise<string[]> {
    const m = await this.#exchange(s, name, type);
    if (m.rcode !== Rcode.NOERROR) {
      const code = Object.entries(Rcode).find(([, v]) => v === m.rcode)?.[0] ?? `rcode ${m.rcode}`;
      throw new DialError(name, `${code} for ${name}`);
    }
    const records = m.answers.filter((r) => r.type === type && r.address !== undefined);
    const ips = records.map((r) => r.address!);
    if (cacheKey) {
      let ttl = s.ttlMs;
      if (ttl === undefined) {
        const relevant = m.answers.filter((r) => r.type === type || r.type === DnsType.CNAME);
        const soa = m.authorities.find((r) => r.soa);
        ttl = relevant.length > 0
          ? Math.min(...relevant.map((r) => r.ttl)) * 1000
          : soa
          ? Math.min(soa.ttl, soa.soa!.minimum) * 1000
          : DEFAULT_CACHE_TTL_MS;
      }
      if (ttl > 0) this.#store(cacheKey, { ips, expires: this.#now() + ttl });
    }
    return ips;
  }

  #store(key: string, entry: CacheEntry) {
    this.#cache.delete(key);
    if (this.#cache.size >= this.#cacheSize) {
      const now = this.#now();
      for (const [k, v] of this.#cache) if (v.expires <= now) this.#cache.delete(k);
      if (this.#cache.size >= this.#cacheSize) this.#cache.delete(this.#cache.keys().next().value!);
    }
    this.#cache.set(key, entry);
  }

  async #exchange(s: Server, name: string, type: number): Promise<DnsMessage> {
    const query = encodeQuery(0, name, type);
    return (await exchangeDns(s, query, { dial: this.#dial })).message;
  }
}

/**
 * GOST's name lookup for a dial: an IP literal is itself; then the hosts table; then the resolver. Without a
 * resolver an empty result means "leave the name to `Deno.connect`" (the system resolver, with /etc/hosts).
 * @param network `tcp`/`udp`/`ip` for both families, or a `4`/`6`-suffixed network for one
 * @throws {DialError} when the resolver fails
 * @example await lookupHost(hosts, resolver, "tcp", "example.com") // ["10.0.0.1"], or [] → dial by name
 */
export async function lookupHost(
  hosts: HostTable | undefined,
  resolver: Resolver | undefined,
  network: string,
  host: string,
): Promise<string[]> {
  const literal = canonicalIP(host.replace(/^\[(.*)\]$/, "$1"));
  if (literal) return [literal];
  const net = network.endsWith("4") ? "ip4" : network.endsWith("6") ? "ip6" : "ip";
  const mapped = hosts?.lookup(net, host) ?? [];
  if (mapped.length > 0) return mapped;
  return resolver ? await resolver.resolve(net, host) : [];
}
