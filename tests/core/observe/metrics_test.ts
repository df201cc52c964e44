/** Prometheus metrics: GOST's names/types/labels/buckets, exact counters, Basic auth, strict text format. */
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { nopLogger } from "../../../core/log.ts";
import {
  GostMetrics,
  MetricFamily,
  NODE_CONNECT_BUCKETS,
  REQUEST_DURATION_BUCKETS,
} from "../../../core/observe/metrics.ts";
import { createObservability } from "../../../core/observe/mod.ts";
import { collectProcess } from "../../../core/observe/metrics_process.ts";
import { slotRecorder } from "../../../core/routing/chain_metrics.ts";
import { Runtime } from "../../../core/runtime/runtime.ts";
import { createBuiltinRegistries } from "../../../mod.ts";
import type { ConnContext } from "../../../core/contracts.ts";
import { httpOrigin } from "../../helpers/servers.ts";
import { exchange, proxyGet, startObserved } from "../../helpers/observe.ts";
import { parsePromText, sampleValue } from "../../helpers/prom_text.ts";

async function scrape(url: string, user?: string): Promise<{ status: number; type: string | null; text: string }> {
  const res = await fetch(url, { headers: user ? { Authorization: `Basic ${btoa(user)}` } : {} });
  return { status: res.status, type: res.headers.get("content-type"), text: await res.text() };
}

Deno.test("metrics count exactly the traffic of N requests and serve a strict text format behind Basic auth", async () => {
  const origin = httpOrigin();
  const reg = createBuiltinRegistries();
  const obs = createObservability(
    { metrics: { addr: "127.0.0.1:0", path: "/m", auth: { username: "prom", password: "pw" } } },
    nopLogger,
    { reg },
  );
  // what a chain built from `reg` records through (core/config/build_chain.ts)
  const chainRecorder = slotRecorder(reg.process);
  await obs.start();
  const url = `http://127.0.0.1:${obs.metricsAddr!.port}/m`;
  const s = await startObserved(obs, {
    name: "svc-m",
    addr: "127.0.0.1:0",
    handler: { type: "http", auth: { username: "u", password: "p" } },
  });
  const req = proxyGet(origin.port, "/x", "u:p");
  const N = 5;
  let output = 0;
  for (let i = 0; i < N; i++) output += await exchange(s.port, req);
  // a server error (the target refuses): counted in handler errors
  const dead = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadPort = (dead.addr as Deno.NetAddr).port;
  dead.close();
  const toDead = proxyGet(deadPort, "/", "u:p");
  output += await exchange(s.port, toDead);
  chainRecorder.recordChainNode("chain-0", "node-0", 0.03, true);
  chainRecorder.recordChainNode("chain-0", "node-0", 2, true);
  chainRecorder.recordChainNode("chain-0", "node-1", 0.2, false);

  equal((await scrape(url)).status, 401);
  equal((await scrape(url, "prom:bad")).status, 401);
  equal((await scrape(url.replace("/m", "/metrics"), "prom:pw")).status, 404);
  const res = await scrape(url, "prom:pw");
  equal(res.status, 200);
  equal(res.type, "text/plain; version=0.0.4; charset=utf-8");
  const fams = parsePromText(res.text);
  const host = Deno.hostname();
  const svc = { host, service: "svc-m", client: "127.0.0.1" };

  const types = Object.fromEntries([...fams.values()].map((f) => [f.name, f.type]));
  deepEqual(types, {
    gost_services: "gauge",
    gost_service_status: "gauge",
    gost_service_requests_total: "counter",
    gost_service_requests_in_flight: "gauge",
    gost_service_request_duration_seconds: "histogram",
    gost_service_transfer_input_bytes_total: "counter",
    gost_service_transfer_output_bytes_total: "counter",
    gost_service_handler_errors_total: "counter",
    gost_chain_errors_total: "counter",
    gost_chain_node_connect_duration_seconds: "histogram",
    ...Object.fromEntries(collectProcess().map((p) => [p.name, p.type])),
  });
  equal(sampleValue(fams, "gost_services", { host }), 1);
  for (const [state, n] of [["running", 0], ["ready", 1], ["failed", 0], ["closed", 0]] as const) {
    equal(sampleValue(fams, "gost_service_status", { host, state }), n);
  }
  equal(sampleValue(fams, "gost_service_requests_total", svc), N + 1);
  equal(sampleValue(fams, "gost_service_requests_in_flight", svc), 0);
  equal(sampleValue(fams, "gost_service_transfer_input_bytes_total", svc), N * req.length + toDead.length);
  equal(sampleValue(fams, "gost_service_transfer_output_bytes_total", svc), output);
  equal(sampleValue(fams, "gost_service_handler_errors_total", svc), 1);
  const dur = { host, service: "svc-m" };
  equal(sampleValue(fams, "gost_service_request_duration_seconds_count", dur), N + 1);
  equal(sampleValue(fams, "gost_service_request_duration_seconds_bucket", { ...dur, le: "+Inf" }), N + 1);
  const les = fams.get("gost_service_request_duration_seconds")!.samples.filter((x) => x.name.endsWith("_bucket"))
    .map((x) => x.labels.le);
  deepEqual(les, [...REQUEST_DURATION_BUCKETS.map(String), "+Inf"]);
  for (const f of fams.values()) {
    for (const x of f.samples) if (f.name.startsWith("gost_")) equal(x.labels.host, host);
  }
  deepEqual(Object.keys(fams.get("gost_service_requests_total")!.samples[0].labels), ["client", "host", "service"]);

  const node0 = { host, chain: "chain-0", node: "node-0" };
  equal(sampleValue(fams, "gost_chain_node_connect_duration_seconds_count", node0), 2);
  equal(sampleValue(fams, "gost_chain_node_connect_duration_seconds_sum", node0), 2.03);
  equal(sampleValue(fams, "gost_chain_node_connect_duration_seconds_bucket", { ...node0, le: "0.05" }), 1);
  equal(sampleValue(fams, "gost_chain_node_connect_duration_seconds_bucket", { ...node0, le: "2" }), 2);
  equal(
    fams.get("gost_chain_node_connect_duration_seconds")!.samples.filter((x) => x.name.endsWith("_bucket")).length,
    NODE_CONNECT_BUCKETS.length + 1,
  );
  equal(sampleValue(fams, "gost_chain_errors_total", { host, chain: "chain-0", node: "node-1" }), 1);

  await s.close();
  const after = parsePromText((await scrape(url, "prom:pw")).text);
  equal(sampleValue(after, "gost_services", { host }), 0, "a closed service is no longer counted");
  await obs.close();
  equal(reg.process.chainRecorder, undefined, "closed metrics are no longer where chains record");
  chainRecorder.recordChainNode("chain-0", "node-0", 1, false); // metrics are off again: a no-op
  await origin.close();
});

Deno.test("metrics: open without auth, users from metrics.auth.file, /metrics by default, bad addresses fail start()", async () => {
  const obs = createObservability({ metrics: { addr: "127.0.0.1:0" } }, nopLogger);
  await obs.start();
  const res = await scrape(`http://127.0.0.1:${obs.metricsAddr!.port}/metrics`);
  equal(res.status, 200);
  parsePromText(res.text);
  await obs.close();
  const file = await Deno.makeTempFile();
  await Deno.writeTextFile(file, "# users\nscraper s3cret\n");
  const withFile = createObservability({ metrics: { addr: "127.0.0.1:0", auth: { file } } }, nopLogger);
  await withFile.start();
  const fileUrl = `http://127.0.0.1:${withFile.metricsAddr!.port}/metrics`;
  equal((await scrape(fileUrl)).status, 401);
  equal((await scrape(fileUrl, "scraper:s3cret")).status, 200);
  await withFile.close();
  await Deno.remove(file);
  const bad = createObservability({ metrics: { addr: "nonsense" } }, nopLogger);
  let msg = "";
  await bad.start().catch((e) => (msg = e.message));
  ok(msg.includes("metrics.addr"), msg);
  await bad.close();
  const none = createObservability({}, nopLogger);
  await none.start();
  equal(none.metricsAddr, undefined);
  equal(none.connHooks({ name: "x" }).length, 0, "no metrics, no observers: no hooks");
  await none.close();
});

Deno.test("label values are escaped and bytes of open connections are counted at scrape time, once", () => {
  const m = new GostMetrics('h"o\\st\n');
  const hook = m.connHook('we"ird\\name\n');
  const live = { inputBytes: 10, outputBytes: 20 };
  const ctx = {
    sid: "1",
    service: "s",
    src: "[::1]:4000",
    signal: new AbortController().signal,
    logger: nopLogger,
    traffic: () => live,
  } as ConnContext;
  hook.open(ctx);
  let fams = parsePromText(m.render());
  const labels = { host: 'h"o\\st\n', service: 'we"ird\\name\n', client: "::1" };
  equal(sampleValue(fams, "gost_service_transfer_input_bytes_total", labels), 10);
  equal(sampleValue(fams, "gost_service_requests_in_flight", labels), 1);
  live.inputBytes = 15;
  fams = parsePromText(m.render());
  equal(sampleValue(fams, "gost_service_transfer_input_bytes_total", labels), 15);
  hook.close(ctx, { inputBytes: 16, outputBytes: 25, durationMs: 1500, serverError: false });
  fams = parsePromText(m.render());
  equal(sampleValue(fams, "gost_service_transfer_input_bytes_total", labels), 16);
  equal(sampleValue(fams, "gost_service_transfer_output_bytes_total", labels), 25);
  equal(sampleValue(fams, "gost_service_request_duration_seconds_bucket", { le: "2.5" }), 1);
  equal(sampleValue(fams, "gost_service_request_duration_seconds_bucket", { le: "1" }), 0);
  ok(m.render().includes(`host="h\\"o\\\\st\\n"`));
});

Deno.test("the strict parser rejects malformed expositions", () => {
  const good = '# HELP a_total A\n# TYPE a_total counter\na_total{x="1"} 2\n';
  parsePromText(good);
  const bad = [
    "a_total 1", // no final newline
    "1abc 1\n", // bad metric name
    'a{x="1",} 1\n', // trailing comma
    'a{x="1",x="2"} 1\n', // duplicate label
    'a{__x="1"} 1\n', // reserved label
    'a{x="\\t"} 1\n', // bad escape
    "a 1\na 2\n", // duplicate series
    'a 1\nb 1\na{x="y"} 1\n', // family split in two groups
    "a 1\n# TYPE a gauge\n", // TYPE after samples
    "# TYPE a counter\na -1\n", // negative counter
    "# TYPE a widget\n", // unknown type
    "a one\n", // bad value
    '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n', // not cumulative
    '# TYPE h histogram\nh_bucket{le="2"} 1\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
    '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n', // no +Inf
    '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 1\n', // +Inf ≠ count
    '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_count 1\n', // no sum
  ];
  for (const text of bad) throws(() => parsePromText(text), SyntaxError, JSON.stringify(text));
  const f = new MetricFamily("x", "line\\one\nline two", "gauge", []);
  f.set([], -1.5);
  equal(parsePromText(f.render()).get("x")!.help, "line\\one\nline two");
});

Deno.test("wired into the Runtime: services are counted through start, replace and delete", async () => {
  const origin = httpOrigin();
  const config = {
    metrics: { addr: "127.0.0.1:0" },
    services: [{ name: "rt-svc", addr: "127.0.0.1:0", handler: { type: "http" } }],
  };
  const obs = createObservability(config, nopLogger);
  await obs.start();
  const reg = createBuiltinRegistries();
  const rt = await Runtime.start(config, {
    reg,
    logger: nopLogger,
    connHooks: obs.connHooks,
    watchService: obs.watchService,
  });
  const url = `http://127.0.0.1:${obs.metricsAddr!.port}/metrics`;
  const host = Deno.hostname();
  const port = () => (reg.services.get("rt-svc") as unknown as { addr: Deno.NetAddr }).addr.port;
  const req = proxyGet(origin.port, "/rt");
  await exchange(port(), req);
  let fams = parsePromText((await scrape(url)).text);
  equal(sampleValue(fams, "gost_services", { host }), 1);
  equal(sampleValue(fams, "gost_service_requests_total", { service: "rt-svc" }), 1);
  // a real change (an identical body changes nothing and restarts nothing)
  await rt.replace("services", "rt-svc", { addr: "127.0.0.1:0", handler: { type: "http" }, metadata: { v: 2 } });
  await exchange(port(), req);
  fams = parsePromText((await scrape(url)).text);
  equal(sampleValue(fams, "gost_services", { host }), 1, "the old instance is no longer counted");
  equal(sampleValue(fams, "gost_service_requests_total", { service: "rt-svc" }), 2, "counters survive a restart");
  equal(sampleValue(fams, "gost_service_transfer_input_bytes_total", { service: "rt-svc" }), 2 * req.length);
  await rt.remove("services", "rt-svc");
  fams = parsePromText((await scrape(url)).text);
  equal(sampleValue(fams, "gost_services", { host }), 0);
  await rt.close();
  await obs.close();
  await origin.close();
});
