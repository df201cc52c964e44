/**
 * A resolver nameserver's `chain`: a real gost.ts process whose service resolves names with a resolver whose
 * nameserver is reached through a chain, the chain's hop being another gost.ts process (an HTTP proxy). The queries
 * cross that proxy (its connection count to the fake DNS server grows, and they fail while it is down).
 */
import { equal, ok } from "node:assert/strict";
import { DnsType } from "../../core/routing/dns_wire.ts";
import { FakeDns } from "../helpers/fake_dns.ts";
import { freePort, type GostProcess, startGost } from "../helpers/gost.ts";
import { curl } from "../helpers/run.ts";
import { httpOrigin } from "../helpers/servers.ts";
import { until } from "../helpers/wait.ts";

/** A name only the fake DNS server knows. */
const NAME = "origin.chain-only.test";

Deno.test("a resolver nameserver's chain carries the queries through the chain's proxy", async () => {
  const origin = httpOrigin();
  await using dns = FakeDns.start({ records: { [NAME]: { a: ["127.0.0.1"], ttl: 0 } } });
  const [proxy, hop] = [freePort(), freePort()];
  const file = await Deno.makeTempFile({ suffix: ".yaml" });
  await Deno.writeTextFile(
    file,
    `services:
  - name: front
    addr: 127.0.0.1:${proxy}
    resolver: r
    handler: {type: http}
    listener: {type: tcp}
resolvers:
  - name: r
    nameservers:
      - addr: "tcp://127.0.0.1:${dns.port}"
        chain: c1
        timeout: 2s
chains:
  - name: c1
    hops:
      - name: h1
        nodes:
          - name: n1
            addr: 127.0.0.1:${hop}
            connector: {type: http}
            dialer: {type: tcp}
`,
  );
  const startHop = () => startGost(["-L", `http://127.0.0.1:${hop}`, "-D"]);
  let hopProc: GostProcess = await startHop();
  await using gost = await startGost(["-C", file]);
  const get = (path: string) =>
    curl(
      "-s",
      "-o",
      "-",
      "-w",
      "\n%{http_code}",
      "-x",
      `http://127.0.0.1:${proxy}`,
      `http://${NAME}:${origin.port}${path}`,
    );
  /** The chain proxy's log lines that name a CONNECT to the fake DNS server. */
  const crossings = (p: GostProcess) => p.lines.filter((l) => l.includes(`127.0.0.1:${dns.port}`)).length;
  try {
    const r1 = await get("/one");
    equal(r1.stdout, "hello /one\n200");
    ok(dns.count(NAME, DnsType.A, "tcp") >= 1, "the fake DNS server was asked over TCP");
    equal(dns.count(NAME, DnsType.A, "udp"), 0);
    // the chain's proxy logged the tunnel to the nameserver
    await until(() => crossings(hopProc) >= 1, "the chain proxy to log the nameserver's address");

    // the chain's proxy goes away: the query has no way to the nameserver and the name does not resolve
    equal((await hopProc.stop()).code, 0);
    const asked = dns.queries.length;
    const r2 = await get("/two");
    ok(!r2.stdout.startsWith("hello"), `no answer without the chain: ${r2.stdout}`);
    equal(dns.queries.length, asked, "no query reached the nameserver directly");
    ok(gost.lines.some((l) => l.includes(NAME)), "the failed lookup is logged naming the host");

    // the proxy is back on the same port: the queries cross it again (the answer had TTL 0, nothing cached)
    hopProc = await startHop();
    const r3 = await get("/three");
    equal(r3.stdout, "hello /three\n200");
    ok(dns.queries.length > asked);
    await until(() => crossings(hopProc) >= 1, "the restarted chain proxy to log the nameserver's address");
    equal(origin.requests, 2);
  } finally {
    await hopProc.stop();
    await origin.close();
    await Deno.remove(file);
  }
});
