import assert from "node:assert/strict";
import { ConfigError } from "../../../core/errors.ts";
import {
  AddressMatcher,
  canonicalIP,
  compilePattern,
  formatIP,
  parseIP,
  PortRange,
  splitAddr,
} from "../../../core/routing/matcher.ts";

Deno.test("parseIP and formatIP round-trip IPv4 and IPv6 in canonical form", () => {
  const cases: [string, string | null][] = [
    ["192.168.1.1", "192.168.1.1"],
    ["0.0.0.0", "0.0.0.0"],
    ["255.255.255.255", "255.255.255.255"],
    ["256.1.1.1", null],
    ["01.1.1.1", null],
    ["1.1.1", null],
    ["1.1.1.1.1", null],
    ["::", "::"],
    ["::1", "::1"],
    ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
    ["2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"],
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"],
    ["2001:0:0:1:0:0:1:1", "2001::1:0:0:1:1"],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
    ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"],
    ["::ffff:10.0.0.1", "::ffff:10.0.0.1"],
    ["64:ff9b::192.0.2.33", "64:ff9b::c000:221"],
    ["1:2:3:4:5:6:7:8:9", null],
    ["1::2::3", null],
    ["12345::", null],
    ["example.com", null],
    ["", null],
  ];
  for (const [input, want] of cases) {
    const ip = parseIP(input);
    assert.equal(ip ? formatIP(ip) : null, want, input);
  }
  assert.equal(canonicalIP("::FFFF:127.0.0.1"), "127.0.0.1");
  assert.equal(canonicalIP("fe80::1%eth0"), "fe80::1");
  assert.equal(canonicalIP("localhost"), null);
});

Deno.test("splitAddr splits leniently like GOST (missing port is 0)", () => {
  const cases: [string, string, number][] = [
    ["example.com:80", "example.com", 80],
    ["EXAMPLE.com.", "example.com", 0],
    ["example.com:http", "example.com", 0],
    ["[2001:DB8::1]:443", "2001:db8::1", 443],
    ["[::1]", "::1", 0],
    ["2001:db8::1", "2001:db8::1", 0],
    ["[::ffff:10.0.0.1]:53", "10.0.0.1", 53],
    ["10.0.0.1", "10.0.0.1", 0],
  ];
  for (const [addr, host, port] of cases) {
    const got = splitAddr(addr);
    assert.deepEqual([got.host, got.port], [host, port], addr);
  }
});

Deno.test("PortRange parses single ports and ranges and rejects bad ones", () => {
  assert.deepEqual(PortRange.parse("80"), new PortRange(80, 80));
  assert.deepEqual(PortRange.parse("0-65535"), new PortRange(0, 65535));
  for (const bad of ["", "x", "65536", "90-80", "1-2-3", "-1", "80-"]) {
    assert.throws(() => PortRange.parse(bad), ConfigError, bad);
  }
});

Deno.test("compilePattern classifies every pattern kind", () => {
  const cases: [string, string][] = [
    ["10.0.0.0/8", "cidr"],
    ["2001:db8::/32", "cidr"],
    ["*.example.com", "wildcard"],
    ["*.example.com:80", "wildcard"],
    ["exa?ple.com", "wildcard"],
    ["172.20.0.1-172.30.0.255", "range"],
    ["2001:db8::1-2001:db8::ff", "range"],
    ["192.168.1.1", "ip"],
    ["192.168.1.1:80", "ip"],
    ["10.0.0.1:0-65535", "ip"],
    ["[::1]:53", "ip"],
    ["::1", "ip"],
    ["example.com", "domain"],
    [".example.org", "domain"],
    ["example.com:443", "domain"],
    ["my-host_1.example", "domain"],
    ["localhost", "domain"],
  ];
  for (const [p, kind] of cases) assert.equal(compilePattern(p).kind, kind, p);
});

Deno.test("compilePattern throws ConfigError naming invalid patterns", () => {
  const bad = [
    "",
    "   ",
    "10.0.0.0/33",
    "2001:db8::/129",
    "300.1.1.1/8",
    "example.com/8",
    "10.0.0.0/8/9",
    "10.0.0.0/",
    "example.com:99999",
    "example.com:abc",
    "example.com:90-80",
    "10.0.0.9-10.0.0.1",
    "10.0.0.1-::1",
    "1.2.3.4-foo",
    "*.example.com:x",
    "[a-c.example.com",
    "{a,b.example.com",
    "exa mple.com",
    "user@example.com",
    "example..com",
    ".",
    "[::1]:70000",
  ];
  for (const p of bad) {
    assert.throws(() => compilePattern(p), (err: Error) => {
      assert.ok(err instanceof ConfigError, p);
      assert.ok(err.message.includes(`"${p}"`), `${p}: ${err.message}`);
      return true;
    }, p);
  }
  assert.throws(() => new AddressMatcher(["10.0.0.0/8", "bad pattern"]), /"bad pattern"/);
});

Deno.test("AddressMatcher matches every pattern kind, case-insensitively, IPv6 aware", () => {
  const cases: [string[], string, boolean][] = [
    // exact IP, any port
    [["192.168.1.1"], "192.168.1.1", true],
    [["192.168.1.1"], "192.168.1.1:80", true],
    [["192.168.1.1"], "192.168.1.2:80", false],
    // IP:port and IP:port-range
    [["192.168.1.1:80"], "192.168.1.1:80", true],
    [["192.168.1.1:80"], "192.168.1.1:81", false],
    [["192.168.1.1:80"], "192.168.1.1", false],
    [["10.0.0.1:8000-8080"], "10.0.0.1:8000", true],
    [["10.0.0.1:8000-8080"], "10.0.0.1:8080", true],
    [["10.0.0.1:8000-8080"], "10.0.0.1:8081", false],
    [["10.0.0.1:0-65535"], "10.0.0.1", true],
    // CIDR
    [["10.0.0.0/8"], "10.255.1.2:443", true],
    [["10.0.0.0/8"], "11.0.0.1", false],
    [["10.1.2.3/8"], "10.9.9.9", true],
    [["0.0.0.0/0"], "8.8.8.8", true],
    [["0.0.0.0/0"], "::1", false],
    [["192.168.1.128/25"], "192.168.1.200", true],
    [["192.168.1.128/25"], "192.168.1.100", false],
    [["10.0.0.0/8"], "10.example.com", false],
    // IP range
    [["172.20.0.1-172.30.0.255"], "172.20.0.1", true],
    [["172.20.0.1-172.30.0.255"], "172.25.3.4:22", true],
    [["172.20.0.1-172.30.0.255"], "172.30.0.255", true],
    [["172.20.0.1-172.30.0.255"], "172.30.1.0", false],
    [["172.20.0.1-172.30.0.255"], "172.20.0.0", false],
    // exact domain
    [["example.com"], "example.com:80", true],
    [["example.com"], "EXAMPLE.COM", true],
    [["Example.COM"], "example.com.", true],
    [["example.com"], "www.example.com", false],
    [["example.com"], "notexample.com", false],
    [["example.com:443"], "example.com:443", true],
    [["example.com:443"], "example.com:80", false],
    // .domain: itself and subdomains
    [[".example.org"], "example.org", true],
    [[".example.org"], "www.example.org:80", true],
    [[".example.org"], "a.b.example.org", true],
    [[".example.org"], "badexample.org", false],
    [[".example.org"], "example.org.evil.com", false],
    [[".example.org:80"], "a.example.org:80", true],
    [[".example.org:80"], "a.example.org:81", false],
    // wildcards
    [["*.example.com"], "www.example.com", true],
    [["*.example.com"], "a.b.example.com:8080", true],
    [["*.example.com"], "example.com", false],
    [["*.example.com:80"], "www.example.com:80", true],
    [["*.example.com:80"], "www.example.com:443", false],
    [["*.Example.com"], "WWW.EXAMPLE.COM", true],
    [["exa?ple.com"], "example.com", true],
    [["exa?ple.com"], "exaample.com", false],
    [["192.168.*"], "192.168.7.7:1", true],
    [["*"], "anything:1", true],
    [["{www,api}.example.com"], "api.example.com", true],
    [["{www,api}.example.com"], "ftp.example.com", false],
    [["[ab]?.example.com"], "bx.example.com", true],
    [["[!ab]?.example.com"], "bx.example.com", false],
    [["*.example.com"], "www.example.com.evil.net", false],
    // IPv6
    [["2001:db8::1"], "[2001:DB8:0::1]:443", true],
    [["2001:db8::1"], "2001:db8::2", false],
    [["[2001:db8::1]:443"], "[2001:db8::1]:443", true],
    [["[2001:db8::1]:443"], "[2001:db8::1]:80", false],
    [["2001:db8::/32"], "[2001:db8:ffff::1]:80", true],
    [["2001:db8::/32"], "2001:db9::1", false],
    [["2001:db8::1-2001:db8::ff"], "2001:db8::80", true],
    [["2001:db8::1-2001:db8::ff"], "2001:db8::100", false],
    [["::1"], "[::1]:22", true],
    // IPv4-mapped IPv6 compares as IPv4
    [["10.0.0.0/8"], "[::ffff:10.1.1.1]:80", true],
    [["::ffff:10.0.0.0/104"], "10.2.3.4", true],
    [["127.0.0.1"], "::ffff:127.0.0.1", true],
    // no patterns / empty addr
    [[], "example.com", false],
    [["*"], "", false],
  ];
  for (const [patterns, addr, want] of cases) {
    assert.equal(new AddressMatcher(patterns).match(addr), want, `${JSON.stringify(patterns)} ~ ${addr}`);
  }
});

Deno.test("AddressMatcher handles thousands of CIDRs by prefix-length sets", () => {
  const cidrs: string[] = [];
  for (let i = 0; i < 5000; i++) cidrs.push(`${(i >> 8) + 1}.${i & 0xff}.0.0/16`);
  const m = new AddressMatcher(cidrs);
  assert.equal(m.size, 5000);
  assert.equal(m.match("20.135.9.9"), true);
  assert.equal(m.match("200.1.1.1"), false);
});

Deno.test("globs indexed by their literal suffix match as a scan would (names, IPs, ports, no suffix)", () => {
  const m = new AddressMatcher(["*.cdn.test", "a*b.x.test:443", "10.0.*.1", "img?.y.test", "{a,b}.z.test", "*"]);
  const only = (patterns: string[], addr: string) => new AddressMatcher(patterns).match(addr);
  assert.equal(only(["*.cdn.test"], "img.cdn.test:80"), true);
  assert.equal(only(["*.cdn.test"], "cdn.test:80"), false);
  assert.equal(only(["*.cdn.test"], "img.cdn.test.evil:80"), false);
  assert.equal(only(["a*b.x.test:443"], "axxb.x.test:443"), true);
  assert.equal(only(["a*b.x.test:443"], "axxb.x.test:80"), false);
  assert.equal(only(["10.0.*.1"], "10.0.7.1:80"), true);
  assert.equal(only(["10.0.*.1"], "10.0.7.2:80"), false);
  assert.equal(only(["img?.y.test"], "img1.y.test"), true);
  assert.equal(only(["{a,b}.z.test"], "b.z.test"), true);
  assert.equal(only(["{a,b}.z.test"], "c.z.test"), false);
  assert.equal(m.match("anything.example:1"), true, "a glob without a suffix is always tested");
});
