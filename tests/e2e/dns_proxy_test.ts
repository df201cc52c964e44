/**
 * GOST's DNS proxy in a real gost.ts process, queried by real clients: dig over UDP, TCP (`+tcp`), DNS over TLS
 * (`+tls`) and DNS over HTTPS (`+https`, HTTP/2), curl's `--doh-url` and plain curl POST/GET over HTTP/1.1; a fake
 * upstream nameserver (tests/helpers/fake_dns.ts) counts what reaches it. Shown: the second query is a cache hit
 * (the upstream is not asked again; `cacheHits` in the service's stats through the Web API, the metrics counter, the
 * debug line); TTLs count down and an expired answer is asked again (waited for, no fixed sleep); negative caching;
 * hosts answers; a bypassed name's empty answer; the EDNS0 client subnet of `clientIP` at the upstream; the upstream
 * through a chain (a relay server in another process); hostile packets over UDP and TCP answered FORMERR or dropped,
 * logged, while the process keeps serving.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { decodeMessage, DnsType, encodeQuery } from "../../core/routing/dns_wire.ts";
import { FakeDns } from "../helpers/fake_dns.ts";
import { freePort, freeUdpPort, type GostProcess, startGost } from "../helpers/gost.ts";
import { curl, has, run } from "../helpers/run.ts";
import { httpOrigin } from "../helpers/servers.ts";
import { makePki } from "../helpers/tls_fixtures.ts";
import { until } from "../helpers/wait.ts";

const RECORDS = {
  "a.test": { a: ["10.0.0.1"], aaaa: ["2001:db8::1"], ttl: 300 },
  "short.test": { a: ["10.0.0.2"], ttl: 2 },
  "web.test": { a: ["127.0.0.1"], ttl: 300 },
  "tcp.test": { a: ["10.0.0.3"], ttl: 300 },
  "tls.test": { a: ["10.0.0.4"], ttl: 300 },
  "doh.test": { a: ["10.0.0.5"], ttl: 300 },
  "h1.test": { a: ["10.0.0.6"], ttl: 300 },
  "ecs.test": { a: ["10.0.0.7"], ttl: 300 },
  "chain.test": { a: ["10.0.0.8"], ttl: 0 },
};

async function dig(port: number, ...args: string[]): Promise<string> {
  const r = await run("dig", ["@127.0.0.1", "-p", String(port), "+tries=1", "+time=3", ...args]);
  return r.stdout + r.stderr;
}

/** The records dig printed for `name` and `type`: [ttl, data] pairs. */
function records(out: string, name: string, type = "A"): [number, string][] {
  const re = new RegExp(`^${name.replace(/\./g, "\\.")}\\.\\s+(\\d+)\\s+IN\\s+${type}\\s+(\\S+)$`, "gm");
  return [...out.matchAll(re)].map((m) => [Number(m[1]), m[2]]);
}

/** The service's stats through the Web API. */
async function stats(api: number, service: string): Promise<Record<string, number>> {
  const cfg = JSON.parse((await curl(`http://127.0.0.1:${api}/config`)).stdout);
  return cfg.services.find((s: { name: string }) => s.name === service).status.stats;
}

Deno.test("dns proxy: dig over udp, tcp, tls and https; cache hits in stats and metrics; TTLs count down and expire", async (t) => {
  if (!has("dig")) return console.log("skipped: dig is not installed");
  await using up = FakeDns.start({ records: RECORDS });
  const origin = httpOrigin();
  const [udp, tcp, tls, https, api, metrics] = [
    freeUdpPort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ];
  const ns = `udp://127.0.0.1:${up.port}`;
  await using gost = await startGost([
    "-L",
    `dns://127.0.0.1:${udp}?dns=${ns}&enableStats=true&hosts=hosted.test:10.9.9.9,hosted.test:2001:db8::9` +
    `&bypass=blocked.test`,
    "-L",
    `dns://127.0.0.1:${tcp}?mode=tcp&dns=${ns}`,
    "-L",
    `dns://127.0.0.1:${tls}?mode=tls&dns=tcp://127.0.0.1:${up.port}`,
    "-L",
    `dns://127.0.0.1:${https}?mode=https&dns=${ns}&enableStats=true`,
    "-api",
    `127.0.0.1:${api}`,
    "-metrics",
    `127.0.0.1:${metrics}`,
    "-D",
  ], { listening: 4 });
  try {
    await t.step("udp: the second query is a cache hit, counted in stats and metrics, logged at debug", async () => {
      const first = await dig(udp, "a.test", "A");
      match(first, /status: NOERROR/);
      deepEqual(records(first, "a.test"), [[300, "10.0.0.1"]]);
      equal(up.count("a.test", DnsType.A), 1);
      const second = await dig(udp, "a.test", "A");
      equal(records(second, "a.test")[0]?.[1], "10.0.0.1");
      equal(up.count("a.test", DnsType.A), 1, "the upstream was not asked again");
      const s = await stats(api, "service-0");
      equal(s.cacheHits, 1);
      equal(s.upstreamQueries, 1);
      equal(s.totalConns, 2, "each query is one conn, as in GOST");
      await until(() => gost.lines.some((l) => /message \d+ \(cached\): a\.test\. A/.test(l)), "the cache-hit line");
      const text = (await curl(`http://127.0.0.1:${metrics}/metrics`)).stdout;
      match(text, /gost_service_dns_cache_hits_total\{host="[^"]*",service="service-0"\} 1\n/);
      match(text, /gost_service_dns_upstream_queries_total\{host="[^"]*",service="service-0"\} 1\n/);
      const aaaa = await dig(udp, "a.test", "AAAA");
      deepEqual(records(aaaa, "a.test", "AAAA"), [[300, "2001:db8::1"]]);
    });

    await t.step("the TTL counts down in cached answers; once it expires the upstream is asked again", async () => {
      const ttls = new Set<number>();
      await until(
        async () => {
          const out = await dig(udp, "short.test", "A");
          for (const [ttl] of records(out, "short.test")) ttls.add(ttl);
          return up.count("short.test", DnsType.A) >= 2;
        },
        "the upstream to be asked again after the 2 s TTL",
        10_000,
      );
      ok(ttls.has(2) && ttls.has(1), `TTLs seen: ${[...ttls]}`);
      equal(up.count("short.test", DnsType.A), 2);
    });

    await t.step(
      "negative caching: NODATA is kept for its SOA's TTL (RFC 2308), NXDOMAIN without SOA is not",
      async () => {
        for (let i = 0; i < 2; i++) {
          const out = await dig(udp, "a.test", "MX");
          match(out, /status: NOERROR/);
          match(out, /ANSWER: 0/);
          match(out, /test\.\s+(30|29)\s+IN\s+SOA/, "the SOA's TTL is the negative TTL: min(TTL 300, minimum 30)");
        }
        equal(up.count("a.test", DnsType.MX), 1);
        for (let i = 0; i < 2; i++) match(await dig(udp, "missing.test", "A"), /status: NXDOMAIN/);
        equal(up.count("missing.test", DnsType.A), 2);
      },
    );

    await t.step("hosts: A and AAAA from the service's hosts, TTL 3600, no upstream query", async () => {
      deepEqual(records(await dig(udp, "hosted.test", "A"), "hosted.test"), [[3600, "10.9.9.9"]]);
      deepEqual(records(await dig(udp, "hosted.test", "AAAA"), "hosted.test", "AAAA"), [[3600, "2001:db8::9"]]);
      equal(up.count("hosted.test"), 0);
    });

    await t.step("bypass: a bypassed name gets GOST's empty NOERROR answer", async () => {
      const out = await dig(udp, "blocked.test", "A");
      match(out, /status: NOERROR/);
      match(out, /ANSWER: 0/);
      equal(up.count("blocked.test"), 0);
    });

    await t.step("tcp: dig +tcp", async () => {
      const out = await dig(tcp, "+tcp", "tcp.test", "A");
      match(out, /\(TCP\)/);
      deepEqual(records(out, "tcp.test"), [[300, "10.0.0.3"]]);
    });

    await t.step("tls: dig +tls (DNS over TLS), the upstream over TCP", async () => {
      const out = await dig(tls, "+tls", "tls.test", "A");
      match(out, /\(TLS\)/);
      deepEqual(records(out, "tls.test"), [[300, "10.0.0.4"]]);
      equal(up.count("tls.test", DnsType.A, "tcp"), 1);
    });

    await t.step("https: dig +https (HTTP/2), curl --doh-url, and HTTP/1.1 POST and GET", async () => {
      const out = await dig(https, "+https", "doh.test", "A");
      match(out, /\(HTTPS\)/);
      deepEqual(records(out, "doh.test"), [[300, "10.0.0.5"]]);
      // curl resolves web.test through the DoH server, then fetches from the origin it names
      const page = await curl(
        "--doh-url",
        `https://127.0.0.1:${https}/dns-query`,
        "--doh-insecure",
        `http://web.test:${origin.port}/x`,
      );
      equal(page.stdout, "hello /x", page.stderr);
      const query = encodeQuery(0x0101, "h1.test", DnsType.A);
      const file = await Deno.makeTempFile();
      await Deno.writeFile(file, query);
      const post = await run("curl", [
        "-sk",
        "--http1.1",
        "-H",
        "content-type: application/dns-message",
        "--data-binary",
        `@${file}`,
        `https://127.0.0.1:${https}/any/path`,
      ]);
      const m = decodeMessage(post.bytes);
      deepEqual([m.id, m.answers[0]?.address], [0x0101, "10.0.0.6"]);
      const b64 = btoa(String.fromCharCode(...query)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
      const get = await run("curl", ["-sk", "--http1.1", `https://127.0.0.1:${https}/dns-query?dns=${b64}`]);
      equal(decodeMessage(get.bytes).answers[0]?.address, "10.0.0.6");
      equal(up.count("h1.test", DnsType.A), 1, "the GET was a cache hit");
      const refused = await curl(
        "-k",
        "--http1.1",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-X",
        "PUT",
        `https://127.0.0.1:${https}/`,
      );
      equal(refused.stdout, "405");
      const wrongType = await curl(
        "-k",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-d",
        "x",
        `https://127.0.0.1:${https}/`,
      );
      equal(wrongType.stdout, "415");
      await Deno.remove(file);
      ok((await stats(api, "service-3")).cacheHits >= 1);
    });
  } finally {
    await origin.close();
  }
});

Deno.test("dns proxy: clientIP reaches the upstream as GOST's EDNS0 client subnet", async () => {
  if (!has("dig")) return console.log("skipped: dig is not installed");
  await using up = FakeDns.start({ records: RECORDS });
  const port = freeUdpPort();
  await using _gost = await startGost([
    "-L",
    `dns://127.0.0.1:${port}?dns=udp://127.0.0.1:${up.port}&clientIP=1.2.3.4`,
  ]);
  const out = await dig(port, "ecs.test", "A");
  deepEqual(records(out, "ecs.test"), [[300, "10.0.0.7"]]);
  const q = decodeMessage(up.queries.find((x) => x.name === "ecs.test")!.raw);
  const opts = q.additionals.filter((r) => r.type === DnsType.OPT);
  equal(opts.length, 1, "one OPT record: dig's, with the subnet added");
  const data = opts[0].data!;
  // dig's cookie option stays; GOST's subnet option follows it: code 8, family 1, /24, 1.2.3
  deepEqual([...data.subarray(data.length - 11)], [0, 8, 0, 7, 0, 1, 24, 0, 1, 2, 3]);
});

Deno.test("dns proxy: the upstream is reached through the handler's chain (a relay server in another process)", async () => {
  if (!has("dig")) return console.log("skipped: dig is not installed");
  await using up = FakeDns.start({ records: RECORDS });
  const [port, hop] = [freeUdpPort(), freePort()];
  const startHop = () => startGost(["-L", `relay://127.0.0.1:${hop}`, "-D"]);
  let hopProc: GostProcess = await startHop();
  await using gost = await startGost([
    "-L",
    `dns://127.0.0.1:${port}?dns=udp://127.0.0.1:${up.port}`,
    "-F",
    `relay://127.0.0.1:${hop}`,
  ]);
  try {
    deepEqual(records(await dig(port, "chain.test", "A"), "chain.test"), [[0, "10.0.0.8"]]);
    await until(() => hopProc.lines.some((l) => l.includes(`127.0.0.1:${up.port}`)), "the relay to log the upstream");
    equal((await hopProc.stop()).code, 0);
    const asked = up.queries.length;
    match(await dig(port, "chain.test", "A"), /status: SERVFAIL/, "no way to the upstream without the chain");
    equal(up.queries.length, asked, "nothing reached the upstream directly");
    await until(() => gost.lines.some((l) => l.includes("exchange failed")), "the failed exchange's log line");
    hopProc = await startHop();
    deepEqual(records(await dig(port, "chain.test", "A"), "chain.test"), [[0, "10.0.0.8"]], "TTL 0: not cached");
  } finally {
    await hopProc.stop();
  }
});

/** A query header (id 0x4242, RD) with the given counts and body. */
function packet(body: number[], counts = [1, 0, 0, 0]): Uint8Array {
  const h = [0x42, 0x42, 0x01, 0x00];
  for (const c of counts) h.push(c >> 8, c & 0xff);
  return new Uint8Array([...h, ...body]);
}

Deno.test("dns proxy: hostile packets are answered FORMERR or dropped, logged, and other clients are served", async () => {
  if (!has("dig")) return console.log("skipped: dig is not installed");
  await using up = FakeDns.start({ records: RECORDS });
  const [udp, tcp] = [freeUdpPort(), freePort()];
  const ns = `udp://127.0.0.1:${up.port}`;
  await using gost = await startGost([
    "-L",
    `dns://127.0.0.1:${udp}?dns=${ns}`,
    "-L",
    `dns://127.0.0.1:${tcp}?mode=tcp&dns=${ns}&readTimeout=1s`,
  ], { listening: 2 });
  const sock = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const server: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port: udp };
  const label = (n: number) => [n, ...new Array(n).fill(0x61)];
  const hostile: [string, Uint8Array][] = [
    ["a compression-pointer loop", packet([0xc0, 0x0c, 0, 1, 0, 1])],
    ["a 64-byte label", packet([...label(64), 0, 0, 1, 0, 1])],
    [
      "a name over 255 bytes",
      packet([...label(63), ...label(63), ...label(63), ...label(63), ...label(63), 0, 0, 1, 0, 1]),
    ],
    ["absurd counts", packet([1, 0x61, 0, 0, 1, 0, 1], [1, 0xffff, 0xffff, 0xffff])],
    ["65535 questions", packet([1, 0x61, 0, 0, 1, 0, 1], [0xffff, 0, 0, 0])],
    ["a cut question", packet([5, 0x61, 0x62])],
  ];
  try {
    for (const [what, p] of hostile) {
      await sock.send(p, server);
      const [reply] = await sock.receive();
      const m = decodeMessage(reply);
      deepEqual([m.id, m.qr, m.rcode, m.questions.length, m.answers.length], [0x4242, true, 1, 0, 0], what);
    }
    // a truncated header gets no answer: the next reply is the real query's
    await sock.send(new Uint8Array([0x42, 0x42, 1]), server);
    await sock.send(encodeQuery(0x0707, "a.test", DnsType.A), server);
    const [good] = await sock.receive();
    deepEqual([decodeMessage(good).id, decodeMessage(good).answers[0]?.address], [0x0707, "10.0.0.1"]);
    await until(() => gost.lines.filter((l) => l.includes("answered FORMERR")).length >= 6, "a log line per FORMERR");
    await until(() => gost.lines.some((l) => l.includes("shorter than a DNS header")), "the dropped runt's line");
    ok(gost.lines.some((l) => l.includes("compression pointer does not point back")));
    ok(gost.lines.some((l) => l.includes("label type 0x40")));

    // TCP: a length of 65535 and nothing after it holds one conn until readTimeout; others are served meanwhile
    const stuck = await Deno.connect({ hostname: "127.0.0.1", port: tcp });
    await stuck.write(new Uint8Array([0xff, 0xff]));
    deepEqual(records(await dig(tcp, "+tcp", "a.test", "A"), "a.test"), [[300, "10.0.0.1"]]);
    equal(await stuck.read(new Uint8Array(16)), null, "closed by the server after readTimeout");
    stuck.close();
    await until(() => gost.lines.some((l) => l.includes("no complete 65535-byte message within 1000 ms")), "its line");
    // and the process still answers over UDP
    deepEqual(records(await dig(udp, "a.test", "AAAA"), "a.test", "AAAA"), [[300, "2001:db8::1"]]);
  } finally {
    sock.close();
  }
});

Deno.test("dns proxy: DoT and DoH upstreams, directly and through a chain, verifying their certificate", async () => {
  if (!has("dig")) return console.log("skipped: dig is not installed");
  await using up = FakeDns.start({ records: RECORDS });
  await using pki = await makePki();
  const [dot, doh, hop] = [freePort(), freePort(), freePort()];
  const tlsKeys = `certFile=${pki.serverCert}&keyFile=${pki.serverKey}`;
  // the upstreams: a gost.ts DNS server over TLS and over HTTPS in front of the fake nameserver
  await using _upstreams = await startGost([
    "-L",
    `dns://127.0.0.1:${dot}?mode=tls&${tlsKeys}&dns=udp://127.0.0.1:${up.port}`,
    "-L",
    `dns://127.0.0.1:${doh}?mode=https&${tlsKeys}&dns=udp://127.0.0.1:${up.port}`,
  ], { listening: 2 });
  await using hopProc = await startGost(["-L", `relay://127.0.0.1:${hop}`, "-D"]);
  const ports = [freeUdpPort(), freeUdpPort(), freeUdpPort(), freeUdpPort()];
  const dotNs = `tls://127.0.0.1:${dot}`, dohNs = `https://127.0.0.1:${doh}/dns-query`;
  // the proxy trusts the test CA through DENO_CERT (Deno's TLS and node:tls both read it)
  await using _proxy = await startGost([
    "-L",
    `dns://127.0.0.1:${ports[0]}?dns=${dotNs}&ignoreChain=true`,
    "-L",
    `dns://127.0.0.1:${ports[1]}?dns=${dohNs}&ignoreChain=true`,
    "-L",
    `dns://127.0.0.1:${ports[2]}?dns=${dotNs}`,
    "-L",
    `dns://127.0.0.1:${ports[3]}?dns=${dohNs}`,
    "-F",
    `relay://127.0.0.1:${hop}`,
  ], { listening: 4, env: { DENO_CERT: pki.caCert } });
  const names = ["tcp.test", "doh.test", "tls.test", "h1.test"];
  for (const [i, port] of ports.entries()) {
    const out = await dig(port, names[i], "A");
    equal(records(out, names[i]).length, 1, `${names[i]} through ${i < 2 ? "no chain" : "the chain"}: ${out}`);
  }
  const crossings = () => hopProc.lines.filter((l) => l.includes(`127.0.0.1:${dot}`) || l.includes(`127.0.0.1:${doh}`));
  await until(() => crossings().length >= 2, "the relay to carry the DoT and the DoH exchange");
  // without the CA the certificate is refused: SERVFAIL, and the failure is logged
  const plain = freeUdpPort();
  await using untrusting = await startGost(["-L", `dns://127.0.0.1:${plain}?dns=${dotNs}`]);
  match(await dig(plain, "tcp.test", "A"), /status: SERVFAIL/);
  await until(
    () => untrusting.lines.some((l) => l.includes("exchange failed") && /certificate|issuer/i.test(l)),
    "the refused certificate's line",
  );
});
