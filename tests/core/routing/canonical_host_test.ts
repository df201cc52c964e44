import { deepEqual, equal } from "node:assert/strict";
import { canonicalHost } from "../../../core/routing/canonical_host.ts";
import { formatIP, parseInetAton } from "../../../core/routing/matcher.ts";
import { has } from "../../helpers/run.ts";

/** Spellings and what the system resolver reads them as (null: a name, not an address). */
const SPELLINGS: [string, string | null][] = [
  ["127.0.0.1", "127.0.0.1"],
  ["127.1", "127.0.0.1"],
  ["127.0.1", "127.0.0.1"],
  ["2130706433", "127.0.0.1"],
  ["0x7f000001", "127.0.0.1"],
  ["0X7F000001", "127.0.0.1"],
  ["0x7f.0.0.1", "127.0.0.1"],
  ["0x7F.1", "127.0.0.1"],
  ["0177.0.0.1", "127.0.0.1"],
  ["017700000001", "127.0.0.1"],
  ["127.000.000.001", "127.0.0.1"],
  ["00000000000000000000177.1", "127.0.0.1"],
  ["127.0x0.1", "127.0.0.1"],
  ["0", "0.0.0.0"],
  ["00", "0.0.0.0"],
  ["4294967295", "255.255.255.255"],
  ["0xffffffff", "255.255.255.255"],
  ["1.0xffffff", "1.255.255.255"],
  ["1.2.65535", "1.2.255.255"],
  ["4294967296", null],
  ["1.2.65536", null],
  ["0x100.1", null],
  ["1.0x1000000", null],
  ["256.0.0.1", null],
  ["127.0.0.256", null],
  ["08", null],
  ["0x", null],
  ["0x.0.0.1", null],
  ["1.2.3.4.5", null],
  ["1..2", null],
  ["1e1", null],
  ["127.0.0.1 ", null],
  ["localhost", null],
];

Deno.test("parseInetAton reads numeric hosts as inet_aton does (1-4 parts, decimal, octal, hex)", () => {
  for (const [s, want] of SPELLINGS) {
    const got = parseInetAton(s);
    equal(got ? formatIP({ family: 4, bytes: got }) : null, want, s);
  }
});

Deno.test("parseInetAton agrees with the system resolver (glibc getaddrinfo, numeric only)", async (t) => {
  if (!has("python3")) return void t.step({ name: "python3 missing", ignore: true, fn: () => {} });
  const script = "import json,socket,sys\nout={}\nfor h in json.load(sys.stdin):\n" +
    "  try: out[h]=socket.getaddrinfo(h,None,socket.AF_INET,0,0,socket.AI_NUMERICHOST)[0][4][0]\n" +
    "  except Exception: out[h]=None\nprint(json.dumps(out))";
  const inputs = SPELLINGS.map(([s]) => s).filter((s) => !s.includes(".."));
  const child = new Deno.Command("python3", { args: ["-c", script], stdin: "piped", stdout: "piped" }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(JSON.stringify(inputs)));
  await w.close();
  const glibc = JSON.parse(new TextDecoder().decode((await child.output()).stdout)) as Record<string, string | null>;
  for (const s of inputs) {
    const got = parseInetAton(s);
    equal(got ? formatIP({ family: 4, bytes: got }) : null, glibc[s], s);
  }
});

Deno.test("canonicalHost: one form for every spelling of an address, names lowercased without a trailing dot", () => {
  const table: [string, string, string][] = [
    // raw, matched host, dialed host
    ["127.1", "127.0.0.1", "127.0.0.1"],
    ["0x7f.0.0.1", "127.0.0.1", "127.0.0.1"],
    ["127.0.0.1.", "127.0.0.1", "127.0.0.1"],
    ["[::ffff:127.0.0.1]", "127.0.0.1", "127.0.0.1"],
    ["::FFFF:7F00:1", "127.0.0.1", "127.0.0.1"],
    ["0:0:0:0:0:ffff:127.0.0.1", "127.0.0.1", "127.0.0.1"],
    ["[0:0:0:0:0:0:0:1]", "::1", "::1"],
    ["2001:DB8:0:0::1", "2001:db8::1", "2001:db8::1"],
    ["fe80::1%eth0", "fe80::1", "fe80::1%eth0"],
    ["LOCALHOST.", "localhost", "localhost"],
    ["Example.COM", "example.com", "example.com"],
    ["0.0.0.0", "0.0.0.0", "127.0.0.1"],
    ["0", "0.0.0.0", "127.0.0.1"],
    ["::", "::", "::1"],
    ["::ffff:0.0.0.0", "0.0.0.0", "127.0.0.1"],
  ];
  for (const [raw, host, dial] of table) {
    const c = canonicalHost(raw);
    deepEqual([c.host, c.dial], [host, dial], raw);
  }
  equal(canonicalHost("0.0.0.0").alias, "127.0.0.1");
  equal(canonicalHost("::").alias, "::1");
  equal(canonicalHost("127.0.0.1").alias, undefined);
  equal(canonicalHost("example.com").ip, null);
});

Deno.test("canonicalHost dials what Deno.connect reaches for each numeric spelling", async () => {
  using ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (ln.addr as Deno.NetAddr).port;
  for (const raw of ["127.1", "0x7f000001", "0177.0.0.1", "2130706433", "0x7f.0.0.1", "127.0.1", "0"]) {
    const conn = await Deno.connect({ hostname: raw, port });
    const accepted = await ln.accept();
    equal((conn.remoteAddr as Deno.NetAddr).hostname, canonicalHost(raw).dial, raw);
    conn.close();
    accepted.close();
  }
});
