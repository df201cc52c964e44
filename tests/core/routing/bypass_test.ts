import assert from "node:assert/strict";
import { ConfigError } from "../../../core/errors.ts";
import { appliesTo, Bypass, type BypassChecker, BypassGroup } from "../../../core/routing/bypass.ts";

const matchers = [
  "192.168.1.1",
  "10.0.0.1:80",
  "10.0.0.2:8000-8080",
  "172.16.0.0/12",
  "172.20.0.1-172.30.0.255",
  "example.com",
  ".example.org",
  "*.example.net:443",
];

const table: [string, boolean][] = [
  ["192.168.1.1:22", true],
  ["10.0.0.1:80", true],
  ["10.0.0.1:81", false],
  ["10.0.0.2:8080", true],
  ["172.17.1.1:443", true],
  ["172.25.0.1:1", true],
  ["EXAMPLE.com:80", true],
  ["www.example.com:80", false],
  ["example.org:80", true],
  ["deep.sub.example.org:80", true],
  ["a.example.net:443", true],
  ["a.example.net:80", false],
  ["8.8.8.8:53", false],
  ["other.test:80", false],
];

Deno.test("blacklist bypass: a matching target is bypassed", () => {
  const b = new Bypass({ name: "bp", matchers });
  assert.equal(b.whitelist, false);
  for (const [addr, want] of table) assert.equal(b.contains("tcp", addr), want, addr);
});

Deno.test("whitelist bypass: a target matching nothing is bypassed", () => {
  const b = new Bypass({ whitelist: true, matchers });
  for (const [addr, want] of table) assert.equal(b.contains("tcp", addr), !want, addr);
});

Deno.test("bypass never bypasses an empty address, even in whitelist mode", () => {
  assert.equal(new Bypass({ matchers: ["*"] }).contains("tcp", ""), false);
  assert.equal(new Bypass({ whitelist: true, matchers: [] }).contains("tcp", ""), false);
});

Deno.test("bypass with no matchers: blacklist passes everything, whitelist bypasses everything", () => {
  assert.equal(new Bypass({ matchers: [] }).contains("tcp", "example.com:80"), false);
  assert.equal(new Bypass({ whitelist: true, matchers: [] }).contains("tcp", "example.com:80"), true);
});

Deno.test("bypass network pre-filter applies only to its network; no matchers acts on the whole network", () => {
  const udpOnly = new Bypass({ matchers: ["example.com"], network: "udp" });
  assert.equal(udpOnly.contains("udp", "example.com:53"), true);
  assert.equal(udpOnly.contains("udp6", "example.com:53"), true);
  assert.equal(udpOnly.contains("tcp", "example.com:53"), false);
  const allUdp = new Bypass({ matchers: [], network: "udp" });
  assert.equal(allUdp.contains("udp", "anything.test:1"), true);
  assert.equal(allUdp.contains("tcp", "anything.test:1"), false);
  const tcpWhitelist = new Bypass({ whitelist: true, matchers: ["ok.test"], network: "tcp" });
  assert.equal(tcpWhitelist.contains("tcp", "other.test:1"), true);
  assert.equal(tcpWhitelist.contains("udp", "other.test:1"), false);
  assert.equal(appliesTo(tcpWhitelist, "tcp4"), true);
  assert.equal(appliesTo(tcpWhitelist, "udp"), false);
  assert.equal(appliesTo({ contains: () => true }, "udp"), true);
});

Deno.test("bypass throws ConfigError naming an invalid pattern", () => {
  assert.throws(() => new Bypass({ matchers: ["10.0.0.0/8", "10.0.0.0/40"] }), (err: Error) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /"10\.0\.0\.0\/40"/);
    return true;
  });
});

Deno.test("bypass group follows GOST: all whitelists bypass → bypass; else any blacklist match → bypass", () => {
  const white1 = new Bypass({ whitelist: true, matchers: [".corp.example"] });
  const white2 = new Bypass({ whitelist: true, matchers: ["10.0.0.0/8", "git.corp.example"] });
  const black1 = new Bypass({ matchers: ["*.ads.test"] });
  const black2 = new Bypass({ matchers: ["git.corp.example", "10.6.6.6"] });
  const cases: [string, BypassChecker[], string, boolean][] = [
    ["empty group never bypasses", [], "x.test:1", false],
    ["blacklists: none match", [black1, black2], "x.test:1", false],
    ["blacklists: one matches", [black1, black2], "a.ads.test:1", true],
    ["whitelists: in neither → both say bypass", [white1, white2], "x.test:1", true],
    ["whitelists: in one → not all say bypass", [white1, white2], "wiki.corp.example:1", false],
    ["whitelists: in both", [white1, white2], "git.corp.example:1", false],
    ["mixed: whitelisted and no blacklist match", [white1, black1], "wiki.corp.example:1", false],
    ["mixed: whitelisted but a blacklist matches", [white2, black2], "10.6.6.6:1", true],
    ["mixed: not whitelisted → bypass whatever the blacklists say", [white1, black1], "x.test:1", true],
    ["mixed: not in every whitelist, no blacklist match", [white1, white2, black1], "10.1.1.1:1", false],
  ];
  for (const [what, members, addr, want] of cases) {
    assert.equal(new BypassGroup(members).contains("tcp", addr), want, what);
  }
});

Deno.test("bypass group: members for another network do not vote; nested groups count as blacklists", () => {
  const udpWhitelist = new Bypass({ whitelist: true, matchers: ["dns.test"], network: "udp" });
  const black = new Bypass({ matchers: ["bad.test"] });
  const g = new BypassGroup([udpWhitelist, black]);
  assert.equal(g.contains("tcp", "other.test:1"), false, "the udp whitelist does not vote for tcp");
  assert.equal(g.contains("udp", "other.test:1"), true, "the udp whitelist bypasses non-whitelisted udp");
  assert.equal(g.contains("udp", "dns.test:53"), false);
  assert.equal(g.contains("tcp", "bad.test:1"), true);

  const nested = new BypassGroup([new BypassGroup([new Bypass({ whitelist: true, matchers: ["a.test"] })])]);
  assert.equal(nested.contains("tcp", "b.test:1"), true, "the inner group says bypass and votes as a blacklist");
  assert.equal(nested.contains("tcp", "a.test:1"), false);
});
