/** Handler-level observer: per-client `kind: "handler"` stats keyed by the authenticated user. */
import { deepEqual, equal } from "node:assert/strict";
import { nopLogger } from "../../../core/log.ts";
import { HandlerObserver } from "../../../core/observe/handler_observer.ts";
import { createObservability } from "../../../core/observe/mod.ts";
import { eventJSON, type Observer, type ObserverEvent } from "../../../core/observe/observer.ts";
import type { ConnContext } from "../../../core/contracts.ts";
import { httpOrigin } from "../../helpers/servers.ts";
import { type Ev, observerServer, startObserved } from "../../helpers/observe.ts";

async function curl(proxyPort: number, originPort: number, user: string): Promise<string> {
  const out = await new Deno.Command("curl", {
    args: [
      "-s",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "--proxy-user",
      user,
      "-x",
      `http://127.0.0.1:${proxyPort}`,
      `http://127.0.0.1:${originPort}/hello`,
    ],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout);
}

Deno.test("handler observer reports per-client stats with client = the authenticated user (curl --proxy-user)", async () => {
  const origin = httpOrigin();
  const plugin = observerServer();
  const obs = createObservability(
    { observers: [{ name: "obs", plugin: { type: "http", addr: plugin.addr } }] },
    nopLogger,
  );
  const s = await startObserved(obs, {
    name: "hproxy",
    addr: "127.0.0.1:0",
    handler: {
      type: "http",
      auth: { username: "alice", password: "wonder" },
      observer: "obs",
      metadata: { "observer.period": "1s" },
    },
    metadata: { enableStats: true },
  });
  const st = s.svc.stats!;
  const N = 3;
  for (let i = 0; i < N; i++) equal(await curl(s.port, origin.port, "alice:wonder"), "200");
  const ev = await plugin.waitEvent((e: Ev) =>
    e.kind === "handler" && e.stats.totalConns === N && !e.stats.currentConns
  );
  deepEqual(ev, {
    kind: "handler",
    service: "hproxy",
    client: "alice",
    type: "stats",
    stats: { totalConns: N, currentConns: 0, inputBytes: st.inputBytes, outputBytes: st.outputBytes, totalErrs: 0 },
  });
  deepEqual(Object.keys(ev), ["kind", "service", "client", "type", "stats"]);
  // a refused login is not client traffic; the next good one is
  const before = { input: st.inputBytes, output: st.outputBytes };
  equal(await curl(s.port, origin.port, "alice:wrong"), "407");
  const afterRefused = { input: st.inputBytes, output: st.outputBytes };
  const mark = plugin.events().length;
  equal(await curl(s.port, origin.port, "alice:wonder"), "200");
  const next = await plugin.waitEvent((e: Ev) => e.kind === "handler" && e.stats.totalConns === N + 1, mark);
  deepEqual(next.stats, {
    totalConns: N + 1,
    currentConns: 0,
    inputBytes: before.input + (st.inputBytes - afterRefused.input),
    outputBytes: before.output + (st.outputBytes - afterRefused.output),
    totalErrs: 0,
  });
  equal(plugin.events().filter((e: Ev) => e.kind === "handler" && e.client !== "alice").length, 0);
  await s.close();
  await obs.close();
  await plugin.close();
  await origin.close();
});

/** An observer that records batches and lets a test await the next one. */
function recorder(): Observer & { batches: ObserverEvent[][]; next(): Promise<ObserverEvent[]> } {
  const batches: ObserverEvent[][] = [];
  let waiters: ((b: ObserverEvent[]) => void)[] = [];
  return {
    batches,
    observe(events) {
      batches.push(events);
      for (const w of waiters) w(events);
      waiters = [];
      return Promise.resolve(true);
    },
    next: () => new Promise((resolve) => waiters.push(resolve)),
    close() {},
  };
}

function ctx(
  src: string,
  extra: Partial<ConnContext> & { traffic?: () => { inputBytes: number; outputBytes: number } },
) {
  return { sid: src, service: "s", src, signal: new AbortController().signal, logger: nopLogger, ...extra };
}

Deno.test("handler observer counts open connections' live bytes at ticks, keys unauthenticated clients by ''", async () => {
  const rec = recorder();
  const ho = new HandlerObserver({ service: "s", observer: rec, periodMs: 20, resetTraffic: true, logger: nopLogger });
  const live = { inputBytes: 0, outputBytes: 0 };
  const a: ConnContext = ctx("127.0.0.1:1000", { traffic: () => live });
  const anon: ConnContext = ctx("127.0.0.1:1001", {});
  const refused: ConnContext = ctx("127.0.0.1:1002", {});
  ho.open(a);
  ho.open(anon);
  ho.open(refused);
  a.clientId = "bob";
  a.dst = "example.com:443";
  anon.dst = "example.org:80";
  ho.close(refused, { inputBytes: 50, outputBytes: 60, durationMs: 1, serverError: false }); // never got past auth
  live.inputBytes = 100;
  live.outputBytes = 1000;
  ho.start();
  let batch = await rec.next();
  const bob = () => batch.find((e) => e.client === "bob")?.stats;
  deepEqual(bob(), { totalConns: 1, currentConns: 1, inputBytes: 100, outputBytes: 1000, totalErrs: 0 });
  const anonEv = batch.find((e) => e.client === "")!;
  deepEqual(anonEv.stats, { totalConns: 1, currentConns: 1, inputBytes: 0, outputBytes: 0, totalErrs: 0 });
  deepEqual(Object.keys(eventJSON(anonEv)), ["kind", "service", "type", "stats"], "an empty client is left out");
  equal(batch.length, 2);
  // more bytes, then the close: resetTraffic makes each event a delta, and nothing is counted twice
  live.inputBytes = 150;
  batch = await rec.next();
  deepEqual(bob(), { totalConns: 1, currentConns: 1, inputBytes: 50, outputBytes: 0, totalErrs: 0 });
  ho.close(a, { inputBytes: 170, outputBytes: 1200, durationMs: 5, serverError: true });
  batch = await rec.next();
  deepEqual(bob(), { totalConns: 1, currentConns: 0, inputBytes: 20, outputBytes: 200, totalErrs: 1 });
  ho.close(anon, { inputBytes: 7, outputBytes: 9, durationMs: 5, serverError: false });
  ho.stop(); // flushes the last change
  await ho.idle();
  deepEqual(rec.batches.at(-1), [{
    kind: "handler",
    service: "s",
    client: "",
    type: "stats",
    stats: { totalConns: 1, currentConns: 0, inputBytes: 7, outputBytes: 9, totalErrs: 0 },
  }]);
});
