/**
 * GOST's DNS proxy, the `dns` handler, on the `dns` listener (listeners/dns/: UDP, TCP, DNS over TLS, DNS over
 * HTTPS): `-L dns://:10053?dns=udp://1.1.1.1,tls://1.1.1.1:853`, or the nameservers as targets,
 * `-L dns://:10053/1.1.1.1,tls://1.1.1.1:853` (the forwarder's nodes, picked by its selector). Each query is answered
 * from the service's `hosts` (A/AAAA, TTL 3600), empty when its name is bypassed (the service `bypass`, class IN,
 * GOST's answer: NOERROR, no records), from the cache, else by an upstream nameserver: `udp://`, `tcp://`, `tls://`
 * (DoT) or `https://` (DoH), through the handler's chain when it has one. The bytes are in docs/wire.md, "DNS proxy".
 *
 * | key | default | meaning |
 * |---|---|---|
 * | `dns` | /etc/resolv.conf's nameservers, else `udp://127.0.0.1:53` | upstream nameservers `[udp\|tcp\|tls\|dot\|https]://host[:port][/path]`, in order (a list, or comma-separated) |
 * | `ttl` | `0` | cache time of every answer; `0`: the answer's own TTLs (negative answers: RFC 2308); below 0: no cache |
 * | `timeout` | `5s` | deadline of one upstream exchange; a failed or timed-out nameserver is marked failed and the next asked |
 * | `clientIP` | none | send this address as the EDNS0 client subnet (RFC 7871; an IPv4 address as /24, IPv6 as /128, as GOST) |
 * | `async` | `false` | an expired answer is served (TTL 1) and counts as fresh while it is asked again in the background |
 * | `bufferSize` | `4096` | the largest query taken (bytes); a longer one gets FORMERR |
 * | `readTimeout` | `0` (none) | deadline of writing one reply |
 * | `cacheSize` | `4096` | most answers cached (and at most 32 MiB of them); `0`: no cache — ours, not GOST's |
 * | `concurrency` | `256` | upstream exchanges in flight at once; a query beyond gets SERVFAIL — ours, not GOST's |
 *
 * The service's stats (`enableStats`) count `cacheHits` and `upstreamQueries` besides GOST's fields; the metrics
 * have them as `gost_service_dns_cache_hits_total` and `gost_service_dns_upstream_queries_total`. A cache hit is
 * logged at debug (`message ID (cached): NAME TYPE`, GOST's line).
 *
 * Differences from GOST, on purpose: answers are cached by name, type, class and the DO and CD bits (GOST: name,
 * type, class) for the answer's TTL with RFC 2308's negative caching and caps (handlers/dns/cache.ts; GOST keeps
 * every answer, SERVFAIL included, zero TTLs for 60 s, without bound); the same question asked while its exchange runs
 * waits for it; a failed nameserver is followed by the next (GOST asks one) and the client gets SERVFAIL (GOST: no
 * answer); the upstream query gets an id of its own; the EDNS0 client subnet goes into the query's OPT record (GOST
 * adds a second one); an upstream answer's DNS cookie (RFC 7873) is not passed on (a cached answer would carry
 * another client's cookie, which a cookie-aware client must drop); a client without EDNS0 gets no OPT record, and a
 * UDP client an answer cut to its size with TC set; DoT and DoH upstreams verify their certificate (GOST skips
 * verification). GOST's per-node `bypass` of forwarder nodes is refused by the config (README, "Refused settings").
 * @module
 */
import type { HandlerFactory } from "../../core/contracts.ts";
import type { Registries } from "../../core/registries.ts";

/** Registers the `dns` handler. */
export function register(reg: Registries): void {
  const handler: HandlerFactory = async (opts) => new (await import("./handler.ts")).DnsHandler(opts);
  reg.handlers.register("dns", handler, { keepsTargets: true, ownBypass: true, defaultListener: "dns" });
}
