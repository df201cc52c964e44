/**
 * The `metrics` handler as GOST has it (`-L metrics://:9000`): a real gost.ts process, curl over loopback.
 */
import { equal, match, ok } from "node:assert/strict";
import { freePort, startGost } from "../../helpers/gost.ts";
import { curl, curlStatus } from "../../helpers/run.ts";
import { httpOrigin } from "../../helpers/servers.ts";

Deno.test("-L metrics://: serves the gost_* and process_* series, counts a proxy's requests, 404 elsewhere", async () => {
  const origin = httpOrigin();
  const proxy = freePort();
  const metrics = freePort();
  await using _gost = await startGost(
    ["-L", `http://127.0.0.1:${proxy}`, "-L", `metrics://127.0.0.1:${metrics}`],
    { listening: 2 },
  );
  const page = `http://127.0.0.1:${metrics}/metrics`;
  equal(await curlStatus("-x", `http://127.0.0.1:${proxy}`, `http://127.0.0.1:${origin.port}/x`), "200");
  const res = await curl("-sS", "-D", "-", page);
  equal(res.code, 0, res.stderr);
  match(res.stdout, /^HTTP\/1\.1 200/);
  match(res.stdout, /content-type: text\/plain; version=0\.0\.4/i);
  match(res.stdout, /gost_service_requests_total\{[^}]*service="service-0"[^}]*\} 1\n/);
  match(res.stdout, /\nprocess_cpu_seconds_total [\d.e+-]+\n/);
  match(res.stdout, /\nprocess_open_fds \d+\n/);
  equal(await curlStatus(`http://127.0.0.1:${metrics}/other`), "404");
  await origin.close();
});

Deno.test("-L metrics://user:pass@: 401 with WWW-Authenticate without the credentials, 200 with them", async () => {
  const port = freePort();
  await using _gost = await startGost(["-L", `metrics://u:s3cret@127.0.0.1:${port}?path=/m`]);
  const page = `http://127.0.0.1:${port}/m`;
  const denied = await curl("-sS", "-D", "-", "-o", "/dev/null", page);
  match(denied.stdout, /^HTTP\/1\.1 401/);
  match(denied.stdout, /www-authenticate: Basic realm="metrics"/i);
  equal(await curlStatus("-u", "u:wrong", page), "401");
  const ok200 = await curl("-sS", "-u", "u:s3cret", page);
  equal(ok200.code, 0, ok200.stderr);
  ok(ok200.stdout.includes("gost_services"), ok200.stdout.slice(0, 200));
  equal(await curlStatus("-u", "u:s3cret", `http://127.0.0.1:${port}/metrics`), "404");
});
