/** The router matches its rules on the form it dials: numeric spellings, resolved names, its own listeners. */
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { closeQuietly } from "../../../core/conn.ts";
import { clientErrorKind, DialError, InvalidTargetError, isServerError, PolicyError } from "../../../core/errors.ts";
import { AddressMatcher } from "../../../core/routing/matcher.ts";
import { Bypass, bypassesAny, BypassGroup } from "../../../core/routing/bypass.ts";
import { DefaultRouter } from "../../../core/routing/router.ts";
import { findLocalService } from "../../../core/routing/local_addrs.ts";
import { openTagged, taggedConns, trailOf } from "../../../core/routing/loop_guard.ts";
import { DatagramTargets } from "../../../core/routing/datagram_targets.ts";
import { nopLogger } from "../../../core/log.ts";
import { tcpEcho } from "../../helpers/servers.ts";

const LOCAL_SPELLINGS = [
  "127.1",
  "127.0.1",
  "2130706433",
  "0x7f000001",
  "0x7f.0.0.1",
  "0177.0.0.1",
  "[::ffff:127.0.0.1]",
  "[::ffff:7f00:1]",
  "127.0.0.1.",
  "0.0.0.0",
  "0",
];

Deno.test("matcher: every numeric spelling of an IP matches the IP's rules; numeric patterns are IPs", () => {
  const m = new AddressMatcher(["127.0.0.0/8", "::1", "localhost", "10.1"]);
  for (const h of LOCAL_SPELLINGS.filter((h) => !h.startsWith("0"))) ok(m.match(`${h}:80`), h);
  ok(m.match("LOCALHOST.:80"));
  ok(m.match("10.0.0.1:80"), "the pattern 10.1 is the address 10.0.0.1");
  ok(!m.match("10.1.0.0:80"));
  ok(!m.match("127x.1:80"));
});

Deno.test("bypassesAny: a target known by its name and addresses matches a pattern for any of them", () => {
  const black = new Bypass({ matchers: ["127.0.0.0/8"] });
  ok(bypassesAny(black, "tcp", ["localhost:80", "127.0.0.1:80"]));
  ok(!bypassesAny(black, "tcp", ["example.com:80", "93.184.216.34:80"]));
  const white = new Bypass({ whitelist: true, matchers: ["example.com"] });
  ok(!bypassesAny(white, "tcp", ["example.com:80", "93.184.216.34:80"]), "a listed name is admitted");
  ok(bypassesAny(white, "tcp", ["other.test:80", "10.0.0.1:80"]));
  const group = new BypassGroup([white, black]);
  ok(bypassesAny(group, "tcp", ["example.com:80", "127.0.0.1:80"]), "the blacklist member sees the address");
  ok(!bypassesAny(group, "tcp", ["example.com:80", "93.184.216.34:80"]));
  const plain = { contains: (_n: string, a: string) => a.startsWith("10.") };
  ok(bypassesAny(plain, "tcp", ["x.test:80", "10.0.0.1:80"]));
  const plainWhite = { whitelist: true, contains: (_n: string, a: string) => !a.startsWith("x.") };
  ok(!bypassesAny(plainWhite, "tcp", ["x.test:80", "10.0.0.1:80"]));
});

const bypassLocal = () => new Bypass({ matchers: ["127.0.0.0/8", "::1", "localhost"] });

Deno.test("router refuses every spelling of a bypassed address and dials a permitted one", async () => {
  const echo = tcpEcho();
  try {
    const router = new DefaultRouter({ bypass: bypassLocal });
    for (const h of LOCAL_SPELLINGS) {
      await rejects(router.dial("tcp", `${h}:${echo.port}`), PolicyError, h);
      await rejects(router.dial("udp", `${h}:${echo.port}`), PolicyError, `udp ${h}`);
    }
    const open = new DefaultRouter({ bypass: () => new Bypass({ matchers: ["10.0.0.0/8"] }) });
    const conn = await open.dial("tcp", `0x7f.1:${echo.port}`);
    equal((conn.remoteAddr as Deno.NetAddr).hostname, "127.0.0.1");
    conn.close();
  } finally {
    echo.close();
  }
});

Deno.test("router refuses a target that is not an address as the client's error, before any lookup", async () => {
  let lookups = 0;
  const router = new DefaultRouter({ resolve: () => (lookups++, Promise.resolve(["127.0.0.1"])) });
  const bad = [
    "example.com:0",
    "[x]y:80",
    "exa mple.com:80",
    "a/b:80",
    "a\u0000b:80",
    `${"a".repeat(254)}:80`,
    "x",
  ];
  for (const addr of bad) {
    for (const network of ["tcp", "udp"] as const) {
      const err = await router.dial(network, addr).then(() => null, (e) => e);
      ok(err instanceof InvalidTargetError, `${network} ${JSON.stringify(addr)}: ${err}`);
      ok(err instanceof DialError, "handlers answer it as a failed dial");
      equal(isServerError(err), false);
      equal(clientErrorKind(err), "protocol");
    }
  }
  equal(lookups, 0);
  // Names as they come: letters, digits, hyphens, underscores, dots; IDN in A-labels.
  await rejects(router.dial("tcp", "my_host-1.xn--bcher-kva.example:1"), (e) => !(e instanceof InvalidTargetError));
});

Deno.test("router refuses a name that resolves into a bypassed range (system resolver and hosts mapping)", async () => {
  const echo = tcpEcho();
  try {
    const noName = () => new Bypass({ matchers: ["127.0.0.0/8", "::1"] });
    const router = new DefaultRouter({ bypass: noName });
    await rejects(router.dial("tcp", `localhost:${echo.port}`), /localhost resolves to/);
    await rejects(router.dial("tcp", `LOCALHOST.:${echo.port}`), PolicyError);
    const mapped = new DefaultRouter({ bypass: noName, resolve: () => Promise.resolve(["10.9.9.9", "127.0.0.1"]) });
    await rejects(mapped.dial("tcp", `db.test:${echo.port}`), /resolves to 127\.0\.0\.1/);
    equal(await mapped.reuseKey("tcp", `db.test:${echo.port}`), undefined, "no pooled conn for it either");
    // without a bypass the same name is dialed at the address it resolves to
    const conn = await new DefaultRouter().dial("tcp", `LOCALHOST.:${echo.port}`);
    ok(["127.0.0.1", "::1"].includes((conn.remoteAddr as Deno.NetAddr).hostname));
    conn.close();
  } finally {
    echo.close();
  }
});

Deno.test("router dials the addresses of a name in order: the next one when one refuses", async () => {
  const echo = tcpEcho();
  try {
    const router = new DefaultRouter({ resolve: () => Promise.resolve(["127.0.0.2", "127.0.0.1"]) });
    const conn = await router.dial("tcp", `two.test:${echo.port}`);
    equal((conn.remoteAddr as Deno.NetAddr).hostname, "127.0.0.1");
    conn.close();
  } finally {
    echo.close();
  }
});

Deno.test("router with ownEndpoints refuses this process's own listeners in any spelling", async () => {
  using own = Deno.listen({ hostname: "0.0.0.0", port: 0 });
  const echo = tcpEcho();
  const port = (own.addr as Deno.NetAddr).port;
  const endpoints = [{ name: "svc", addr: own.addr }, { name: "api", label: "the Web API", addr: undefined }];
  const router = new DefaultRouter({ ownEndpoints: () => endpoints });
  try {
    for (const h of ["127.0.0.1", "127.1", "0x7f000001", "[::ffff:127.0.0.1]", "0.0.0.0", "localhost", "127.0.0.9"]) {
      await rejects(router.dial("tcp", `${h}:${port}`), /service svc of this process .*allowSelfTarget/, h);
    }
    equal(await router.resolveDirect("udp", `127.1:${port}`), `127.0.0.1:${port}`, "UDP to a TCP listener's port");
    const conn = await router.dial("tcp", `127.0.0.1:${echo.port}`);
    conn.close();
  } finally {
    echo.close();
  }
  equal(findLocalService(endpoints, "127.1", port)?.name, "svc");
  equal(findLocalService(endpoints, "127.1", port, "udp"), undefined);
});

Deno.test("resolveDirect answers the canonical address, or refuses by the same rules as dial", async () => {
  const router = new DefaultRouter({ bypass: () => new Bypass({ matchers: ["10.0.0.0/8"] }) });
  equal(await router.resolveDirect("udp", "0x7f.1:53"), "127.0.0.1:53");
  equal(await router.resolveDirect("udp", "[::ffff:127.0.0.1]:53"), "127.0.0.1:53");
  await rejects(router.resolveDirect("udp", "10.1:53"), PolicyError);
  await rejects(router.resolveDirect("udp", "no-such-host.invalid:53"), DialError);
  const targets = new DatagramTargets(router, {}, nopLogger, { transport: "udp", hostname: "::", port: 1 });
  const first = targets.get("0x7f.1", 53);
  ok(first instanceof Promise, "a new target asks the router");
  deepEqual(await first, { transport: "udp", hostname: "::ffff:127.0.0.1", port: 53 });
  deepEqual(targets.get("0x7f.1", 53), { transport: "udp", hostname: "::ffff:127.0.0.1", port: 53 }, "then at once");
  equal(await targets.get("10.0.0.1", 53), null);
  equal(targets.get("10.0.0.1", 53), null);
});

Deno.test("loop guard: a conn opened for a trail carries it to the service that accepts it, until it is closed", async () => {
  using ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (ln.addr as Deno.NetAddr).port;
  const before = taggedConns();
  const accepted = ln.accept();
  const conn = await openTagged("127.0.0.1", port, ["a", "b"], () => Deno.connect({ hostname: "127.0.0.1", port }));
  const peer = await accepted;
  const src = `${(peer.remoteAddr as Deno.NetAddr).hostname}:${(peer.remoteAddr as Deno.NetAddr).port}`;
  deepEqual(await trailOf(src, port), ["a", "b"]);
  deepEqual(await trailOf(`[::ffff:127.0.0.1]:${(peer.remoteAddr as Deno.NetAddr).port}`, port), ["a", "b"]);
  equal(await trailOf("192.0.2.1:4000", port), undefined, "an outside client has none");
  conn.close();
  equal(taggedConns(), before);
  equal(await trailOf(src, port), undefined);
  closeQuietly(peer);
});

Deno.test("loop guard: a service accepting a local conn before its dialer tagged it waits for the tag", async () => {
  using ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (ln.addr as Deno.NetAddr).port;
  let release!: () => void;
  const held = new Promise<void>((r) => release = r);
  // the dialing side's continuation is held back: the accepting side reads the trail first
  const opening = openTagged("127.0.0.1", port, ["a"], async () => {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    await held;
    return c;
  });
  const peer = await ln.accept();
  const remote = peer.remoteAddr as Deno.NetAddr;
  const trail = trailOf(`${remote.hostname}:${remote.port}`, port);
  ok(trail instanceof Promise, "it waits");
  release();
  deepEqual(await trail, ["a"]);
  (await opening).close();
  peer.close();
});
