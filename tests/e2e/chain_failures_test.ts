/**
 * Chains that fail, with real processes over loopback: round robin over two upstreams and failover when one dies;
 * a dead node, a node that hangs, one that answers garbage, proxies that refuse our credentials, a chain that loops
 * back into its own service. Each gives the client 502 (HTTP) or REP 0x05 (SOCKS5) quickly, names the node in the
 * log and marks it; no conn is left open, neither in the gost.ts process (its fd count returns to where it was) nor
 * at the failing node. Last, UDP ASSOCIATE through a socks5 chain (our socks5 server, dante).
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { HandshakeReader } from "../../core/bufio.ts";
import { closeQuietly } from "../../core/conn.ts";
import { DEFAULT_DIAL_TIMEOUT_MS, findLocalService } from "../../core/routing/router.ts";
import {
  Cmd,
  decodeUdpHeader,
  encodeGreeting,
  encodeRequest,
  encodeUdpHeader,
  readMethodReply,
  readReply,
} from "../../handlers/socks5/wire.ts";
import { freePort, type GostProcess, startGost } from "../helpers/gost.ts";
import { startDante, startMicrosocks } from "../helpers/peers.ts";
import { curl, has } from "../helpers/run.ts";
import { httpOrigin, udpEcho } from "../helpers/servers.ts";
import { eventually } from "../helpers/wait.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
/**
 * Bound on how long a failing node may take to give the client its 502 / REP: the failures answer at once or after
 * a 500-600 ms timeout, and half the default dial timeout leaves a slow machine room while a failure that waited for
 * that default (or hung) still fails the test.
 */
const FAIL_FAST_MS = DEFAULT_DIAL_TIMEOUT_MS / 2;

/** Open file descriptors of a process (sockets included). */
function fds(pid: number): number {
  let n = 0;
  for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) n++;
  return n;
}

/** Asserts the process gets back to `baseline` fds (every conn of the failures closed). */
async function assertFdsBack(g: GostProcess, baseline: number, what: string): Promise<void> {
  const back = await eventually(() => fds(g.child.pid) <= baseline, 10_000);
  ok(back, `${what}: ${fds(g.child.pid)} fds open, ${baseline} before the failures`);
}

const count = (g: GostProcess, re: RegExp) => g.lines.filter((l) => re.test(l)).length;
const accepts = (g: GostProcess) => count(g, / <> /);
/** Conns the process logged as ended (a conn's `><` line comes after every line its handling logged). */
const ends = (g: GostProcess) => count(g, / >< /);
/** The `error` lines of a gost.ts log, as messages. */
/**
 * The messages of the error lines, each as often as it was logged: a line the logger's rate limit left out is
 * counted by the summary line that follows its window (`suppressed`: how many; the summary is not one of them).
 */
const errors = (g: GostProcess) =>
  g.lines.filter((l) => l.includes('"level":"error"')).map((l) => JSON.parse(l))
    .flatMap((j: { msg: string; suppressed?: number }) => Array<string>(j.suppressed ?? 1).fill(j.msg));

/** HTTP status through our http proxy (absolute-URI request), with how long it took. */
async function viaHttp(proxy: number, url: string): Promise<{ status: number; ms: number; body: string }> {
  const t0 = Date.now();
  const r = await curl("-s", "-o", "-", "-w", "\n%{http_code}", "-x", `http://127.0.0.1:${proxy}`, url);
  const nl = r.stdout.lastIndexOf("\n");
  return { status: Number(r.stdout.slice(nl + 1)), body: r.stdout.slice(0, nl), ms: Date.now() - t0 };
}

/** A SOCKS5 CONNECT without auth; returns the reply code and how long it took. */
async function socksConnect(proxy: number, host: string, port: number): Promise<{ rep: number; ms: number }> {
  const t0 = Date.now();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: proxy });
  const timer = setTimeout(() => closeQuietly(conn), 10_000);
  try {
    const r = new HandshakeReader(conn);
    await conn.write(encodeGreeting([0]));
    equal(await readMethodReply(r), 0);
    await conn.write(encodeRequest(Cmd.Connect, host, port));
    return { rep: (await readReply(r)).code, ms: Date.now() - t0 };
  } finally {
    clearTimeout(timer);
    closeQuietly(conn);
  }
}

/**
 * A node that fails at the protocol level: `hang` accepts and never answers; `garbage` answers bytes that are no
 * protocol. Both keep each conn until the peer closes it, and count the conns still open.
 */
function badNode(kind: "hang" | "garbage") {
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  let accepted = 0;
  (async () => {
    for await (const c of ln) {
      accepted++;
      open.add(c);
      (async () => {
        const buf = new Uint8Array(4096);
        try {
          let answered = false;
          while (await c.read(buf) !== null) {
            if (kind === "garbage" && !answered) {
              answered = true;
              const junk = crypto.getRandomValues(new Uint8Array(512));
              junk.set([0x00, 0xff, 0x17]);
              await c.write(junk);
            }
          }
        } catch {
          // reset by the proxy
        } finally {
          open.delete(c);
          closeQuietly(c);
        }
      })();
    }
  })().catch(() => {});
  return {
    port: (ln.addr as Deno.NetAddr).port,
    get open() {
      return open.size;
    },
    get accepted() {
      return accepted;
    },
    close() {
      closeQuietly(ln);
      for (const c of open) closeQuietly(c);
    },
  };
}

// ------------------------------------------------------------------ round robin and failover

Deno.test("round robin spreads requests over two upstreams; when one dies the next requests use the other", async () => {
  const origin = httpOrigin();
  const [a, b, plain, retrying] = [freePort(), freePort(), freePort(), freePort()];
  const upA = await startGost(["-L", `http://127.0.0.1:${a}`]);
  await using upB = await startGost(["-L", `http://127.0.0.1:${b}`]);
  const node = `http://127.0.0.1:${a},127.0.0.1:${b}?strategy=round`;
  await using entry = await startGost(["-L", `http://127.0.0.1:${plain}`, "-F", node]);
  await using entryRetry = await startGost(["-L", `http://127.0.0.1:${retrying}?retries=1`, "-F", node]);
  try {
    const url = `http://127.0.0.1:${origin.port}/rr`;
    for (let i = 0; i < 10; i++) equal((await viaHttp(plain, url)).status, 200);
    ok(await eventually(() => accepts(upA) + accepts(upB) === 10), "10 conns reach the upstreams");
    equal(accepts(upA), 5, "round robin: half of the requests to A");
    equal(accepts(upB), 5, "round robin: half of the requests to B");

    await upA.stop();
    const deadNode = `node-0@127.0.0.1:${a}`;
    // retries=0 (GOST's default): the request that picks the dead node gets 502 and marks it; the next ones all
    // go to B (the mark lasts failTimeout, 30 s with ?strategy= on -F) without trying A again.
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await viaHttp(plain, url)).status);
    deepEqual(statuses, [502, 200, 200, 200, 200, 200], "the counter points at A first; A is skipped after that");
    ok(await eventually(() => errors(entry).some((m) => m.includes(deadNode))), "the error names the dead node");
    match(errors(entry).find((m) => m.includes(deadNode))!, /Connection refused/);
    equal(errors(entry).length, 1, "one failure only: the marked node is not tried again");

    // retries=1: the attempt that picks A fails (a warning names it) and the retry goes to B: no client sees it.
    for (let i = 0; i < 6; i++) equal((await viaHttp(retrying, url)).status, 200);
    const warned = () => entryRetry.lines.filter((l) => l.includes('"level":"warn"') && l.includes(deadNode));
    ok(
      await eventually(() => warned().length === 1),
      "the failed attempt is logged once, as a warning naming the node",
    );
    // every line the six requests logged is in once their six conns logged their end
    ok(await eventually(() => ends(entryRetry) === 6), `${ends(entryRetry)} of 6 conns logged their end`);
    equal(warned().length, 1);
    match(warned()[0], /attempt 1 of 2/);
    equal(errors(entryRetry).length, 0);
  } finally {
    await upA.stop();
    await origin.close();
  }
});

// ------------------------------------------------------------------ a failing node: 502 / 0x05, named, marked

/** Starts `-L http -L socks5 -F node`, checks both clients' answers, the log and the fds; returns the process. */
async function assertNodeFailure(
  node: string,
  nodeAddr: string,
  opts: { serviceQuery?: string; maxMs: number; cause: RegExp },
): Promise<void> {
  const [http, socks] = [freePort(), freePort()];
  const q = opts.serviceQuery ?? "";
  await using g = await startGost(
    ["-L", `http://127.0.0.1:${http}${q}`, "-L", `socks5://127.0.0.1:${socks}${q}`, "-F", node],
    { listening: 2 },
  );
  const target = "http://127.0.0.1:9/never";
  await viaHttp(http, target); // warm-up: whatever the first conn allocates for good stays out of the count
  await eventually(() => errors(g).length === 1);
  const baseline = fds(g.child.pid);
  for (let i = 0; i < 3; i++) {
    const r = await viaHttp(http, target);
    equal(r.status, 502, `http client through ${node}`);
    ok(r.ms < opts.maxMs, `502 after ${r.ms} ms, expected under ${opts.maxMs}`);
    const s = await socksConnect(socks, "127.0.0.1", 9);
    equal(s.rep, 0x05, `socks5 client through ${node}: REP`);
    ok(s.ms < opts.maxMs, `REP after ${s.ms} ms, expected under ${opts.maxMs}`);
  }
  ok(await eventually(() => errors(g).length === 7), `7 errors logged:\n${g.lines.join("\n")}`);
  for (const m of errors(g)) {
    ok(m.includes(`chain chain-0: node node-0@${nodeAddr}: `), `the error names the node: ${m}`);
    match(m, opts.cause);
  }
  await assertFdsBack(g, baseline, node);
}

Deno.test("a dead node: 502 and REP 0x05 at once, the node named", async () => {
  const dead = freePort();
  await assertNodeFailure(`http://127.0.0.1:${dead}`, `127.0.0.1:${dead}`, { maxMs: FAIL_FAST_MS, cause: /refused/i });
});

Deno.test("a node that hangs: 502 and 0x05 after the node's connectTimeout or the service's dialTimeout", async (t) => {
  const hang = badNode("hang");
  try {
    await t.step("-F …?connectTimeout=500ms", async () => {
      await assertNodeFailure(`http://127.0.0.1:${hang.port}?connectTimeout=500ms`, `127.0.0.1:${hang.port}`, {
        maxMs: FAIL_FAST_MS,
        cause: /timed out after 500 ms/,
      });
      ok(await eventually(() => hang.open === 0), `${hang.open} conns to the hanging node left open`);
    });
    await t.step("-L …?dialTimeout=600ms (the route is aborted at the node it waits for)", async () => {
      const before = hang.accepted;
      await assertNodeFailure(`socks5://127.0.0.1:${hang.port}`, `127.0.0.1:${hang.port}`, {
        serviceQuery: "?dialTimeout=600ms",
        maxMs: FAIL_FAST_MS,
        cause: /dial timed out after 600 ms/,
      });
      equal(hang.accepted - before, 7);
      ok(await eventually(() => hang.open === 0), `${hang.open} conns to the hanging node left open`);
    });
  } finally {
    hang.close();
  }
});

Deno.test("a node that answers garbage: 502 and 0x05, the node named, its conn closed", async (t) => {
  const junk = badNode("garbage");
  try {
    for (const scheme of ["http", "socks5"]) {
      await t.step(`${scheme} connector`, async () => {
        await assertNodeFailure(`${scheme}://127.0.0.1:${junk.port}`, `127.0.0.1:${junk.port}`, {
          maxMs: FAIL_FAST_MS,
          cause: /./,
        });
        ok(await eventually(() => junk.open === 0), `${junk.open} conns to the garbage node left open`);
      });
    }
  } finally {
    junk.close();
  }
});

Deno.test("a proxy that refuses our credentials: 502 and 0x05, the node named", async (t) => {
  await t.step("our http proxy with auth, -F without credentials (407)", async () => {
    const up = freePort();
    await using _up = await startGost(["-L", `http://u:p@127.0.0.1:${up}`]);
    await assertNodeFailure(`http://127.0.0.1:${up}`, `127.0.0.1:${up}`, {
      maxMs: FAIL_FAST_MS,
      cause: /authentication failed/,
    });
  });
  await t.step("microsocks with auth, -F socks5 without credentials (no acceptable method)", async () => {
    await using m = await startMicrosocks({ user: "m", pass: "mp" });
    await assertNodeFailure(`socks5://127.0.0.1:${m.port}`, `127.0.0.1:${m.port}`, {
      maxMs: FAIL_FAST_MS,
      cause: /accepts none of the methods/,
    });
  });
});

Deno.test("the second hop of a 2-hop chain is dead: the first hop's 502 names and marks it; no conn left at hop 1", async () => {
  const [hop1, dead, entry] = [freePort(), freePort(), freePort()];
  await using h1 = await startGost(["-L", `http://127.0.0.1:${hop1}`]);
  await using g = await startGost([
    "-L",
    `http://127.0.0.1:${entry}`,
    "-F",
    `http://127.0.0.1:${hop1}`,
    "-F",
    `http://127.0.0.1:${dead}`,
  ]);
  for (let i = 0; i < 3; i++) equal((await viaHttp(entry, "http://127.0.0.1:9/")).status, 502);
  ok(await eventually(() => errors(g).length === 3));
  for (const m of errors(g)) {
    match(m, new RegExp(`node node-0@127\\.0\\.0\\.1:${dead}: .*CONNECT 127\\.0\\.0\\.1:${dead}`));
  }
  ok(await eventually(() => count(h1, / >< /) === 3), "hop 1 closed each conn the entry opened");
  equal(accepts(h1), 3);
});

Deno.test("nodes that fail after the TCP dial (hang, garbage, refused auth) are marked: the next requests skip them", async () => {
  const origin = httpOrigin();
  const hang = badNode("hang");
  const junk = badNode("garbage");
  const [authUp, goodUp, entry] = [freePort(), freePort(), freePort()];
  try {
    await using _auth = await startGost(["-L", `http://u:p@127.0.0.1:${authUp}`]);
    await using good = await startGost(["-L", `http://127.0.0.1:${goodUp}`]);
    const nodes = [hang.port, junk.port, authUp, goodUp].map((p) => `127.0.0.1:${p}`);
    await using g = await startGost([
      "-L",
      `http://127.0.0.1:${entry}`,
      "-F",
      `http://${nodes.join(",")}?strategy=round&connectTimeout=500ms`,
    ]);
    const statuses = [];
    for (let i = 0; i < 9; i++) statuses.push((await viaHttp(entry, `http://127.0.0.1:${origin.port}/`)).status);
    deepEqual(statuses, [502, 502, 502, 200, 200, 200, 200, 200, 200], "each bad node fails once, then is skipped");
    ok(await eventually(() => accepts(good) === 6), `${accepts(good)} conns reached the healthy node`);
    ok(await eventually(() => errors(g).length === 3));
    const msgs = errors(g).sort();
    match(msgs[0], new RegExp(`node node-0@${nodes[0]}: Handshake timed out after 500 ms`));
    match(msgs[1], new RegExp(`node node-1@${nodes[1]}: http connector: .* starts no HTTP response: 0x00`));
    match(msgs[2], new RegExp(`node node-2@${nodes[2]}: http connector: proxy authentication failed`));
    ok(await eventually(() => hang.open === 0 && junk.open === 0), "the bad nodes' conns are closed");
  } finally {
    hang.close();
    junk.close();
    await origin.close();
  }
});

// ------------------------------------------------------------------ a chain that loops back on itself

Deno.test("a chain that loops back into its own service fails fast with 502, bounded conns and fds", async (t) => {
  await t.step("-L http://127.0.0.1:P -L socks5://… -F http://127.0.0.1:P", async () => {
    // -F applies to both services: service-0 chains into itself (the loop, refused before dialing: the node is its
    // own IP and port); service-1 chains into service-0, which is fine in itself and answers it 502.
    const [p, q] = [freePort(), freePort()];
    await using g = await startGost(
      ["-L", `http://127.0.0.1:${p}`, "-L", `socks5://127.0.0.1:${q}`, "-F", `http://127.0.0.1:${p}`],
      { listening: 2 },
    );
    await viaHttp(p, "http://127.0.0.1:9/"); // warm-up
    const baseline = fds(g.child.pid);
    const acceptsBefore = accepts(g);
    const t0 = Date.now();
    const burst = await Promise.all(Array.from({ length: 20 }, () => viaHttp(p, "http://127.0.0.1:9/")));
    const socks = await Promise.all(Array.from({ length: 5 }, () => socksConnect(q, "127.0.0.1", 9)));
    ok(Date.now() - t0 < 10_000, `25 looping requests took ${Date.now() - t0} ms`);
    ok(burst.every((r) => r.ms < 5000), `each 502 at once: ${burst.map((r) => r.ms)} ms`);
    deepEqual(burst.map((r) => r.status), Array(20).fill(502));
    ok(socks.every((r) => r.rep !== 0), `socks5 replies: ${socks.map((r) => r.rep)}`);
    // one conn per http client; two per socks5 client (service-1, then its hand-off to service-0)
    ok(await eventually(() => accepts(g) - acceptsBefore === 30), `${accepts(g) - acceptsBefore} conns accepted`);
    const loop = `chain chain-0: node node-0@127.0.0.1:${p}: the chain loops back to service service-0 itself: ` +
      `it listens on 127.0.0.1:${p}`;
    const loops = () => errors(g).filter((m) => m === loop).length;
    ok(
      await eventually(() => loops() === 1 + 20 + 5, 10_000), // summaries of rate-limited lines come within 2 s
      `${loops()} loop errors:\n${errors(g).join("\n")}`,
    );
    const via =
      `chain chain-0: node-0@127.0.0.1:${p} > 127.0.0.1:9: http connector: CONNECT 127.0.0.1:9: 502 Bad Gateway`;
    ok(
      await eventually(() => errors(g).filter((m) => m === via).length === 5),
      "service-1 names the hop that said 502",
    );
    await assertFdsBack(g, baseline, "loop");
    // still healthy: it answers at once
    equal((await viaHttp(p, "http://127.0.0.1:9/")).status, 502);
  });

  await t.step("-F http://localhost:P: the loop is seen on the dialed conn (one extra conn per request)", async () => {
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const resolvesToV4 = await Deno.connect({ hostname: "localhost", port: (probe.addr as Deno.NetAddr).port })
      .then((c) => (c.close(), true), () => false);
    probe.close();
    if (!resolvesToV4) return console.log("skipped: localhost does not reach 127.0.0.1 here");
    const p = freePort();
    await using g = await startGost(["-L", `http://127.0.0.1:${p}`, "-F", `http://localhost:${p}`]);
    await viaHttp(p, "http://127.0.0.1:9/"); // warm-up
    const baseline = fds(g.child.pid);
    const before = accepts(g);
    const burst = await Promise.all(Array.from({ length: 10 }, () => viaHttp(p, "http://127.0.0.1:9/")));
    deepEqual(burst.map((r) => r.status), Array(10).fill(502));
    // Every accepted conn ended: none is open to dial another (a loop that went on would never get here).
    ok(await eventually(() => ends(g) === accepts(g), 10_000), `${accepts(g) - ends(g)} conns still open`);
    ok(accepts(g) - before <= 20, `${accepts(g) - before} conns accepted for 10 requests`);
    ok(
      errors(g).some((m) => m.includes(`node node-0@localhost:${p}: the chain loops back to service service-0 itself`)),
      errors(g).join("\n"),
    );
    await assertFdsBack(g, baseline, "loop by name");
  });
});

Deno.test("findLocalService: same IP, wildcard listeners, other ports and families", () => {
  const svc = (name: string, hostname: string, port: number) => ({
    name,
    addr: { transport: "tcp" as const, hostname, port },
  });
  const services = [svc("v4", "127.0.0.1", 1000), svc("any4", "0.0.0.0", 2000), svc("any", "::", 3000)];
  equal(findLocalService(services, "127.0.0.1", 1000)?.name, "v4");
  equal(findLocalService(services, "127.0.0.2", 1000), undefined, "another loopback IP is another socket");
  equal(findLocalService(services, "127.0.0.1", 1001), undefined);
  equal(findLocalService(services, "127.0.0.5", 2000)?.name, "any4");
  equal(findLocalService(services, "::1", 2000), undefined, "0.0.0.0 does not listen on IPv6");
  equal(findLocalService(services, "[::1]", 3000)?.name, "any");
  equal(findLocalService(services, "::ffff:127.0.0.1", 3000)?.name, "any");
  equal(findLocalService(services, "192.0.2.1", 3000), undefined, "not an IP of this host");
  equal(findLocalService(services, "localhost", 1000), undefined, "names are checked on the dialed conn");
  equal(findLocalService([{ name: "failed" }], "127.0.0.1", 1000), undefined);
});

// ------------------------------------------------------------------ UDP through a socks5 chain

/** UDP ASSOCIATE on `proxy`, then datagrams to `echoPort` through it; returns the payloads echoed back. */
async function udpThrough(proxy: number, echoPort: number, messages: string[]): Promise<string[]> {
  const ctl = await Deno.connect({ hostname: "127.0.0.1", port: proxy });
  const sock = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  try {
    const r = new HandshakeReader(ctl);
    await ctl.write(encodeGreeting([0]));
    equal(await readMethodReply(r), 0);
    await ctl.write(encodeRequest(Cmd.UdpAssociate, "0.0.0.0", 0));
    const rep = await readReply(r);
    equal(rep.code, 0, "UDP ASSOCIATE granted");
    const relay: Deno.NetAddr = { transport: "udp", hostname: rep.addr.host, port: rep.addr.port };
    const got: string[] = [];
    for (const m of messages) {
      const header = encodeUdpHeader("127.0.0.1", echoPort);
      const out = new Uint8Array(header.length + m.length);
      out.set(header);
      out.set(enc.encode(m), header.length);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<never>((_, rej) => timer = setTimeout(() => rej(new Error(`no reply to "${m}"`)), 5000));
      try {
        await sock.send(out, relay);
        const [d] = await Promise.race([sock.receive(), late]);
        const h = decodeUdpHeader(d);
        deepEqual(h.addr, { host: "127.0.0.1", port: echoPort });
        got.push(dec.decode(d.subarray(h.dataOffset)));
      } finally {
        clearTimeout(timer);
      }
    }
    return got;
  } finally {
    sock.close();
    ctl.close();
  }
}

Deno.test("UDP through a socks5 chain: ASSOCIATE on the entry, datagrams via our socks5 hop and via dante", async (t) => {
  const echo = udpEcho("echo:");
  try {
    const hops: [string, () => Promise<{ port: number; [Symbol.asyncDispose](): Promise<void> }>][] = [
      ["our socks5 server (udp=true)", async () => {
        const port = freePort();
        const g = await startGost(["-L", `socks5://127.0.0.1:${port}?udp=true`]);
        return { port, [Symbol.asyncDispose]: () => g[Symbol.asyncDispose]() };
      }],
    ];
    if (has("danted")) hops.push(["dante (udpassociate)", () => startDante()]);
    else console.log("skipped dante: danted is not installed (CI installs it)");
    for (const [name, start] of hops) {
      await t.step(name, async () => {
        await using hop = await start();
        const entry = freePort();
        await using _g = await startGost([
          "-L",
          `socks5://127.0.0.1:${entry}?udp=true`,
          "-F",
          `socks5://127.0.0.1:${hop.port}`,
        ]);
        const msgs = ["one", "two", "x".repeat(1200)];
        deepEqual(await udpThrough(entry, echo.port, msgs), msgs.map((m) => `echo:${m}`));
      });
    }
  } finally {
    echo.close();
  }
});
