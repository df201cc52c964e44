/**
 * gost.ts runs with one V8 flag (tests/helpers/gost.ts's `V8_FLAGS`, docs/benchmarks.md "V8 heap flag") wherever it is
 * started: the deno tasks that run or build it, the deployment recipes, the README, the test and bench launchers —
 * and `--` process groups pass it on to their children.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { freePort, V8_FLAGS } from "../helpers/gost.ts";
import { childPids, MAIN, procArgv, ROOT, spawnGost, waitListening } from "../helpers/process.ts";
import { taskArgv } from "./util.ts";

Deno.test("deno task start and compile pass the V8 flag", async () => {
  for (const task of ["start", "compile"]) {
    const argv = await taskArgv(task);
    ok(argv.includes(V8_FLAGS), `the ${task} task lacks ${V8_FLAGS}: ${argv.join(" ")}`);
    ok(argv.indexOf(V8_FLAGS) < argv.indexOf("main.ts"), `${task}: the flag goes to deno, before main.ts`);
  }
});

Deno.test("the deployment recipes and the README give the V8 flag", async () => {
  for (
    const file of ["docs/gost.service", "docs/run.gost.plist", "docs/gost.cron", "README.md", "docs/deployment.md"]
  ) {
    const text = await Deno.readTextFile(`${ROOT}${file}`);
    ok(text.includes(V8_FLAGS), `${file} does not mention ${V8_FLAGS}`);
  }
});

Deno.test("-- groups: each child runs with the parent's V8 flag", async () => {
  const [a, b] = [freePort(), freePort()];
  const gost = spawnGost(["-L", `http://127.0.0.1:${a}`, "--", "-L", `socks5://127.0.0.1:${b}`], {
    flags: ["-A", "--unstable-net", V8_FLAGS],
  });
  try {
    await waitListening([a, b], gost);
    const kids = childPids(gost.pid);
    equal(kids.length, 2);
    for (const k of kids) {
      const argv = procArgv(k);
      deepEqual(argv.slice(1, 5), ["run", "-A", "--unstable-net", V8_FLAGS], "the parent's flags");
      equal(argv[5], new URL(`file://${MAIN}`).href);
    }
    equal((await gost.stop("SIGTERM")).code, 0, gost.lines.join("\n"));
  } finally {
    await gost.stop("SIGKILL");
  }
});
