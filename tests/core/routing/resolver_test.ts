import assert from "node:assert/strict";
import type { Conn } from "../../../core/conn.ts";
import { ConfigError, DialError } from "../../../core/errors.ts";
import { DnsType, encodeQuery, Rcode } from "../../../core/routing/dns_wire.ts";
import { HostMapper } from "../../../core/routing/hosts.ts";
import { lookupHost, Resolver } from "../../../core/routing/resolver.ts";
import { dialUdp } from "../../../core/udp.ts";
import { FakeDns } from "../../helpers/fake_dns.ts";

const A = DnsType.A, AAAA = DnsType.AAAA;

const records = {
  "dual.test": { a: ["10.0.0.1", "10.0.0.2"], aaaa: ["2001:db8::1"], ttl: 60 },
  "v4.test": { a: ["10.0.0.4"], ttl: 60 },
  "v6.test": { aaaa: ["2001:db8::6"], ttl: 60 },
  "short.test": { a: ["10.0.0.9"], ttl: 1 },
  "zero.test": { a: ["10.0.0.10"], ttl: 0 },
  "alias.test": { cname: "v4.test", ttl: 30 },
  "big.test": { a: ["10.0.0.11"], truncate: true },
  "fail.test": { rcode: Rcode.SERVFAIL },
  "junk.test": { garbage: new Uint8Array([1, 2, 3]) },
};

/** A TCP port with nothing listening. */
function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test("resolver answers A and AAAA over UDP and caches by the answer TTL", async () => {
  await using dns = FakeDns.start({ records });
  const r = new Resolver({ nameservers: [{ addr: `127.0.0.1:${dns.port}` }] });
  assert.deepEqual(await r.resolve("ip4", "dual.test"), ["10.0.0.1", "10.0.0.2"]);
  assert.deepEqual(await r.resolve("ip6", "dual.test"), ["2001:db8::1"]);
  assert.deepEqual(await r.resolve("ip", "DUAL.test."), ["10.0.0.1", "10.0.0.2"], "ipv4 first by default");
  assert.equal(dns.count("dual.test", A, "udp"), 1, "the A answer came from the cache");
  assert.equal(dns.count("dual.test", AAAA, "udp"), 1);
  assert.deepEqual(await r.resolve("ip", "alias.test"), ["10.0.0.4"], "through a CNAME");
});

Deno.test("resolver prefer and only choose and restrict the address family", async () => {
  await using dns = FakeDns.start({ records });
  const addr = `udp://127.0.0.1:${dns.port}`;
  const v6first = new Resolver({ nameservers: [{ addr, prefer: "ipv6" }] });
  assert.deepEqual(await v6first.resolve("ip", "dual.test"), ["2001:db8::1"]);
  assert.deepEqual(await v6first.resolve("ip", "v4.test"), ["10.0.0.4"], "falls back to A when AAAA is empty");
  assert.deepEqual(await v6first.resolve("ip4", "dual.test"), ["10.0.0.1", "10.0.0.2"], "the caller's family wins");

  const v4first = new Resolver({ nameservers: [{ addr }] });
  assert.deepEqual(await v4first.resolve("ip", "v6.test"), ["2001:db8::6"], "falls back to AAAA when A is empty");
  assert.deepEqual(await v4first.resolve("ip4", "v6.test"), [], "ip4 asks only A");

  const only4 = new Resolver({ nameservers: [{ addr, only: "ipv4", ttl: -1 }] });
  assert.deepEqual(await only4.resolve("ip", "v6.test"), []);
  assert.deepEqual(await only4.resolve("ip6", "dual.test"), [], "only ipv4 never answers an ip6 request");
  const before = dns.count("v6.test", AAAA);
  await only4.resolve("ip", "v6.test");
  assert.equal(dns.count("v6.test", AAAA), before, "only ipv4 never asks AAAA");
});

Deno.test("resolver cache expires with a 1 s TTL; ttl overrides and negative ttl disables it", async () => {
  await using dns = FakeDns.start({ records });
  let now = 1_000_000;
  const clock = () => now;
  const addr = `udp://127.0.0.1:${dns.port}`;
  const r = new Resolver({ nameservers: [{ addr }], now: clock });
  await r.resolve("ip4", "short.test");
  now += 999;
  await r.resolve("ip4", "short.test");
  assert.equal(dns.count("short.test", A), 1, "still cached after 999 ms");
  now += 1;
  await r.resolve("ip4", "short.test");
  assert.equal(dns.count("short.test", A), 2, "expired after 1 s");

  await r.resolve("ip4", "zero.test");
  await r.resolve("ip4", "zero.test");
  assert.equal(dns.count("zero.test", A), 2, "a zero TTL is not cached");

  const long = new Resolver({ nameservers: [{ addr, ttl: "5s" }], now: clock });
  await long.resolve("ip4", "short.test");
  now += 4_999;
  await long.resolve("ip4", "short.test");
  assert.equal(dns.count("short.test", A), 3, "ttl: 5s keeps a 1 s answer for 5 s");

  const none = new Resolver({ nameservers: [{ addr, ttl: -1 }], now: clock });
  await none.resolve("ip4", "v4.test");
  await none.resolve("ip4", "v4.test");
  assert.equal(dns.count("v4.test", A), 2, "negative ttl disables the cache");

  const tiny = new Resolver({ nameservers: [{ addr }], now: clock, cacheSize: 2 });
  for (const n of ["v4.test", "dual.test", "alias.test", "v4.test"]) await tiny.resolve("ip4", n);
  assert.equal(dns.count("v4.test", A), 4, "the oldest entry was evicted from a full cache");
});

Deno.test("resolver shares one query among concurrent lookups of a name", async () => {
  await using dns = FakeDns.start({ records });
  const r = new Resolver({ nameservers: [{ addr: `127.0.0.1:${dns.port}` }] });
  const all = await Promise.all(Array.from({ length: 10 }, () => r.resolve("ip4", "v4.test")));
  assert.ok(all.every((ips) => ips[0] === "10.0.0.4"));
  assert.equal(dns.count("v4.test", A), 1);
});

Deno.test("resolver resolves IP literals without a query", async () => {
  await using dns = FakeDns.start({ records });
  const r = new Resolver({ nameservers: [{ addr: `127.0.0.1:${dns.port}` }] });
  assert.deepEqual(await r.resolve("ip", "10.1.2.3"), ["10.1.2.3"]);
  assert.deepEqual(await r.resolve("ip", "[2001:DB8::1]"), ["2001:db8::1"]);
  assert.deepEqual(await r.resolve("ip4", "::ffff:10.0.0.1"), ["10.0.0.1"]);
  assert.equal(dns.queries.length, 0);
});

Deno.test("resolver speaks DNS over TCP and retries a truncated UDP answer over TCP", async () => {
  await using dns = FakeDns.start({ records });
  const tcp = new Resolver({ nameservers: [{ addr: `tcp://127.0.0.1:${dns.port}` }] });
  assert.deepEqual(await tcp.resolve("ip", "dual.test"), ["10.0.0.1", "10.0.0.2"]);
  assert.equal(dns.count("dual.test", A, "tcp"), 1);
  assert.equal(dns.count("dual.test", A, "udp"), 0);

  const udp = new Resolver({ nameservers: [{ addr: `udp://127.0.0.1:${dns.port}` }] });
  assert.deepEqual(await udp.resolve("ip4", "big.test"), ["10.0.0.11"]);
  assert.equal(dns.count("big.test", A, "udp"), 1);
  assert.equal(dns.count("big.test", A, "tcp"), 1);
});

Deno.test("resolver falls through a refused TCP nameserver and a SERVFAIL to the next one", async () => {
  await using dns = FakeDns.start({ records });
  const r = new Resolver({
    nameservers: [{ addr: `tcp://127.0.0.1:${closedPort()}` }, { addr: `udp://127.0.0.1:${dns.port}` }],
  });
  assert.deepEqual(await r.resolve("ip4", "v4.test"), ["10.0.0.4"]);

  await using dns2 = FakeDns.start({ records: { "fail.test": { a: ["10.9.9.9"] }, "junk.test": { a: ["10.9.9.8"] } } });
  const r2 = new Resolver({
    nameservers: [{ addr: `127.0.0.1:${dns.port}` }, { addr: `127.0.0.1:${dns2.port}` }],
  });
  assert.deepEqual(await r2.resolve("ip4", "fail.test"), ["10.9.9.9"]);
  assert.equal(dns.count("fail.test", A), 1);

  const r3 = new Resolver({
    nameservers: [{ addr: `tcp://127.0.0.1:${dns.port}` }, { addr: `127.0.0.1:${dns2.port}` }],
  });
  assert.deepEqual(await r3.resolve("ip4", "junk.test"), ["10.9.9.8"], "a garbage TCP answer falls through");
});

Deno.test("resolver times out a silent nameserver within its timeout and falls back", async () => {
  await using silent = FakeDns.start({ records, silent: true });
  await using good = FakeDns.start({ records });
  const started = performance.now();
  const r = new Resolver({
    nameservers: [{ addr: `127.0.0.1:${silent.port}`, timeout: 300 }, { addr: `127.0.0.1:${good.port}` }],
  });
  assert.deepEqual(await r.resolve("ip", "v4.test"), ["10.0.0.4"]);
  const took = performance.now() - started;
  assert.ok(took >= 290 && took < 1_500, `fallback took ${took} ms`);
  assert.equal(silent.count("v4.test", AAAA), 0, "a timed-out server is not asked for the other family");

  const only = new Resolver({ nameservers: [{ addr: `127.0.0.1:${silent.port}`, timeout: "250ms" }] });
  const t0 = performance.now();
  await assert.rejects(only.resolve("ip4", "v4.test"), (err: Error) => {
    assert.ok(err instanceof DialError, String(err));
    assert.match(err.message, /Cannot resolve "v4\.test": udp:\/\/127\.0\.0\.1:\d+: .*timed out after 250 ms/);
    return true;
  });
  const t1 = performance.now() - t0;
  assert.ok(t1 >= 240 && t1 < 1_000, `timeout took ${t1} ms`);

  const tcpSilent = new Resolver({ nameservers: [{ addr: `tcp://127.0.0.1:${silent.port}`, timeout: 200 }] });
  await assert.rejects(tcpSilent.resolve("ip4", "v4.test"), /timed out after 200 ms/);
});

Deno.test("resolver reports NXDOMAIN from every nameserver as a DialError", async () => {
  await using dns = FakeDns.start({ records });
  const r = new Resolver({ nameservers: [{ addr: `127.0.0.1:${dns.port}` }] });
  await assert.rejects(r.resolve("ip", "missing.test"), /NXDOMAIN for missing\.test/);
  await assert.rejects(r.resolve("ip", ""), DialError);
});

Deno.test("resolver speaks DoH (RFC 8484 POST) to a local handler", async () => {
  await using dns = FakeDns.start({ records });
  await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, dns.doh);
  const base = `http://127.0.0.1:${server.addr.port}`;
  const r = new Resolver({ nameservers: [{ addr: `${base}/dns-query` }] });
  assert.deepEqual(await r.resolve("ip", "dual.test"), ["10.0.0.1", "10.0.0.2"]);
  assert.deepEqual(await r.resolve("ip6", "dual.test"), ["2001:db8::1"]);
  assert.equal(dns.count("dual.test", undefined, "doh"), 2);
  assert.equal(dns.queries[0].raw[0] | dns.queries[0].raw[1], 0, "DoH queries use id 0");

  const wrong = new Resolver({ nameservers: [{ addr: `${base}/nope` }] });
  await assert.rejects(wrong.resolve("ip", "v4.test"), /answered HTTP 404/);
});

Deno.test("resolver speaks DNS over TLS, verifying the certificate name", async (t) => {
  const pki = await makePki();
  if (!pki) {
    console.log("skipped: openssl is not available to make a test CA");
    return;
  }
  await using dns = FakeDns.start({ records });
  const listener = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert: pki.cert, key: pki.key });
  const serving = (async () => {
    const conns: Promise<void>[] = [];
    try {
      for await (const c of listener) conns.push(dns.serveStream(c, "dot"));
    } catch {
      // closed
    }
    await Promise.allSettled(conns);
  })();
  try {
    const addr = `tls://127.0.0.1:${listener.addr.port}`;
    await t.step("with the right name and CA", async () => {
      const r = new Resolver({ nameservers: [{ addr, hostname: "dns.test", caCerts: [pki.ca] }] });
      assert.deepEqual(await r.resolve("ip4", "v4.test"), ["10.0.0.4"]);
      assert.equal(dns.count("v4.test", A, "dot"), 1);
    });
    await t.step("dot:// is an alias", async () => {
      const r = new Resolver({
        nameservers: [{ addr: `dot://127.0.0.1:${listener.addr.port}`, hostname: "dns.test", caCerts: [pki.ca] }],
      });
      assert.deepEqual(await r.resolve("ip6", "v6.test"), ["2001:db8::6"]);
    });
    await t.step("with a name the certificate does not carry", async () => {
      const r = new Resolver({ nameservers: [{ addr, hostname: "other.test", caCerts: [pki.ca], timeout: 2000 }] });
      await assert.rejects(r.resolve("ip4", "v4.test"), /certificate not valid for name "other\.test"/);
    });
    await t.step("without the CA", async () => {
      const r = new Resolver({ nameservers: [{ addr, hostname: "dns.test", timeout: 2000 }] });
      await assert.rejects(r.resolve("ip4", "v4.test"), /invalid peer certificate: UnknownIssuer/);
    });
  } finally {
    listener.close();
    await serving;
  }
});

Deno.test("resolver carries udp, tcp and DoH queries over a custom dial", async () => {
  await using dns = FakeDns.start({ records });
  const dialed: string[] = [];
  const dial = (network: "tcp" | "udp", addr: string): Promise<Conn> => {
    dialed.push(`${network} ${addr}`);
    const port = Number(addr.split(":").pop());
    return network === "udp"
      ? Promise.resolve(dialUdp("127.0.0.1", port))
      : Deno.connect({ hostname: "127.0.0.1", port });
  };
  const r = new Resolver({
    nameservers: [{ addr: `udp://127.0.0.1:${dns.port}` }, { addr: `tcp://127.0.0.1:${dns.port}` }],
    dial,
  });
  assert.deepEqual(await r.resolve("ip4", "v4.test"), ["10.0.0.4"]);
  assert.deepEqual(await r.resolve("ip4", "big.test"), ["10.0.0.11"]);
  assert.deepEqual(dialed, [
    `udp 127.0.0.1:${dns.port}`,
    `udp 127.0.0.1:${dns.port}`,
    `tcp 127.0.0.1:${dns.port}`,
  ]);
  // DoH over the custom dial: one HTTP/1.1 POST on a conn the dial opened
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, dns.doh);
  try {
    const doh = new Resolver({ nameservers: [{ addr: `http://127.0.0.1:${server.addr.port}/dns-query` }], dial });
    assert.deepEqual(await doh.resolve("ip4", "v4.test"), ["10.0.0.4"]);
    assert.equal(dialed.at(-1), `tcp 127.0.0.1:${server.addr.port}`);
    assert.equal(dns.count("v4.test", A, "doh"), 1);
  } finally {
    await server.shutdown();
  }
});

Deno.test("resolver rejects bad nameserver settings with ConfigError", () => {
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ addr: "ftp://1.1.1.1" }, /unknown scheme "ftp"/],
    [{ addr: "udp://1.1.1.1:99999" }, /host\[:port\]/],
    [{ addr: "udp://:53" }, /host\[:port\]/],
    [{ addr: "tcp://[::1" }, /host\[:port\]/],
    [{ addr: "1.1.1.1", prefer: "ipv5" }, /"prefer".*"ipv5"/],
    [{ addr: "1.1.1.1", only: "both" }, /"only"/],
    [{ addr: "1.1.1.1", timeout: "5x" }, /"timeout"/],
  ];
  for (const [ns, re] of bad) {
    assert.throws(() => new Resolver({ nameservers: [ns as { addr: string }] }), (err: Error) => {
      assert.ok(err instanceof ConfigError, `${JSON.stringify(ns)}: ${err}`);
      assert.match(err.message, re);
      return true;
    });
  }
  assert.throws(() => new Resolver({ nameservers: [] }), /no nameservers/);
  // these parse
  for (const addr of ["1.1.1.1", "udp://[2001:db8::1]:5353", "tls://1.1.1.1", "dot://dns.example", "https://x/q"]) {
    new Resolver({ nameservers: [{ addr }] });
  }
});

Deno.test("lookupHost: IP literal, then hosts, then the resolver, else leave the name to Deno.connect", async () => {
  await using dns = FakeDns.start({ records });
  const hosts = new HostMapper([{ ip: "192.0.2.1", hostname: "v4.test" }, { ip: "2001:db8::99", hostname: "v6.test" }]);
  const resolver = new Resolver({ nameservers: [{ addr: `127.0.0.1:${dns.port}` }] });
  assert.deepEqual(await lookupHost(hosts, resolver, "tcp", "10.0.0.1"), ["10.0.0.1"]);
  assert.deepEqual(await lookupHost(hosts, resolver, "tcp", "v4.test"), ["192.0.2.1"]);
  assert.deepEqual(await lookupHost(hosts, resolver, "udp6", "v6.test"), ["2001:db8::99"]);
  assert.deepEqual(await lookupHost(hosts, resolver, "tcp4", "v6.test"), [], "hosts has only v6; A is empty");
  assert.deepEqual(await lookupHost(hosts, resolver, "tcp", "dual.test"), ["10.0.0.1", "10.0.0.2"]);
  assert.deepEqual(await lookupHost(hosts, undefined, "tcp", "dual.test"), []);
  assert.deepEqual(await lookupHost(undefined, undefined, "tcp", "localhost"), []);
  assert.equal(dns.count("v4.test"), 0, "hosts answered first");
});

async function runDig(args: string[]): Promise<{ ok: boolean; out: string }> {
  const out = await new Deno.Command("dig", { args, stdout: "piped", stderr: "piped" }).output();
  return { ok: out.success, out: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr) };
}

async function haveDig(): Promise<boolean> {
  try {
    return (await runDig(["-v"])).ok;
  } catch {
    return false;
  }
}

Deno.test("dig agrees with the codec: our query bytes equal dig's, dig reads our answers", async () => {
  if (!(await haveDig())) {
    console.log("skipped: dig is not installed");
    return;
  }
  await using dns = FakeDns.start({ records });
  const base = ["@127.0.0.1", "-p", String(dns.port), "+tries=1", "+time=3"];

  const plain = await runDig([...base, "+noedns", "+noadflag", "Dual.Test", "A"]);
  assert.ok(plain.ok, plain.out);
  assert.match(plain.out, /status: NOERROR/);
  assert.match(plain.out, /dual\.test\.\s+60\s+IN\s+A\s+10\.0\.0\.1/i);
  assert.match(plain.out, /dual\.test\.\s+60\s+IN\s+A\s+10\.0\.0\.2/i);
  const raw = dns.queries.at(-1)!.raw;
  assert.deepEqual(raw, encodeQuery((raw[0] << 8) | raw[1], "Dual.Test", A), "byte-identical to dig's query");

  const edns = await runDig([...base, "+tcp", "alias.test", "AAAA"]);
  assert.ok(edns.ok, edns.out);
  assert.match(edns.out, /status: NOERROR/);
  assert.match(edns.out, /alias\.test\.\s+30\s+IN\s+CNAME\s+v4\.test\./);
  assert.equal(dns.count("alias.test", AAAA, "tcp"), 1, "our decoder read dig's EDNS query over TCP");

  const v6 = await runDig([...base, "v6.test", "AAAA"]);
  assert.match(v6.out, /v6\.test\.\s+60\s+IN\s+AAAA\s+2001:db8::6/);
  const nx = await runDig([...base, "missing.test", "A"]);
  assert.match(nx.out, /status: NXDOMAIN/);
  const nodata = await runDig([...base, "v4.test", "AAAA"]);
  assert.match(nodata.out, /status: NOERROR/);
  assert.match(nodata.out, /ANSWER: 0/);
  assert.match(nodata.out, /test\.\s+60\s+IN\s+SOA\s+ns\.test\. admin\.test\. 1 60 60 60 30/);
});

/** Makes a CA and a server certificate for dns.test and 127.0.0.1 with openssl, or null without openssl. */
async function makePki(): Promise<{ ca: string; cert: string; key: string } | null> {
  const dir = await Deno.makeTempDir({ prefix: "gost-dot-" });
  const run = async (args: string[]) => {
    const out = await new Deno.Command("openssl", { args, cwd: dir, stdout: "null", stderr: "piped" }).output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  };
  try {
    await run([
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-days",
      "2",
      "-subj",
      "/CN=test ca",
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
    ]);
    await run([
      "req",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-subj",
      "/CN=dns.test",
      "-keyout",
      "srv.key",
      "-out",
      "srv.csr",
    ]);
    await Deno.writeTextFile(`${dir}/ext.cnf`, "subjectAltName=DNS:dns.test,IP:127.0.0.1\n");
    await run([
      "x509",
      "-req",
      "-in",
      "srv.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      "ext.cnf",
      "-out",
      "srv.pem",
    ]);
    return {
      ca: await Deno.readTextFile(`${dir}/ca.pem`),
      cert: await Deno.readTextFile(`${dir}/srv.pem`),
      key: await Deno.readTextFile(`${dir}/srv.key`),
    };
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
