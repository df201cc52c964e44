/**
 * A proxy client must not reach the process's own Web API, metrics and service ports through the proxy (issue 10,
 * item 4): `CONNECT 127.0.0.1:<api>` then `DELETE /config/services/service-0` would remove the proxy. Refused with
 * 403 (http) and REP 0x02 (socks5) and a log line, in any spelling of the address; `allowSelfTarget=true` allows
 * it; forwarding services (the operator's targets) are not concerned.
 */
import { equal, match, ok } from "node:assert/strict";
import { freePort, type GostProcess, startGost } from "../helpers/gost.ts";
import { curl } from "../helpers/run.ts";
import { connectStatus } from "./support.ts";
import { eventually } from "../helpers/wait.ts";

interface Ports {
  http: number;
  socks: number;
  open: number;
  forward: number;
  api: number;
  metrics: number;
}

/** The status of an absolute-form request through the http proxy. */
async function requestVia(proxy: number, url: string, method = "GET"): Promise<string> {
  const r = await curl("-o", "/dev/null", "-w", "%{http_code}", "-X", method, "-x", `http://127.0.0.1:${proxy}`, url);
  return r.stdout;
}

/** curl's result for a request through SOCKS5, the host sent as a domain spelled as is. */
function socksVia(proxy: number, host: string, port: number, path = "/") {
  return curl("--socks5-hostname", `127.0.0.1:${proxy}`, "--connect-to", `x:80:${host}:${port}`, `http://x${path}`);
}

Deno.test("a proxy refuses its own process's API, metrics and service ports: 403, SOCKS5 0x02, a log line", async () => {
  const { g, p } = await startWatching();
  await using _g = g;
  // the attack of the issue: through the proxy, remove the proxy
  equal(await requestVia(p.http, `http://127.0.0.1:${p.api}/config/services/service-0`, "DELETE"), "403");
  const still = await curl(`http://127.0.0.1:${p.api}/config/services/service-0`);
  match(still.stdout, /service-0/, "service-0 is still there");
  for (
    const [what, port] of [["api", p.api], ["metrics", p.metrics], ["itself", p.http], ["socks", p.socks]] as const
  ) {
    for (const host of ["127.0.0.1", "127.1", "0x7f000001", "[::ffff:127.0.0.1]", "localhost", "0.0.0.0"]) {
      equal(await connectStatus(p.http, host, port), "403", `http CONNECT ${host}:${port} (${what})`);
    }
  }
  equal(await requestVia(p.http, `http://127.0.0.1:${p.metrics}/metrics`), "403");
  for (const [what, port] of [["api", p.api], ["metrics", p.metrics], ["itself", p.socks], ["http", p.http]] as const) {
    for (const host of ["127.0.0.1", "127.1", "localhost"]) {
      const r = await socksVia(p.socks, host, port);
      equal(r.code, 97, `socks5 ${host}:${port} (${what}): ${r.stderr}`);
      match(r.stderr, /\(2\)/, `socks5 ${host}:${port} (${what}) answers REP 0x02`);
    }
  }
  const api = new RegExp(`127\\.0\\.0\\.1:${p.api} is the Web API of this process .*allowSelfTarget=true`);
  ok(await eventually(() => g.lines.some((l) => api.test(l))), g.lines.join("\n"));
  const metrics = new RegExp(`is the metrics server of this process \\(127\\.0\\.0\\.1:${p.metrics}\\)`);
  ok(await eventually(() => g.lines.some((l) => metrics.test(l))), "the metrics refusal is logged");
  ok(await eventually(() => g.lines.some((l) => l.includes(`is service service-0 of this process`))));
  // a port that is not the process's own is dialed (nothing listens there: 502)
  equal(await connectStatus(p.http, "127.0.0.1", freePort()), "502");
});

Deno.test("allowSelfTarget=true lets a service reach its own process; forwarding services are not concerned", async () => {
  const { g, p } = await startWatching();
  await using _g = g;
  const viaOpen = await curl("-x", `http://127.0.0.1:${p.open}`, `http://127.0.0.1:${p.api}/config/services`);
  match(viaOpen.stdout, /service-0/, viaOpen.stderr);
  const socks = await socksVia(p.open, "127.1", p.metrics, "/metrics");
  equal(socks.code, 0, socks.stderr);
  match(socks.stdout, /gost_/);
  const forwarded = await curl(`http://127.0.0.1:${p.forward}/config/services`);
  match(forwarded.stdout, /service-0/, "a tcp forward to the API is the operator's choice");
});

/** Starts the process and waits for its services, API and metrics. */
async function startWatching(): Promise<{ g: GostProcess; p: Ports }> {
  let api = false, metrics = false;
  const p: Ports = {
    http: freePort(),
    socks: freePort(),
    open: freePort(),
    forward: freePort(),
    api: freePort(),
    metrics: freePort(),
  };
  const g = await startGost([
    "-L",
    `http://127.0.0.1:${p.http}`,
    "-L",
    `socks5://127.0.0.1:${p.socks}`,
    "-L",
    `auto://127.0.0.1:${p.open}?allowSelfTarget=true`,
    "-L",
    `tcp://127.0.0.1:${p.forward}/127.0.0.1:${p.api}`,
    "-api",
    `127.0.0.1:${p.api}`,
    "-metrics",
    `127.0.0.1:${p.metrics}`,
  ], {
    what: "listening with its API and metrics",
    ready: (line, n) => {
      if (/api server on /.test(line)) api = true;
      if (/metrics service on /.test(line)) metrics = true;
      return n >= 4 && api && metrics;
    },
  });
  return { g, p };
}
