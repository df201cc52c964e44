import assert from "node:assert/strict";
import { ConfigError } from "../../../core/errors.ts";
import { Admission, AdmissionGroup } from "../../../core/routing/admission.ts";

Deno.test("blacklist admission denies matching clients by IP, CIDR and range", () => {
  const a = new Admission({ matchers: ["192.168.0.0/16", "10.0.0.7", "172.20.0.1-172.20.0.9", "2001:db8::/32"] });
  const cases: [string, boolean][] = [
    ["192.168.1.5:40000", false],
    ["10.0.0.7:1", false],
    ["10.0.0.8:1", true],
    ["172.20.0.5:1", false],
    ["172.20.0.10:1", true],
    ["[2001:db8::5]:1", false],
    ["[2001:db9::5]:1", true],
    ["[::ffff:192.168.3.3]:5", false],
    ["192.168.1.5", false],
    ["/tmp/unix.sock", true],
    ["", true],
  ];
  for (const [addr, want] of cases) assert.equal(a.admit(addr), want, addr);
});

Deno.test("whitelist admission admits only matching clients", () => {
  const a = new Admission({ whitelist: true, matchers: ["127.0.0.0/8", "::1"] });
  assert.equal(a.whitelist, true);
  assert.equal(a.admit("127.0.0.1:50000"), true);
  assert.equal(a.admit("[::1]:50000"), true);
  assert.equal(a.admit("10.0.0.1:50000"), false);
  assert.equal(a.admit("/tmp/unix.sock"), false, "a non-IP client matches nothing");
  assert.equal(a.admit(""), true, "an empty address is admitted, as in GOST");
});

Deno.test("admission resolves host names once at creation (localhost)", async () => {
  const w = await Admission.create({ whitelist: true, matchers: ["localhost", "10.0.0.0/8"] });
  assert.equal(w.admit("127.0.0.1:1234"), true);
  assert.equal(w.admit("10.1.1.1:1234"), true);
  assert.equal(w.admit("192.0.2.1:1234"), false);

  let calls = 0;
  const b = await Admission.create({
    matchers: ["Bad.Host.test"],
    resolve: (host) => {
      calls++;
      assert.equal(host, "bad.host.test");
      return Promise.resolve(["192.0.2.66", "2001:db8::66"]);
    },
  });
  assert.equal(b.admit("192.0.2.66:1"), false);
  assert.equal(b.admit("[2001:db8::66]:1"), false);
  assert.equal(b.admit("192.0.2.67:1"), true);
  assert.equal(calls, 1);
});

Deno.test("admission rejects bad matchers and unresolvable host names with ConfigError", async () => {
  for (const bad of ["10.0.0.1:80", "*.example.com", ".example.com", "10.0.0.0/99", "not a host"]) {
    await assert.rejects(Admission.create({ matchers: [bad] }), ConfigError, bad);
  }
  assert.throws(() => new Admission({ matchers: ["localhost"] }), /"localhost"/, "host names need create()");
  await assert.rejects(
    Admission.create({ matchers: ["nowhere.test"], resolve: () => Promise.reject(new Error("NXDOMAIN")) }),
    /Cannot resolve admission matcher "nowhere.test": NXDOMAIN/,
  );
  await assert.rejects(
    Admission.create({ matchers: ["empty.test"], resolve: () => Promise.resolve([]) }),
    /no addresses/,
  );
});

Deno.test("admission group: any member denying denies", () => {
  const allowLan = new Admission({ whitelist: true, matchers: ["192.168.0.0/16"] });
  const denyOne = new Admission({ matchers: ["192.168.1.66"] });
  const g = new AdmissionGroup([allowLan, denyOne]);
  assert.equal(g.admit("192.168.1.5:1"), true);
  assert.equal(g.admit("192.168.1.66:1"), false);
  assert.equal(g.admit("10.0.0.1:1"), false);
  assert.equal(new AdmissionGroup([]).admit("10.0.0.1:1"), true);
});
