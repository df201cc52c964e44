/**
 * Running out of fds, and clients that hold fds on purpose, against the Web API and the metrics of a real gost.ts
 * process: with 256 fds and idle proxy conns filling them, conns to the API and the metrics must not end the
 * process (Deno.serve's accept loop threw EMFILE as an uncaught rejection), and once the fds are freed the API, the
 * metrics and the proxy answer within 1 s. Half-sent requests and idle keep-alive conns to the API are cut by its
 * timeouts, and its conn cap holds.
 */
import { equal, match, ok } from "node:assert/strict";
import { freePort, startGost } from "../helpers/gost.ts";
import { run } from "../helpers/run.ts";
import { curl } from "../helpers/run.ts";
import { httpOrigin } from "../helpers/servers.ts";
import { until } from "../helpers/wait.ts";
import { openFds } from "./support.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Reads until the peer closes; a guard closes the conn after `limitMs` (then `cut` is false). */
async function readToEnd(c: Deno.Conn, limitMs: number): Promise<{ text: string; cut: boolean }> {
  let guarded = false;
  const guard = setTimeout(() => {
    guarded = true;
    try {
      c.close();
    } catch { /* closed */ }
  }, limitMs);
  const parts: string[] = [];
  const buf = new Uint8Array(4096);
  try {
    for (;;) {
      const n = await c.read(buf);
      if (n === null) break;
      parts.push(dec.decode(buf.subarray(0, n)));
    }
  } catch {
    // reset by the peer, or closed by the guard
  } finally {
    clearTimeout(guard);
    try {
      c.close();
    } catch { /* closed */ }
  }
  return { text: parts.join(""), cut: !guarded };
}

/** Resolves with how long `p` took, rejecting when it takes more than `ms`. */
async function within<T>(ms: number, what: string, p: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const out = await p();
  const took = performance.now() - t0;
  ok(took <= ms, `${what} took ${Math.round(took)} ms (at most ${ms})`);
  return out;
}

Deno.test("out of fds with the API and metrics on: conns to them do not end the process, and within 1 s of the fds being freed the API, metrics and proxy answer", async () => {
  const origin = httpOrigin();
  const [proxyPort, apiPort, metricsPort] = [freePort(), freePort(), freePort()];
  await using g = await startGost([
    "-L",
    `http://127.0.0.1:${proxyPort}`,
    "-api",
    `127.0.0.1:${apiPort}`,
    "-metrics",
    `127.0.0.1:${metricsPort}`,
  ], { ready: (line) => /api server on/.test(line), what: "its API was up" });
  const pid = g.child.pid;
  const limit = await run("prlimit", ["--pid", String(pid), "--nofile=256:256"]);
  equal(limit.code, 0, limit.stderr);
  const exhausted = (kind: string) =>
    g.lines.some((l) => /Too many open files/.test(l) && l.includes(`"kind":"${kind}"`));

  // idle conns to the proxy until it cannot accept more (bounded: at most 400)
  const idle: Deno.Conn[] = [];
  const base = openFds(pid);
  try {
    while (!exhausted("service")) {
      ok(idle.length < 400, `no EMFILE after ${idle.length} conns (${openFds(pid)} fds open)`);
      for (let i = 0; i < 10; i++) idle.push(await Deno.connect({ hostname: "127.0.0.1", port: proxyPort }));
      await until(() => exhausted("service") || openFds(pid) >= base + idle.length, "the proxy to take the conns");
    }
    // a request to the API and one to the metrics, left in the kernel's backlog while no fd is free
    const pending = await Promise.all([apiPort, metricsPort].map(async (port, i) => {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      const path = i === 0 ? "/config/services" : "/metrics";
      await c.write(enc.encode(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`));
      return c;
    }));
    let exited = false;
    g.child.status.then(() => exited = true);
    await until(
      () => exited || (exhausted("api") && exhausted("metrics")),
      "the API's and the metrics' EMFILE warnings",
    );
    ok(!exited, `the process exited:\n${g.lines.filter((l) => !/ <> | >< /.test(l)).slice(-5).join("\n")}`);
    // freeing the fds: every waiting request is answered, and new ones too, each within 1 s
    for (const c of idle.splice(0)) c.close();
    const [api, metrics] = await within(
      1000,
      "the pending API and metrics requests",
      () => Promise.all(pending.map((c) => readToEnd(c, 5000))),
    );
    match(api.text, /^HTTP\/1\.1 200 OK\r\n[\s\S]*"name":"service-0"/);
    match(metrics.text, /^HTTP\/1\.1 200 OK\r\n[\s\S]*gost_services/);
    const fresh = await within(1000, "a new API request", () => fetch(`http://127.0.0.1:${apiPort}/config`));
    equal(fresh.status, 200);
    await fresh.body?.cancel();
    const scrape = await within(1000, "a new scrape", () => fetch(`http://127.0.0.1:${metricsPort}/metrics`));
    equal(scrape.status, 200);
    await scrape.body?.cancel();
    const viaProxy = await within(
      1000,
      "a request through the proxy",
      () => curl("-sS", "-x", `http://127.0.0.1:${proxyPort}`, `http://127.0.0.1:${origin.port}/after`),
    );
    equal(viaProxy.stdout, "hello /after");
    ok(!g.lines.some((l) => /Uncaught|unhandled rejection|uncaught exception/.test(l)), "no uncaught error");
    ok(Deno.statSync(`/proc/${pid}`).isDirectory, "the process is alive");
  } finally {
    for (const c of idle) c.close();
    await origin.close();
  }
});

Deno.test("the API and the metrics cut half-sent requests at readTimeout and idle keep-alive conns at idleTimeout", async () => {
  const [apiPort, metricsPort] = [freePort(), freePort()];
  await using g = await startGost(
    [
      "-api",
      `127.0.0.1:${apiPort}?readTimeout=1s&idleTimeout=1s&maxConns=400`,
      "-metrics",
      `127.0.0.1:${metricsPort}?readTimeout=1s&idleTimeout=1s`,
    ],
    { ready: (line) => /api server on/.test(line), what: "its API was up" },
  );
  const pid = g.child.pid;
  const baseFds = openFds(pid);

  // 300 half-sent requests: each conn is closed by the server, with nothing written
  const half = await Promise.all(Array.from({ length: 300 }, async () => {
    const c = await Deno.connect({ hostname: "127.0.0.1", port: apiPort });
    await c.write(enc.encode(`GET /config HTTP/1.1\r\nHost: 127.0.0.1:${apiPort}\r\nX-Slow: `));
    return c;
  }));
  const t0 = performance.now();
  const halfEnds = await Promise.all(half.map((c) => readToEnd(c, 10_000)));
  equal(halfEnds.filter((e) => e.cut).length, 300, "every half-sent request was cut by the server");
  equal(halfEnds.filter((e) => e.text !== "").length, 0, "and got no answer");
  ok(performance.now() - t0 < 5000, `cut after ${Math.round(performance.now() - t0)} ms (readTimeout 1 s)`);

  // 200 idle keep-alive conns after one answered request each: closed by the server once idle
  const kept = await Promise.all(Array.from({ length: 200 }, async () => {
    const c = await Deno.connect({ hostname: "127.0.0.1", port: apiPort });
    await c.write(enc.encode(`GET /config/hops HTTP/1.1\r\nHost: 127.0.0.1:${apiPort}\r\n\r\n`));
    return c;
  }));
  const keptEnds = await Promise.all(kept.map((c) => readToEnd(c, 10_000)));
  equal(keptEnds.filter((e) => e.cut).length, 200, "every idle keep-alive conn was closed by the server");
  for (const e of keptEnds) match(e.text, /^HTTP\/1\.1 200 OK\r\n[^]*\{"data":\{"count":0,"list":\[\]\}\}$/);
  // the metrics server is bounded the same way
  const scrapes = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
    const c = await Deno.connect({ hostname: "127.0.0.1", port: metricsPort });
    await c.write(enc.encode(i % 2 ? "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" : "GET /metrics HTTP/1.1\r\n"));
    return readToEnd(c, 10_000);
  }));
  equal(scrapes.filter((e) => e.cut).length, 20, "every metrics conn was closed by the server");
  equal(scrapes.filter((e) => /^HTTP\/1\.1 200 OK\r\n[^]*gost_services/.test(e.text)).length, 10);
  await until(() => openFds(pid) <= baseFds + 5, `the process's fds back to ${baseFds}`);
});

Deno.test("the API's conn cap: one conn over maxConns is answered 503 at once; once conns end it serves again", async () => {
  const apiPort = freePort();
  await using g = await startGost(["-api", `127.0.0.1:${apiPort}?maxConns=10&readTimeout=30s`], {
    ready: (line) => /api server on/.test(line),
    what: "its API was up",
  });
  const held: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 10; i++) {
      const c = await Deno.connect({ hostname: "127.0.0.1", port: apiPort });
      // a served conn answers, so it is counted before the next one comes
      await c.write(enc.encode(`GET /config/hops HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`));
      const buf = new Uint8Array(4096);
      match(dec.decode(buf.subarray(0, (await c.read(buf)) ?? 0)), /^HTTP\/1\.1 200 OK\r\n/);
      held.push(c);
    }
    const over = await Deno.connect({ hostname: "127.0.0.1", port: apiPort });
    const refused = await readToEnd(over, 5000);
    ok(refused.cut, "closed by the server");
    match(refused.text, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
    match(refused.text, /\{"code":503,"msg":"Too many connections: at most 10"\}$/);
    for (const c of held.splice(0)) c.close();
    await until(async () =>
      (await fetch(`http://127.0.0.1:${apiPort}/config/hops`).then(async (r) => {
        await r.body?.cancel();
        return r.status;
      })) === 200, "the API to serve again");
    ok(g.lines.some((l) => /api server on/.test(l)));
  } finally {
    for (const c of held) c.close();
  }
});
