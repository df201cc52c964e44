/**
 * `-DD` writes trace lines of the protocol steps, as GOST does: the HTTP request head and the relay request, never
 * a password. A real gost.ts process and curl over loopback.
 */
import { equal, ok } from "node:assert/strict";
import { freePort, startGost } from "../helpers/gost.ts";
import { curl } from "../helpers/run.ts";
import { httpOrigin } from "../helpers/servers.ts";
import { until } from "../helpers/wait.ts";

Deno.test("-DD: the http request head and the relay request are traced, credentials redacted", async () => {
  const origin = httpOrigin();
  const relay = freePort();
  const front = freePort();
  await using server = await startGost(["-DD", "-L", `relay://ru:rsecret@127.0.0.1:${relay}`]);
  await using g = await startGost([
    "-DD",
    "-L",
    `http://u:s3cret@127.0.0.1:${front}`,
    "-F",
    `relay://ru:rsecret@127.0.0.1:${relay}`,
  ]);
  const r = await curl("-sS", "-x", `http://u:s3cret@127.0.0.1:${front}`, `http://127.0.0.1:${origin.port}/t`);
  equal(r.stdout, "hello /t", r.stderr);
  const traced = (lines: string[], re: RegExp) => lines.some((l) => l.includes('"level":"trace"') && re.test(l));
  await until(() => traced(g.lines, /GET http:\/\/127\.0\.0\.1:\d+\/t HTTP\/1\.1/), "the request head traced");
  ok(traced(g.lines, /Proxy-Authorization: <redacted>/), g.lines.join("\n"));
  await until(() => traced(server.lines, /relay request: cmd=0x1 .*user=ru/), "the relay request traced");
  const all = [...g.lines, ...server.lines].join("\n");
  ok(!all.includes("s3cret") && !all.includes("rsecret") && !all.includes(btoa("u:s3cret")), "no password logged");
  // without -DD there is no trace line
  const quiet = freePort();
  await using q = await startGost(["-D", "-L", `http://127.0.0.1:${quiet}`]);
  equal((await curl("-sS", "-x", `http://127.0.0.1:${quiet}`, `http://127.0.0.1:${origin.port}/q`)).stdout, "hello /q");
  ok(!q.lines.some((l) => l.includes('"level":"trace"')));
  await origin.close();
});
