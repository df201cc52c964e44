/** Service-level observer through the HTTP plugin: status events, stats ticks, retries, resetTraffic. */
import { deepEqual, equal, ok } from "node:assert/strict";
import type { Config } from "../../../core/config/types.ts";
import { nopLogger } from "../../../core/log.ts";
import { Metadata } from "../../../core/metadata.ts";
import { createObservability } from "../../../core/observe/mod.ts";
import { observePeriodMs } from "../../../core/observe/service_observer.ts";
import { httpOrigin } from "../../helpers/servers.ts";
import { type Ev, exchange, observerServer, proxyGet, startObserved } from "../../helpers/observe.ts";

const isStats = (n: number) => (e: Ev) =>
  e.type === "stats" && e.stats!.totalConns === n && e.stats!.currentConns === 0;

function config(addr: string, token?: string): Config {
  return { observers: [{ name: "obs", plugin: { type: "http", addr, token } }] };
}

Deno.test("service observer sends GOST's status events on start and close and exact stats after N requests", async () => {
  const origin = httpOrigin();
  const plugin = observerServer((r) =>
    r.authorization === "Bearer s3cret" ? Response.json({ ok: true }) : new Response("bad token", { status: 401 })
  );
  const obs = createObservability(config(plugin.addr, "s3cret"), nopLogger);
  const s = await startObserved(obs, {
    name: "proxy",
    addr: "127.0.0.1:0",
    observer: "obs",
    handler: { type: "http" },
    metadata: { enableStats: true, "observer.period": "1s" },
  });
  await plugin.waitEvent((e: Ev) => e.type === "status" && e.status!.state === "ready");
  const req = proxyGet(origin.port, "/one");
  const N = 4;
  let output = 0;
  for (let i = 0; i < N; i++) output += await exchange(s.port, req);
  const ev = await plugin.waitEvent(isStats(N));
  deepEqual(ev, {
    kind: "service",
    service: "proxy",
    type: "stats",
    stats: { totalConns: N, currentConns: 0, inputBytes: N * req.length, outputBytes: output, totalErrs: 0 },
  });
  deepEqual(Object.keys(ev), ["kind", "service", "type", "stats"]);
  deepEqual(Object.keys(ev.stats!), ["totalConns", "currentConns", "inputBytes", "outputBytes", "totalErrs"]);
  await s.close();
  await plugin.waitEvent((e: Ev) => e.type === "status" && e.status!.state === "closed");
  await obs.close();
  const statuses = plugin.events().filter((e: Ev) => e.type === "status");
  deepEqual(statuses, [
    {
      kind: "service",
      service: "proxy",
      type: "status",
      status: { state: "running", msg: "service proxy is running" },
    },
    { kind: "service", service: "proxy", type: "status", status: { state: "ready", msg: "service proxy is ready" } },
    { kind: "service", service: "proxy", type: "status", status: { state: "closed", msg: "service proxy is closed" } },
  ]);
  ok(plugin.requests.length > 0);
  for (const r of plugin.requests) {
    equal(r.authorization, "Bearer s3cret");
    equal(r.contentType, "application/json");
    equal(r.status, 200);
  }
  await plugin.close();
  await origin.close();
});

Deno.test("a stats batch the plugin refused is sent again unchanged at the next tick, before newer stats", async () => {
  const origin = httpOrigin();
  let statsRequests = 0;
  const plugin = observerServer((r) => {
    if (r.body.events.some((e) => e.type === "stats") && statsRequests++ === 0) {
      return new Response("try later", { status: 500 });
    }
    return Response.json({ ok: true });
  });
  const obs = createObservability(config(plugin.url), nopLogger);
  const s = await startObserved(obs, {
    name: "retry",
    addr: "127.0.0.1:0",
    observer: "obs",
    handler: { type: "http" },
    metadata: { enableStats: true, observePeriod: 1 },
  });
  const req = proxyGet(origin.port, "/r");
  let output = 0;
  for (let i = 0; i < 3; i++) output += await exchange(s.port, req);
  const delivered = await plugin.waitEvent((e: Ev) => e.type === "stats");
  const statsReqs = plugin.requests.filter((r) => r.body.events.some((e) => e.type === "stats"));
  equal(statsReqs[0].status, 500);
  equal(statsReqs[1].status, 200);
  deepEqual(statsReqs[1].body, statsReqs[0].body, "the refused batch is retried as it was");
  deepEqual(delivered.stats, {
    totalConns: 3,
    currentConns: 0,
    inputBytes: 3 * req.length,
    outputBytes: output,
    totalErrs: 0,
  });
  // newer traffic comes in a later event
  const from = plugin.events().length;
  output += await exchange(s.port, req);
  const later = await plugin.waitEvent(isStats(4), from);
  deepEqual(later.stats, {
    totalConns: 4,
    currentConns: 0,
    inputBytes: 4 * req.length,
    outputBytes: output,
    totalErrs: 0,
  });
  await s.close();
  await obs.close();
  await plugin.close();
  await origin.close();
});

Deno.test("observer.resetTraffic makes each stats event carry the bytes since the previous one", async () => {
  const origin = httpOrigin();
  const plugin = observerServer();
  const obs = createObservability(config(plugin.addr), nopLogger);
  const s = await startObserved(obs, {
    name: "reset",
    addr: "127.0.0.1:0",
    observer: "obs",
    handler: { type: "http" },
    metadata: { enableStats: true, "observer.period": "1s", "observer.resetTraffic": true },
  });
  const sum = (evs: Ev[], k: string) => evs.reduce((n, e) => n + e.stats![k], 0);
  const statsFrom = (i: number) => plugin.events().slice(i).filter((e: Ev) => e.type === "stats") as Ev[];
  const reqA = proxyGet(origin.port, "/a");
  let outA = 0;
  for (let i = 0; i < 3; i++) outA += await exchange(s.port, reqA);
  await plugin.waitEvent(isStats(3));
  const a = statsFrom(0);
  equal(sum(a, "inputBytes"), 3 * reqA.length);
  equal(sum(a, "outputBytes"), outA);
  equal(s.svc.stats!.inputBytes, 0, "the counters were zeroed by the report");
  const mark = plugin.events().length;
  const reqB = proxyGet(origin.port, "/bbbbbbbbbb");
  let outB = 0;
  for (let i = 0; i < 2; i++) outB += await exchange(s.port, reqB);
  const last = await plugin.waitEvent(isStats(5), mark);
  const b = statsFrom(mark);
  equal(sum(b, "inputBytes"), 2 * reqB.length, "only the new bytes");
  equal(sum(b, "outputBytes"), outB);
  equal(last.stats!.totalConns, 5, "connection counts stay cumulative");
  await s.close();
  await obs.close();
  await plugin.close();
  await origin.close();
});

Deno.test("without enableStats only status events are sent; an undefined observer only warns", async () => {
  const plugin = observerServer();
  const obs = createObservability(config(plugin.addr), nopLogger);
  const s = await startObserved(obs, {
    name: "plain",
    addr: "127.0.0.1:0",
    observer: "obs",
    handler: { type: "http" },
  });
  await plugin.waitEvent((e: Ev) => e.type === "status" && e.status!.state === "ready");
  const t = await startObserved(obs, {
    name: "lost",
    addr: "127.0.0.1:0",
    observer: "nope",
    handler: { type: "http" },
  });
  await s.close();
  await t.close();
  await obs.close();
  ok(plugin.events().every((e: Ev) => e.type === "status" && e.service === "plain"));
  await plugin.close();
});

Deno.test("observer.period defaults to 5s, has a 1s floor and accepts observePeriod", () => {
  equal(observePeriodMs(new Metadata({})), 5000);
  equal(observePeriodMs(new Metadata({ "observer.period": "500ms" })), 1000);
  equal(observePeriodMs(new Metadata({ "observer.period": "2s" })), 2000);
  equal(observePeriodMs(new Metadata({ observePeriod: 3 })), 3000);
  equal(observePeriodMs(new Metadata({ "Observer.Period": "1m" })), 60_000);
});

Deno.test("a service restarted under the same name reports closed before its new instance's running", async () => {
  const plugin = observerServer(async (r) => {
    // the old instance's events are slow to deliver: they must still arrive first
    if (r.body.events.some((e) => e.status?.state === "closed")) await new Promise((ok) => setTimeout(ok, 100));
    return Response.json({ ok: true });
  });
  const obs = createObservability(config(plugin.addr), nopLogger);
  const cfg = { name: "dup", addr: "127.0.0.1:0", observer: "obs", handler: { type: "http" } };
  const first = await startObserved(obs, cfg);
  await first.close();
  const second = await startObserved(obs, { ...cfg });
  await plugin.waitEvent((e: Ev) => e.status?.state === "ready", 3);
  await second.close();
  await obs.close();
  deepEqual(plugin.events().map((e: Ev) => e.status.state), [
    "running",
    "ready",
    "closed",
    "running",
    "ready",
    "closed",
  ]);
  await plugin.close();
});
