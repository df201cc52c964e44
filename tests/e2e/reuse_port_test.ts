/**
 * Several gost.ts processes on one port (`?reusePort=true`, SO_REUSEPORT, Linux): the kernel spreads new conns over
 * them, so a busy proxy can use more cores; without it the second process cannot bind.
 */
import { equal, ok } from "node:assert/strict";
import { freePort, gostCommand, startGost } from "../helpers/gost.ts";
import { curl } from "../helpers/run.ts";
import { httpOrigin } from "../helpers/servers.ts";
import { eventually } from "../helpers/wait.ts";

/** Conns a process logged as opened (`client <> service` lines). */
const opened = (lines: string[]) => lines.filter((l) => / <> 127\.0\.0\.1:\d+"/.test(l)).length;

Deno.test("two processes share one port with reusePort=true; the kernel spreads curl's conns over both", async () => {
  const origin = httpOrigin();
  const port = freePort();
  const url = `http://127.0.0.1:${port}?reusePort=true`;
  await using a = await startGost(["-L", url]);
  await using b = await startGost(["-L", url]);
  try {
    for (let i = 0; i < 24; i++) {
      const r = await curl("-x", `http://127.0.0.1:${port}`, `http://127.0.0.1:${origin.port}/`);
      equal(r.code, 0, r.stderr);
    }
    // each process logs a conn as it accepts it, before curl's answer; the test reads the logs as they come
    await eventually(() => opened(a.lines) + opened(b.lines) >= 24, 10_000);
    const [na, nb] = [opened(a.lines), opened(b.lines)];
    equal(na + nb, 24, `every conn logged once: ${na} + ${nb}`);
    ok(na > 0 && nb > 0, `both processes served: ${na} and ${nb}`);
  } finally {
    await origin.close();
  }
});

Deno.test("without reusePort a second process on the same port fails to listen and exits non-zero", async () => {
  const port = freePort();
  await using _a = await startGost(["-L", `http://127.0.0.1:${port}`]);
  const out = await gostCommand(["-L", `http://127.0.0.1:${port}`]).output();
  ok(out.code !== 0, "the second process exits non-zero");
  ok(/address already in use|in use/i.test(new TextDecoder().decode(out.stderr)), "and says the address is in use");
});
