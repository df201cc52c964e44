/**
 * The DNS proxy's cache (handlers/dns/cache.ts) with a clock of the test's: how long each kind of answer is kept
 * (answer TTL, GOST's `ttl`, RFC 2308 negative caching and its cap, nothing for SERVFAIL or a zero TTL), TTLs counted
 * down, GOST's async stale answers, the key by wire name, and the entry and byte bounds.
 */
import { deepEqual, equal, notEqual, ok } from "node:assert/strict";
import {
  CLASS_IN,
  decodeMessage,
  type DnsMessage,
  type DnsRecord,
  DnsType,
  encodeMessage,
  encodeQuery,
  Rcode,
} from "../../../core/routing/dns_wire.ts";
import { cacheKey, cacheSeconds, DnsCache, MAX_NEGATIVE_TTL } from "../../../handlers/dns/cache.ts";
import { parseQuery } from "../../../handlers/dns/message.ts";

function answer(o: { rcode?: number; answers?: DnsRecord[]; authorities?: DnsRecord[]; tc?: boolean }): Uint8Array {
  return encodeMessage({
    id: 1,
    qr: true,
    opcode: 0,
    aa: false,
    tc: o.tc ?? false,
    rd: true,
    ra: true,
    rcode: o.rcode ?? Rcode.NOERROR,
    questions: [{ name: "a.test", type: DnsType.A, class: CLASS_IN }],
    answers: o.answers ?? [],
    authorities: o.authorities ?? [],
    additionals: [],
  });
}
const a = (ttl: number, address = "10.0.0.1"): DnsRecord => ({
  name: "a.test",
  type: DnsType.A,
  class: CLASS_IN,
  ttl,
  address,
});
const soa = (ttl: number, minimum: number): DnsRecord => ({
  name: "test",
  type: DnsType.SOA,
  class: CLASS_IN,
  ttl,
  soa: { mname: "ns.test", rname: "admin.test", serial: 1, refresh: 60, retry: 60, expire: 60, minimum },
});
const msg = (b: Uint8Array): DnsMessage => decodeMessage(b);

Deno.test("dns cache: how long each answer is kept", () => {
  equal(cacheSeconds(msg(answer({ answers: [a(300), a(60, "10.0.0.2")] })), 0), 60, "the smallest answer TTL");
  equal(cacheSeconds(msg(answer({ answers: [a(300)] })), 10), 10, "GOST's ttl overrides");
  equal(cacheSeconds(msg(answer({ answers: [a(300)] })), -1), 0, "a negative ttl: no cache");
  equal(cacheSeconds(msg(answer({ answers: [a(0)] })), 0), 0, "TTL 0 is not kept");
  equal(cacheSeconds(msg(answer({ rcode: Rcode.NXDOMAIN, authorities: [soa(600, 30)] })), 0), 30, "RFC 2308 minimum");
  equal(cacheSeconds(msg(answer({ authorities: [soa(20, 300)] })), 0), 20, "NODATA: the SOA's TTL");
  equal(cacheSeconds(msg(answer({ rcode: Rcode.NXDOMAIN, authorities: [soa(86400, 86400)] })), 0), MAX_NEGATIVE_TTL);
  equal(cacheSeconds(msg(answer({ rcode: Rcode.NXDOMAIN })), 0), 0, "a negative answer without SOA is not kept");
  equal(cacheSeconds(msg(answer({ rcode: Rcode.SERVFAIL })), 30), 0, "SERVFAIL is never kept");
  equal(cacheSeconds(msg(answer({ tc: true, answers: [a(60)] })), 0), 0, "a truncated answer is not kept");
});

Deno.test("dns cache: TTLs count down, an expired answer goes (or stays stale with async)", () => {
  let now = 1_000_000;
  const c = new DnsCache({ maxEntries: 10, now: () => now });
  const q = parseQuery(encodeQuery(5, "a.test", DnsType.A));
  const key = cacheKey(q);
  const bytes = answer({ answers: [a(10)], authorities: [soa(100, 100)] });
  equal(c.put(key, bytes, msg(bytes), 0)?.seconds, 10);
  const ttls = () => {
    const hit = c.get(key, true)!;
    const m = decodeMessage(hit.bytes);
    return [hit.fresh, m.answers[0].ttl, m.authorities[0].ttl];
  };
  deepEqual(ttls(), [true, 10, 100]);
  now += 3_500;
  deepEqual(ttls(), [true, 7, 97], "every record counts down by the whole seconds kept");
  now += 7_000;
  deepEqual(ttls(), [false, 1, 90], "expired: stale with async, never below 1");
  c.renew(key);
  deepEqual(ttls(), [true, 10, 100], "async: renewed for its lifetime");
  now += 10_000;
  equal(c.get(key), undefined, "without async an expired answer is forgotten");
  equal(c.size, 0);
  // GOST's ttl rewrites every TTL
  c.put(key, bytes, msg(bytes), 42);
  deepEqual(decodeMessage(c.get(key)!.bytes).answers.map((r) => r.ttl), [42]);
});

Deno.test("dns cache: the key is the wire name (case folded), type, class, DO, CD", () => {
  const k = (b: Uint8Array) => cacheKey(parseQuery(b));
  equal(k(encodeQuery(1, "A.TEST", DnsType.A)), k(encodeQuery(2, "a.test", DnsType.A)));
  notEqual(k(encodeQuery(1, "a.test", DnsType.A)), k(encodeQuery(1, "a.test", DnsType.AAAA)));
  // one label "a.test" (a dot inside) is another name than the labels a, test
  const oneLabel = new Uint8Array([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 6, 97, 46, 116, 101, 115, 116, 0, 0, 1, 0, 1]);
  equal(parseQuery(oneLabel).question.name, "a.test");
  notEqual(k(oneLabel), k(encodeQuery(1, "a.test", DnsType.A)));
});

Deno.test("dns cache: bounded by entries and by bytes, least recently used first", () => {
  const c = new DnsCache({ maxEntries: 3, maxBytes: 10_000 });
  const bytes = answer({ answers: [a(60)] });
  for (const n of ["k1", "k2", "k3"]) c.put(n, bytes, msg(bytes), 0);
  ok(c.get("k1"), "k1 used: now the most recent");
  c.put("k4", bytes, msg(bytes), 0);
  equal(c.size, 3);
  equal(c.get("k2"), undefined, "the least recently used went");
  ok(c.get("k1") && c.get("k3") && c.get("k4"));
  const small = new DnsCache({ maxEntries: 1000, maxBytes: bytes.length * 2 });
  for (let i = 0; i < 10; i++) small.put(`k${i}`, bytes, msg(bytes), 0);
  equal(small.size, 2);
  ok(small.bytes <= bytes.length * 2);
  equal(new DnsCache({ maxEntries: 0 }).put("k", bytes, msg(bytes), 0), null, "cacheSize 0: nothing kept");
  // a negative answer's SOA is kept with the negative TTL
  const nx = answer({ rcode: Rcode.NXDOMAIN, authorities: [soa(600, 30)] });
  equal(decodeMessage(c.put("nx", nx, msg(nx), 0)!.bytes).authorities[0].ttl, 30);
});
