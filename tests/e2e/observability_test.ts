/**
 * A real gost.ts process reports to a local HTTP observer and serves Prometheus metrics that a strict parser
 * accepts, with counters matching the traffic sent by curl.
 */
import { equal, ok } from "node:assert/strict";
import { freePort, startGost } from "../helpers/gost.ts";
import { curl } from "../helpers/run.ts";
import { httpOrigin } from "../helpers/servers.ts";
import { observerServer } from "../helpers/observe.ts";
import { parsePromText } from "../helpers/prom_text.ts";

Deno.test("a running process feeds an HTTP observer and Prometheus metrics that match the traffic", async () => {
  const origin = httpOrigin();
  const observer = observerServer();
  const [proxy, metrics] = [freePort(), freePort()];
  const file = await Deno.makeTempFile({ suffix: ".yaml" });
  await Deno.writeTextFile(
    file,
    `services:
  - name: web
    addr: 127.0.0.1:${proxy}
    handler: {type: http}
    observer: obs
    metadata: {enableStats: true, observer.period: 1s}
observers:
  - name: obs
    plugin: {type: http, addr: "${observer.url}", token: s3cret}
metrics:
  addr: 127.0.0.1:${metrics}
  auth: {username: prom, password: scrape}
`,
  );
  await using gost = await startGost(["-C", file]);
  await observer.waitEvent((e) => e.type === "status" && e.status?.state === "ready");
  const N = 3;
  for (let i = 0; i < N; i++) {
    const r = await curl(
      "-x",
      `http://127.0.0.1:${proxy}`,
      "-H",
      "Connection: close",
      `http://127.0.0.1:${origin.port}/m${i}`,
    );
    equal(r.stdout, `hello /m${i}`);
  }
  const stats = await observer.waitEvent((e) => e.type === "stats" && e.stats?.totalConns === N);
  equal(stats.kind, "service");
  equal(stats.service, "web");
  equal(stats.stats.currentConns, 0);
  ok(observer.requests.every((r) => r.authorization === "Bearer s3cret"));

  const denied = await curl("-o", "/dev/null", "-w", "%{http_code}", `http://127.0.0.1:${metrics}/metrics`);
  equal(denied.stdout, "401");
  const text = (await curl("-u", "prom:scrape", `http://127.0.0.1:${metrics}/metrics`)).stdout;
  const families = parsePromText(text);
  const value = (name: string) =>
    families.get(name)?.samples.filter((s) => s.labels.service === "web").reduce((a, s) => a + s.value, 0);
  equal(value("gost_service_requests_total"), N);
  equal(value("gost_service_transfer_input_bytes_total"), stats.stats.inputBytes);
  equal(value("gost_service_transfer_output_bytes_total"), stats.stats.outputBytes);
  equal((await gost.stop()).code, 0);
  await observer.waitEvent((e) => e.type === "status" && e.status?.state === "closed").catch(() => {});
  await observer.close();
  await origin.close();
  await Deno.remove(file);
});

Deno.test("a chain's node steps reach the process's metrics (gost_chain_node_connect_duration_seconds)", async () => {
  const origin = httpOrigin();
  const [proxy, metrics, upstream] = [freePort(), freePort(), freePort()];
  await using _node = await startGost(["-L", `socks5://127.0.0.1:${upstream}`]);
  await using _gost = await startGost([
    "-L",
    `http://127.0.0.1:${proxy}`,
    "-F",
    `socks5://127.0.0.1:${upstream}`,
    "-metrics",
    `127.0.0.1:${metrics}`,
  ]);
  const ok200 = await curl(
    "-s",
    "-o",
    "/dev/null",
    "-w",
    "%{http_code}",
    "-x",
    `http://127.0.0.1:${proxy}`,
    `http://127.0.0.1:${origin.port}/`,
  );
  equal(ok200.stdout, "200");
  const fams = parsePromText((await curl("-s", `http://127.0.0.1:${metrics}/metrics`)).stdout);
  const count = fams.get("gost_chain_node_connect_duration_seconds")?.samples.find((s) => s.name.endsWith("_count"));
  ok(count, `no gost_chain_node_connect_duration_seconds samples:\n${[...fams.keys()].join("\n")}`);
  equal(count.value, 1, "one chain step timed");
  equal(count.labels.chain, "chain-0");
  await origin.close();
});
