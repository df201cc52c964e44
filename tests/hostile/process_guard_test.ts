/**
 * No uncaught error ends the process: with the guard gost.ts's CLI installs (core/process_guard.ts), a promise
 * rejected with no handler and an exception thrown in a timer are logged at error level with their stacks, and the
 * process goes on; without it, Deno exits at the first.
 */
import { equal, match } from "node:assert/strict";

const CHILD = new URL("./guard_child.ts", import.meta.url).pathname;

async function runChild(env: Record<string, string>) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-env=NO_GUARD", CHILD],
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("the process guard logs an unhandled rejection and an uncaught exception with their stacks, and the process keeps running", async () => {
  const r = await runChild({});
  equal(r.code, 0, r.stderr);
  equal(r.stdout, "alive\n");
  const lines = r.stderr.trim().split("\n").map((l) => JSON.parse(l));
  equal(lines.length, 2, r.stderr);
  // the two errors may come in either order: a busy machine can run the timer before the rejection is reported
  const rejection = lines.find((l) => String(l.msg).startsWith("unhandled rejection"));
  const exception = lines.find((l) => String(l.msg).startsWith("uncaught exception"));
  equal(rejection?.level, "error", r.stderr);
  match(
    rejection.msg,
    /^unhandled rejection, the process keeps running: Error: boom in a promise\n\s+at .*guard_child\.ts/,
  );
  equal(exception?.level, "error", r.stderr);
  match(
    exception.msg,
    /^uncaught exception, the process keeps running: Error: boom in a timer\n\s+at .*guard_child\.ts/,
  );
});

Deno.test("without the guard the same child dies at the first uncaught error (what the guard prevents)", async () => {
  const r = await runChild({ NO_GUARD: "1" });
  equal(r.code, 1);
  equal(r.stdout, "");
  // which of the two surfaces first is the runtime's choice (a busy machine may run the timer before the rejection
  // is reported): either one ends the child, and "alive" never prints
  match(r.stderr, /Uncaught (\(in promise\) Error: boom in a promise|Error: boom in a timer)/);
});
