import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import { ConfigError } from "../../../core/errors.ts";
import { createLogger, MemorySink } from "../../../core/log.ts";
import { Metadata } from "../../../core/metadata.ts";
import {
  DEFAULT_HOOK_TIMEOUT_MS,
  killRunningHooks,
  parseHooks,
  runHooks,
  splitCommand,
} from "../../../core/service/hooks.ts";
import { until } from "../../helpers/wait.ts";

/** Whether process `pid` runs (a zombie does not). */
function alive(pid: number): boolean {
  try {
    const s = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return s.slice(s.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

function memLogger() {
  const sink = new MemorySink();
  return { logger: createLogger({ level: "debug" }, sink), lines: () => sink.lines.map((l) => JSON.parse(l)) };
}

Deno.test("hook commands are split shell-style without a shell", () => {
  deepEqual(splitCommand(`sh -c 'echo "a b" > /tmp/x'`), ["sh", "-c", `echo "a b" > /tmp/x`]);
  deepEqual(splitCommand(`  ip  link set "dev 0" up `), ["ip", "link", "set", "dev 0", "up"]);
  deepEqual(splitCommand(`echo a\\ b "q\\"uote" ''`), ["echo", "a b", `q"uote`, ""]);
  deepEqual(splitCommand(`echo $HOME|cat`), ["echo", "$HOME|cat"]); // no expansion, no pipes
  throws(() => splitCommand(`echo 'open`), ConfigError);
  throws(() => splitCommand(`echo "open`), /Unterminated double quote/);
});

Deno.test("hook lists come from service metadata; a plain string is one command, never split at commas", () => {
  const h = parseHooks(
    new Metadata({ preUp: ["a 1", "b"], "post-up": "sh -c 'x, y'", preDown: [], hookTimeout: "2s" }),
  );
  deepEqual(h, { preUp: ["a 1", "b"], postUp: ["sh -c 'x, y'"], preDown: [], postDown: [], timeoutMs: 2000 });
  equal(parseHooks(new Metadata({})).timeoutMs, DEFAULT_HOOK_TIMEOUT_MS);
  throws(() => parseHooks(new Metadata({ postDown: ["echo 'x"] })), /Unterminated single quote/);
  throws(() => parseHooks(new Metadata({ hookTimeout: "soon" })), /hookTimeout/);
});

Deno.test("hooks run in order; exit codes and output are logged; failures never stop the next one", async () => {
  const { logger, lines } = memLogger();
  const dir = await Deno.makeTempDir();
  try {
    const ok2 = await runHooks(
      "pre-up",
      [
        `sh -c 'echo one >> ${dir}/order; echo out; echo err >&2'`,
        "/nonexistent/gost-hook",
        `sh -c 'echo two >> ${dir}/order; exit 1'`,
        `sh -c 'echo three >> ${dir}/order'`,
      ],
      5000,
      logger,
    );
    equal(ok2, 2);
    equal(await Deno.readTextFile(`${dir}/order`), "one\ntwo\nthree\n");
    const l = lines();
    const first = l.find((x) => x.exitCode === 0)!;
    equal(first.level, "info");
    equal(first.stdout, "out");
    equal(first.stderr, "err");
    match(first.duration, /^\d+\.\d{3}s$/);
    const missing = l.find((x) => /gost-hook: /.test(x.msg))!;
    equal(missing.level, "warn");
    equal(missing.msg, "[pre-up] /nonexistent/gost-hook: not run: command not found: /nonexistent/gost-hook");
    const failed = l.find((x) => x.exitCode === 1)!;
    equal(failed.level, "warn");
    match(failed.msg, /: exit 1$/);
    // each command is announced before it runs, in order
    deepEqual(l.filter((x) => !/: /.test(x.msg)).map((x) => x.msg.split(" ")[1]), [
      "sh",
      "/nonexistent/gost-hook",
      "sh",
      "sh",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a hook printing 10 MB is drained; the log keeps the first 4 KiB and the size", async () => {
  const { logger, lines } = memLogger();
  const t0 = performance.now();
  await runHooks("post-up", ["head -c 10485760 /dev/zero"], 10_000, logger);
  ok(performance.now() - t0 < 5000);
  const done = lines().find((x) => x.exitCode === 0)!;
  match(done.stdout, /… \(10485760 bytes in all\)$/);
  ok(done.stdout.length < 4200);
});

Deno.test("a hanging hook is killed after hookTimeout with everything it started", async () => {
  const { logger, lines } = memLogger();
  const dir = await Deno.makeTempDir();
  try {
    const t0 = performance.now();
    // sh forks sleep, which holds the output pipe: killing only sh would leave the read hanging
    await runHooks("pre-down", [`sh -c 'echo $$ > ${dir}/pid; sleep 30; echo never'`], 300, logger);
    const took = performance.now() - t0;
    ok(took >= 290 && took < 3000, `took ${took} ms`);
    const killed = lines().find((x) => /killed after/.test(x.msg))!;
    equal(killed.level, "warn");
    match(killed.msg, /^\[pre-down\] .*: killed after 0\.3s$/);
    // nothing of its process group is left
    const pgid = Number(await Deno.readTextFile(`${dir}/pid`));
    let left = 0;
    for (const e of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(e.name)) continue;
      try {
        const s = Deno.readTextFileSync(`/proc/${e.name}/stat`);
        const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
        if (Number(f[2]) === pgid && f[0] !== "Z") left++;
      } catch {
        // gone
      }
    }
    equal(left, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a hook that leaves a background process holding its output does not block", async () => {
  const { logger, lines } = memLogger();
  const dir = await Deno.makeTempDir();
  let pid = 0;
  try {
    await runHooks("post-down", [`sh -c 'sleep 30 & echo $! > ${dir}/pid; echo started'`], 10_000, logger);
    pid = Number(await Deno.readTextFile(`${dir}/pid`));
    // Waiting for the pipe to close would have lasted until the 10 s hookTimeout killed the group, sleep included.
    ok(alive(pid), "returned before the background sleep ended");
    equal(lines().find((x) => x.exitCode === 0)?.stdout, "started");
  } finally {
    if (pid) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
      await until(() => !alive(pid), `the background sleep (pid ${pid}) to end`);
    }
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("killRunningHooks stops a hook at once (a stop signal during a hanging preUp)", async () => {
  const { logger, lines } = memLogger();
  const run = runHooks("pre-up", ["sleep 30", "true"], 30_000, logger);
  // 0 (nothing killed) until the hook has started; then it kills that one
  await until(() => killRunningHooks() === 1, "the hanging hook to start and be killed");
  equal(await run, 1, "the next command still ran");
  equal(lines().find((x) => /sleep 30: /.test(x.msg))?.msg, "[pre-up] sleep 30: killed by SIGKILL");
  equal(killRunningHooks(), 0);
});
