/**
 * Live session health end to end, as real processes: an entry `-F http+mtls://…` with the API; after curl requests
 * `GET /sessions` lists its one mtls session with the streams and bytes they used; then the node is frozen
 * (SIGSTOP): a request waiting on the session fails once the keep-alive timeout passes (not at curl's own limit),
 * the entry logs the close and counts it, and after SIGCONT the next request rides a new session. mws and mwss
 * sessions are listed too, named by their transport.
 */
import { equal, match, ok } from "node:assert/strict";
import { call, startApi } from "../helpers/api.ts";
import { freePort, startGost } from "../helpers/gost.ts";
import { namedOrigin } from "../helpers/process.ts";
import { curl } from "../helpers/run.ts";
import { until } from "../helpers/wait.ts";

const N = 5;
/** Short keep-alive on both ends: the node's NOPs keep an idle session alive, a frozen node misses them. */
const MUX = "mux.keepaliveInterval=100ms&mux.keepaliveTimeout=1500ms";

Deno.test("GET /sessions shows the mtls session; a frozen node's session is closed at the keep-alive timeout, logged, counted and replaced", async () => {
  const origin = namedOrigin("hello");
  const [node, entry, apiPort, metricsPort] = [freePort(), freePort(), freePort(), freePort()];
  await using nodeProc = await startGost(["-L", `http+mtls://127.0.0.1:${node}?${MUX}`]);
  await using g = await startApi(
    [
      "-L",
      `http://127.0.0.1:${entry}`,
      "-F",
      `http+mtls://127.0.0.1:${node}?${MUX}`,
      "-api",
      `127.0.0.1:${apiPort}`,
      "-metrics",
      `127.0.0.1:${metricsPort}`,
    ],
    { apiPort, listening: 1 },
  );
  const get = (path: string, ...args: string[]) =>
    curl(...args, "-p", "-x", `http://127.0.0.1:${entry}`, `http://127.0.0.1:${origin.port}${path}`);
  const stopped = { yes: false };
  try {
    for (let i = 0; i < N; i++) {
      const r = await get(`/r${i}`);
      match(r.stdout, /hello/, r.stderr);
    }
    const before = await call("GET", `${g.base}/sessions`);
    equal(before.status, 200, before.text);
    equal(before.body.data.count, 1, before.text);
    const s = before.body.data.list[0];
    equal(s.transport, "mtls");
    equal(s.addr, `127.0.0.1:${node}`);
    equal(s.remote, `127.0.0.1:${node}`);
    ok(s.streamsTotal >= N, `streams total ${s.streamsTotal} >= ${N}: ${before.text}\n${g.lines.join("\n")}`);
    ok(s.bytesIn > 0 && s.bytesOut > 0, before.text);
    ok(s.lastReceivedAt >= s.createdAt && s.ageMs >= 0, before.text);
    equal(s.keepaliveTimeoutMs, 1500);
    equal(s.keepaliveRttMs, null);
    // the node's NOPs arrive (its keep-alive interval is 100 ms)
    await until(
      async () => {
        const r = await call("GET", `${g.base}/sessions`);
        return r.body.data.list[0]?.lastKeepaliveAt > 0;
      },
      "a keep-alive from the node",
      10_000,
    );

    nodeProc.child.kill("SIGSTOP");
    stopped.yes = true;
    const start = performance.now();
    const waiting = get("/while-frozen", "--max-time", "30");
    await until(
      () => g.lines.some((l) => /mtls session .* closed: nothing received for the keep-alive timeout/.test(l)),
      "the keep-alive close in the log",
      15_000,
    );
    const frozen = await waiting;
    const waited = performance.now() - start;
    ok(!/hello/.test(frozen.stdout), `the frozen node answered: ${frozen.stdout}`);
    ok(
      waited < 10_000,
      `the waiting request ended at the keep-alive timeout, not at curl's limit (${waited} ms, ${frozen.stderr.trim()})`,
    );
    const after = await call("GET", `${g.base}/sessions`);
    const chain = Object.keys(after.body.data.ended)[0];
    equal(after.body.data.ended[chain].keepalive, 1, after.text);
    equal(after.body.data.count, 0, after.text);
    const metrics = await curl(`http://127.0.0.1:${metricsPort}/metrics`);
    match(
      metrics.stdout,
      new RegExp(
        `gost_mux_sessions_closed_total\\{chain="${chain}",host="[^"]*",node="node-0",reason="keepalive"\\} 1\\n`,
      ),
      metrics.stdout,
    );

    nodeProc.child.kill("SIGCONT");
    stopped.yes = false;
    const again = await get("/again");
    match(again.stdout, /hello/, again.stderr);
    const renewed = await call("GET", `${g.base}/sessions`);
    equal(renewed.body.data.count, 1, renewed.text);
    ok(renewed.body.data.list[0].createdAt > s.createdAt, "a new session");
    ok(renewed.body.data.list[0].local !== s.local, "over a new conn");
  } finally {
    if (stopped.yes) nodeProc.child.kill("SIGCONT");
    await origin.close();
  }
});

Deno.test("GET /sessions: the same Basic auth as /config", async () => {
  const apiPort = freePort();
  await using g = await startApi(["-api", `admin:pw@127.0.0.1:${apiPort}`], { apiPort });
  equal((await call("GET", `${g.base}/sessions`)).status, 401);
  const ok200 = await call("GET", `${g.base}/sessions`, undefined, { Authorization: `Basic ${btoa("admin:pw")}` });
  equal(ok200.status, 200, ok200.text);
  equal(ok200.body.data.count, 0);
});

for (const transport of ["mws", "mwss"]) {
  Deno.test(`GET /sessions lists the ${transport} session by its transport name`, async () => {
    const origin = namedOrigin("hello");
    const [node, entry, apiPort] = [freePort(), freePort(), freePort()];
    await using _node = await startGost(["-L", `http+${transport}://127.0.0.1:${node}`]);
    await using g = await startApi(
      [
        "-L",
        `http://127.0.0.1:${entry}`,
        "-F",
        `http+${transport}://127.0.0.1:${node}`,
        "-api",
        `127.0.0.1:${apiPort}`,
      ],
      { apiPort, listening: 1 },
    );
    try {
      for (let i = 0; i < 3; i++) {
        const r = await curl("-x", `http://127.0.0.1:${entry}`, `http://127.0.0.1:${origin.port}/m${i}`);
        match(r.stdout, /hello/, r.stderr);
      }
      const res = await call("GET", `${g.base}/sessions`);
      equal(res.status, 200, res.text);
      equal(res.body.data.count, 1, res.text);
      const s = res.body.data.list[0];
      equal(s.transport, transport, res.text);
      equal(s.addr, `127.0.0.1:${node}`);
      ok(s.streamsTotal >= 1 && s.bytesIn > 0 && s.bytesOut > 0, res.text);
    } finally {
      await origin.close();
    }
  });
}
