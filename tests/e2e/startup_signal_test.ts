/**
 * A stop signal while gost.ts is still starting (here: a preUp hook that hangs) is logged, the hook is killed at
 * once instead of after its hookTimeout, the services close, and nothing is left: no process, no port.
 */
import { equal, match, ok } from "node:assert/strict";
import { freePort } from "../helpers/gost.ts";
import { findProcesses, pendingWiring, portFree, spawnGost, waitUntil, whenWired } from "../helpers/process.ts";

/** Live processes running `argv` (the program may appear with its full path). */
const processesRunning = (argv: string) =>
  findProcesses((a) => [a[0]?.replace(/^.*\//, ""), ...a.slice(1)].join(" ") === argv);

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test({
    ...whenWired(
      pendingWiring.startupSignals,
      `${signal} during a hanging preUp hook: logged, hook killed, exit 0, nothing left`,
    ),
    fn: async () => {
      const dir = await Deno.makeTempDir();
      const port = freePort();
      const hang = `sleep 77.${port}`; // a command line no other test runs
      try {
        const svc = { name: "slow", addr: `127.0.0.1:${port}`, handler: { type: "http" }, metadata: { preUp: [hang] } };
        await Deno.writeTextFile(`${dir}/gost.json`, JSON.stringify({ services: [svc] }));
        const gost = spawnGost(["-C", `${dir}/gost.json`]);
        try {
          await gost.waitLine(new RegExp(`\\[pre-up\\] ${hang.replace(".", "\\.")}"`));
          await waitUntil(() => processesRunning(hang).length === 1, "the hook to run");
          const t0 = Date.now();
          const st = await gost.stop(signal);
          equal(st.code, 0, gost.lines.join("\n"));
          ok(Date.now() - t0 < 5000, "did not wait for the hook's 30 s timeout");
          const out = gost.lines.join("\n");
          match(out, new RegExp(`received ${signal} during startup`));
          match(out, /killed by SIGKILL/);
          equal(processesRunning(hang).length, 0, "no hook left");
          ok(portFree(port));
        } finally {
          await gost.stop("SIGKILL");
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
