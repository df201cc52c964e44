/**
 * GOST's virtual node (`direct`/`virtual` connector and dialer: a chain node that dials from this host) and
 * `forwarder.hop` (a forwarder that names a top-level hop, read live), with real gost.ts processes, curl and TCP
 * peers over loopback.
 */
import { equal, match, notEqual, ok } from "node:assert/strict";
import { freePort, type GostProcess, runGost, startGost } from "../helpers/gost.ts";
import { call, startApi } from "../helpers/api.ts";
import { readAll } from "../helpers/io.ts";
import { curl } from "../helpers/run.ts";
import { httpOrigin, tcpOrigin } from "../helpers/servers.ts";
import { writeFull } from "../../core/conn.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Writes `config` as JSON to a fresh temporary file and returns its path. */
async function configFile(config: unknown): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "gost-direct-" });
  const file = `${dir}/gost.json`;
  await Deno.writeTextFile(file, JSON.stringify(config));
  return file;
}

/** How many conns to the origin's port `up` opened (its `src <-> dst` lines, logged before it relays). */
function carried(up: GostProcess, port: number): number {
  return up.lines.filter((l) => l.includes(`<-> 127.0.0.1:${port}`)).length;
}

/** A TCP peer that answers every conn with `name:` and then echoes until EOF. */
function namedEcho(name: string): { port: number; close(): void } {
  return tcpOrigin(async (c) => {
    await writeFull(c, enc.encode(`${name}:`));
    const buf = new Uint8Array(1024);
    for (let n = await c.read(buf); n !== null; n = await c.read(buf)) await writeFull(c, buf.subarray(0, n));
    await c.closeWrite();
  });
}

/** Connects to `port`, half-closes at once and returns what the peer sent before closing. */
async function greeting(port: number): Promise<string> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await c.closeWrite();
    return dec.decode(await readAll(c));
  } finally {
    c.close();
  }
}

Deno.test("-F direct:// reaches a local origin from this host: plain HTTP and CONNECT, refusals as without a chain", async () => {
  const origin = httpOrigin();
  const port = freePort();
  const dead = freePort();
  await using g = await startGost(["-L", `http://127.0.0.1:${port}`, "-F", "direct://", "-D"]);
  const proxy = `http://127.0.0.1:${port}`;
  equal((await curl("-sS", "-x", proxy, `http://127.0.0.1:${origin.port}/d`)).stdout, "hello /d");
  equal((await curl("-sS", "-p", "-x", proxy, `http://127.0.0.1:${origin.port}/c`)).stdout, "hello /c");
  equal(origin.requests, 2);
  ok(g.lines.some((l) => /route\(retry=0\) node-0@ > 127\.0\.0\.1:/.test(l)), "the dial went through the node");
  const refused = await curl("-sS", "-o", "/dev/null", "-w", "%{http_code}", "-x", proxy, `http://127.0.0.1:${dead}/`);
  equal(refused.stdout, "502", "an unreachable target is the target's failure");
  const self = await curl("-sS", "-o", "/dev/null", "-w", "%{http_code}", "-x", proxy, `http://127.0.0.1:${port}/`);
  equal(self.stdout, "403", "the self-target guard of a direct dial holds through a direct node");
  equal((await curl("-sS", "-x", proxy, `http://127.0.0.1:${origin.port}/again`)).stdout, "hello /again");
  await origin.close();
});

Deno.test("a YAML direct node: connector direct alone is enough; action reject refuses every target with 403", async () => {
  const origin = httpOrigin();
  const open = freePort();
  const closed = freePort();
  const file = await configFile({
    services: [
      { name: "open", addr: `127.0.0.1:${open}`, handler: { type: "http", chain: "direct" } },
      { name: "closed", addr: `127.0.0.1:${closed}`, handler: { type: "http", chain: "reject" } },
    ],
    chains: [
      { name: "direct", hops: [{ name: "h0", nodes: [{ name: "n0", connector: { type: "direct" } }] }] },
      {
        name: "reject",
        hops: [{
          name: "h1",
          nodes: [{
            name: "n1",
            connector: { type: "virtual", metadata: { action: "reject" } },
            dialer: { type: "virtual" },
          }],
        }],
      },
    ],
  });
  await using _g = await startGost(["-C", file], { listening: 2 });
  const url = `http://127.0.0.1:${origin.port}/y`;
  equal((await curl("-sS", "-x", `http://127.0.0.1:${open}`, url)).stdout, "hello /y");
  for (const [flag, code] of [["-0", "%{http_code}"], ["-p", "%{http_connect}"]]) {
    const r = await curl("-sS", flag, "-o", "/dev/null", "-w", code, "-x", `http://127.0.0.1:${closed}`, url);
    equal(r.stdout, "403", `rejected ${flag}: ${r.stderr}`);
  }
  equal(origin.requests, 1, "the rejecting node dialed nothing");
  await origin.close();
});

Deno.test("a hop with a dead proxy and a backup direct node falls back to direct; the backup idles while the proxy is up", async () => {
  const origin = httpOrigin();
  const live = freePort();
  const dead = freePort();
  const p1 = freePort();
  const p2 = freePort();
  await using up = await startGost(["-L", `socks5://127.0.0.1:${live}`]);
  const hop = (proxy: number) => ({
    name: "h",
    selector: { strategy: "fifo", maxFails: 1, failTimeout: "1h" },
    nodes: [
      { name: "proxy", addr: `127.0.0.1:${proxy}`, connector: { type: "socks5" } },
      { name: "spare", connector: { type: "direct" }, dialer: { type: "direct" }, metadata: { backup: true } },
    ],
  });
  const file = await configFile({
    services: [
      { name: "f1", addr: `127.0.0.1:${p1}`, handler: { type: "http", chain: "c1" } },
      // one retry: the attempt that finds the proxy dead marks it, the next one takes the backup
      { name: "f2", addr: `127.0.0.1:${p2}`, handler: { type: "http", chain: "c2", retries: 1 } },
    ],
    chains: [{ name: "c1", hops: [hop(live)] }, { name: "c2", hops: [hop(dead)] }],
  });
  await using f = await startGost(["-C", file], { listening: 2 });
  const url = `http://127.0.0.1:${origin.port}/b`;
  for (let i = 0; i < 3; i++) equal((await curl("-sS", "-x", `http://127.0.0.1:${p1}`, url)).stdout, "hello /b");
  ok(carried(up, origin.port) >= 3, "the live proxy carried f1's requests");
  const before = carried(up, origin.port);
  for (let i = 0; i < 3; i++) {
    const r = await curl("-sS", "-x", `http://127.0.0.1:${p2}`, url);
    equal(r.stdout, "hello /b", `${r.stderr}\n${f.lines.join("\n")}`);
  }
  equal(carried(up, origin.port), before, "f2's requests went direct, not through a proxy");
  equal(origin.requests, 6);
  await origin.close();
});

Deno.test("forwarder.hop: a tcp forwarder goes to the named hop's nodes; PUT /config/hops/h1 moves the next conn without a restart", async () => {
  const a = namedEcho("a");
  const b = namedEcho("b");
  const c = namedEcho("c");
  const apiPort = freePort();
  const port = freePort();
  const file = await configFile({
    hops: [{ name: "h1", nodes: [{ name: "a", addr: `127.0.0.1:${a.port}` }] }],
    services: [{
      name: "fwd",
      addr: `127.0.0.1:${port}`,
      handler: { type: "tcp" },
      listener: { type: "tcp" },
      forwarder: { hop: "h1" },
    }],
  });
  await using g = await startApi(["-C", file, "-api", `127.0.0.1:${apiPort}`], { apiPort, listening: 1 });
  equal(await greeting(port), "a:");
  // a conn opened before the PUT keeps going: the service is not restarted
  const held = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const buf = new Uint8Array(16);
    equal(dec.decode(buf.subarray(0, (await held.read(buf))!)), "a:");
    const put = await call("PUT", `${g.base}/config/hops/h1`, {
      name: "h1",
      selector: { strategy: "round" },
      nodes: [{ name: "b", addr: `127.0.0.1:${b.port}` }, { name: "c", addr: `127.0.0.1:${c.port}` }],
    });
    equal(put.status, 200, put.text);
    const next = [await greeting(port), await greeting(port), await greeting(port), await greeting(port)];
    equal(next.filter((s) => s === "b:").length, 2, `round robin over the new nodes: ${next}`);
    equal(next.filter((s) => s === "c:").length, 2, `round robin over the new nodes: ${next}`);
    await writeFull(held, enc.encode("still"));
    equal(dec.decode(buf.subarray(0, (await held.read(buf))!)), "still");
  } finally {
    held.close();
  }
  const status = await call("GET", `${g.base}/config/services/fwd`);
  equal(status.body.data.forwarder.hop, "h1");
  equal(g.lines.filter((l) => /service fwd is listening on/.test(l)).length, 1, "the service was never restarted");
  a.close();
  b.close();
  c.close();
});

Deno.test("forwarder.hop: a backup node of the hop takes over once the primary is marked dead", async () => {
  const spare = namedEcho("spare");
  const dead = freePort();
  const port = freePort();
  const file = await configFile({
    hops: [{
      name: "h1",
      selector: { strategy: "fifo", maxFails: 1, failTimeout: "1h" },
      nodes: [
        { name: "main", addr: `127.0.0.1:${dead}` },
        { name: "spare", addr: `127.0.0.1:${spare.port}`, metadata: { backup: true } },
      ],
    }],
    services: [{ name: "fwd", addr: `127.0.0.1:${port}`, handler: { type: "tcp" }, forwarder: { hop: "h1" } }],
  });
  await using _g = await startGost(["-C", file]);
  // the forward handler tries the next node of the hop when one fails
  equal(await greeting(port), "spare:");
  equal(await greeting(port), "spare:");
  spare.close();
});

Deno.test("forwarder.hop errors name the path: an unknown hop, hop with nodes, hopGroup", async () => {
  const base = (forwarder: unknown, hops: unknown[] = []) => ({
    hops,
    services: [{ name: "fwd", addr: "127.0.0.1:0", handler: { type: "tcp" }, forwarder }],
  });
  const h1 = [{ name: "h1", nodes: [{ name: "a", addr: "127.0.0.1:9" }] }];
  const cases: [unknown, RegExp][] = [
    [base({ hop: "nope" }, h1), /services\[0\]\.forwarder\.hop.*no top-level hop is named "nope": defined are h1/s],
    [
      base({ hop: "h1", nodes: [{ name: "x", addr: "127.0.0.1:9" }] }, h1),
      /services\[0\]\.forwarder\.nodes.*either hop \("h1"\) or nodes/s,
    ],
    [base({ hopGroup: { hops: [{ hop: "h1" }] } }, h1), /services\[0\]\.forwarder\.hopGroup.*not supported/s],
    [
      {
        services: [{ name: "s", addr: "127.0.0.1:0", handler: { type: "http", chain: "c" } }],
        chains: [{
          name: "c",
          hops: [
            { name: "x", nodes: [{ name: "p", addr: "127.0.0.1:9" }] },
            { name: "y", nodes: [{ name: "d", connector: { type: "direct" } }] },
          ],
        }],
      },
      /chains\[0\]\.hops\[1\]\.nodes\[0\].*only be in a chain's first hop/s,
    ],
    [
      {
        services: [{ name: "s", addr: "127.0.0.1:0", handler: { type: "http", chain: "c" } }],
        chains: [{ name: "c", hops: [{ name: "x", nodes: [{ name: "d", dialer: { type: "direct" } }] }] }],
      },
      /chains\[0\]\.hops\[0\]\.nodes\[0\]\.connector\.type.*dialer direct opens no conn/s,
    ],
  ];
  for (const [config, want] of cases) {
    const r = await runGost(["-C", await configFile(config)]);
    notEqual(r.code, 0, r.stderr);
    match(r.stderr, want);
  }
});
