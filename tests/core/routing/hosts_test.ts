import assert from "node:assert/strict";
import { ConfigError } from "../../../core/errors.ts";
import { HostMapper } from "../../../core/routing/hosts.ts";

Deno.test("hosts lookup order: exact → .host → parent suffixes → . catch-all", () => {
  const h = new HostMapper([
    { ip: "10.0.0.1", hostname: "www.example.com" },
    { ip: "10.0.0.2", hostname: ".www.example.com" },
    { ip: "10.0.0.3", hostname: ".example.com" },
    { ip: "10.0.0.4", hostname: ".com" },
    { ip: "10.0.0.5", hostname: "." },
    { ip: "10.0.0.6", hostname: ".only-dot.test" },
  ]);
  const cases: [string, string[]][] = [
    ["www.example.com", ["10.0.0.1"]],
    ["WWW.Example.COM.", ["10.0.0.1"]],
    ["a.www.example.com", ["10.0.0.2"]],
    ["api.example.com", ["10.0.0.3"]],
    ["x.y.example.com", ["10.0.0.3"]],
    ["example.com", ["10.0.0.3"]],
    ["other.com", ["10.0.0.4"]],
    ["only-dot.test", ["10.0.0.6"]],
    ["sub.only-dot.test", ["10.0.0.6"]],
    ["something.org", ["10.0.0.5"]],
    ["localhost", ["10.0.0.5"]],
  ];
  for (const [host, want] of cases) assert.deepEqual(h.lookup("ip", host), want, host);
});

Deno.test("hosts lookup filters by ip4/ip6 and merges aliases and duplicates", () => {
  const h = new HostMapper([
    { ip: "127.0.0.1", hostname: "dual.test", aliases: ["alias.test", "Alias2.test"] },
    { ip: "::1", hostname: "dual.test" },
    { ip: "127.0.0.1", hostname: "dual.test" },
    { ip: "2001:db8::1", hostname: "v6only.test" },
    { ip: "::ffff:192.0.2.1", hostname: "mapped.test" },
  ]);
  assert.equal(h.size, 5);
  assert.deepEqual(h.lookup("ip", "dual.test"), ["127.0.0.1", "::1"]);
  assert.deepEqual(h.lookup("tcp", "dual.test"), ["127.0.0.1", "::1"]);
  assert.deepEqual(h.lookup("ip4", "dual.test"), ["127.0.0.1"]);
  assert.deepEqual(h.lookup("udp4", "dual.test"), ["127.0.0.1"]);
  assert.deepEqual(h.lookup("ip6", "dual.test"), ["::1"]);
  assert.deepEqual(h.lookup("tcp6", "dual.test"), ["::1"]);
  assert.deepEqual(h.lookup("ip", "alias.test"), ["127.0.0.1"]);
  assert.deepEqual(h.lookup("ip", "alias2.test"), ["127.0.0.1"]);
  assert.deepEqual(h.lookup("ip4", "v6only.test"), [], "the entry found has no IPv4 address");
  assert.deepEqual(h.lookup("ip4", "mapped.test"), ["192.0.2.1"]);
  assert.deepEqual(h.lookup("ip", "missing.test"), []);
  assert.deepEqual(h.lookup("ip", ""), []);
  assert.deepEqual(new HostMapper([]).lookup("ip", "x.test"), []);
});

Deno.test("hosts: the most specific entry wins even when the family filter empties it", () => {
  const h = new HostMapper([
    { ip: "2001:db8::1", hostname: "www.example.com" },
    { ip: "10.0.0.3", hostname: ".example.com" },
  ]);
  assert.deepEqual(h.lookup("ip4", "www.example.com"), []);
  assert.deepEqual(h.lookup("ip4", "api.example.com"), ["10.0.0.3"]);
});

Deno.test("hosts rejects invalid IPs and empty names with ConfigError", () => {
  assert.throws(() => new HostMapper([{ ip: "10.0.0.256", hostname: "x.test" }]), ConfigError);
  assert.throws(() => new HostMapper([{ ip: "10.0.0.256", hostname: "x.test" }]), /"10\.0\.0\.256".*"x\.test"/);
  assert.throws(() => new HostMapper([{ ip: "10.0.0.1", hostname: " " }]), /Empty host name/);
});
