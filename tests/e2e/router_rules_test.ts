/** Bypass, hosts and admission rules taking effect in a real gost.ts process, at service and hop level. */
import { equal, match, notEqual } from "node:assert/strict";
import { freePort, startGost } from "../helpers/gost.ts";
import { curl } from "../helpers/run.ts";
import { httpOrigin } from "../helpers/servers.ts";
import { eventually } from "../helpers/wait.ts";

const opened = (lines: string[]) => lines.filter((l) => l.includes(" <> ")).length;

Deno.test("service bypass refuses matching targets in each protocol, hosts maps names", async () => {
  const origin = httpOrigin();
  const port = freePort();
  await using _gost = await startGost([
    "-L",
    `127.0.0.1:${port}?bypass=*.blocked.test,10.0.0.0/8&hosts=origin.test:127.0.0.1,www.blocked.test:127.0.0.1`,
  ]);
  const ok = await curl("-x", `http://127.0.0.1:${port}`, `http://origin.test:${origin.port}/mapped`);
  equal(ok.stdout, "hello /mapped", ok.stderr);
  const refused = await curl(
    "-o",
    "/dev/null",
    "-w",
    "%{http_code}",
    "-x",
    `http://127.0.0.1:${port}`,
    `http://www.blocked.test:${origin.port}/`,
  );
  equal(refused.stdout, "403");
  const tunnel = await curl("-p", "-x", `http://127.0.0.1:${port}`, `http://www.blocked.test:${origin.port}/`);
  match(tunnel.stderr, /403/);
  const socks = await curl("--socks5-hostname", `127.0.0.1:${port}`, `http://www.blocked.test:${origin.port}/`);
  notEqual(socks.code, 0);
  match(socks.stderr, /not allowed|connection not allowed by ruleset|\(97\)/i);
  await origin.close();
});

Deno.test("hop bypass sends matching targets direct and the rest through the chain", async () => {
  const origin = httpOrigin();
  const [upstream, entry] = [freePort(), freePort()];
  await using up = await startGost(["-L", `http://127.0.0.1:${upstream}`]);
  await using _gost = await startGost([
    "-L",
    `http://127.0.0.1:${entry}`,
    "-F",
    `http://127.0.0.1:${upstream}?bypass=localhost`,
  ]);
  const before = opened(up.lines);
  equal(
    (await curl("-x", `http://127.0.0.1:${entry}`, `http://localhost:${origin.port}/direct`)).stdout,
    "hello /direct",
  );
  equal(opened(up.lines), before, "a bypassed target must not use the hop");
  equal(
    (await curl("-x", `http://127.0.0.1:${entry}`, `http://127.0.0.1:${origin.port}/chained`)).stdout,
    "hello /chained",
  );
  await eventually(() => opened(up.lines) !== before, 10_000);
  notEqual(opened(up.lines), before, "other targets go through the hop");
  // the hop logs its conns in order: a conn of the bypassed request would be in before this one
  equal(opened(up.lines), before + 1, "only the chained request used the hop");
  await origin.close();
});

Deno.test("admission whitelist refuses clients outside it", async () => {
  const origin = httpOrigin();
  const [allowed, denied] = [freePort(), freePort()];
  await using _gost = await startGost([
    "-L",
    `http://127.0.0.1:${allowed}?admission=~127.0.0.0/8`,
    "-L",
    `http://127.0.0.1:${denied}?admission=~10.0.0.0/8`,
  ], { listening: 2 });
  equal((await curl("-x", `http://127.0.0.1:${allowed}`, `http://127.0.0.1:${origin.port}/in`)).stdout, "hello /in");
  const r = await curl("-x", `http://127.0.0.1:${denied}`, `http://127.0.0.1:${origin.port}/out`);
  notEqual(r.code, 0);
  await origin.close();
});
