/**
 * `--` process groups (README, "Command line"): the parent runs each argv group as its own child gost.ts process,
 * re-executing itself the way it was started (`deno run main.ts`, `deno run <URL>`, the bundle, or a compiled
 * binary), with `_GOST_ID` set. It forwards SIGINT/SIGTERM/SIGHUP, passes child output through, and when one
 * child exits it stops the others and exits with that child's code. Children watch their parent and exit when it
 * is gone, even after a SIGKILL, so no orphan survives.
 * @module
 */
import type { Logger } from "../log.ts";
import { envIfAllowed, granted } from "../permissions.ts";

/** Environment variable with the group index of a child, as GOST sets it. */
export const GOST_ID_ENV = "_GOST_ID";
/** Environment variable naming the parent's pid, which children watch. */
export const PARENT_PID_ENV = "_GOST_PARENT_PID";
/** How long stopped children get to close gracefully before they are killed. */
export const STOP_GRACE_MS = 10_000;

/** Permission names and their `deno run` flags (for when the parent's own command line cannot be read). */
const PERMISSIONS: [Deno.PermissionName, string][] = [
  ["net", "--allow-net"],
  ["read", "--allow-read"],
  ["write", "--allow-write"],
  ["env", "--allow-env"],
  ["run", "--allow-run"],
  ["sys", "--allow-sys"],
  ["ffi", "--allow-ffi"],
];

/** This process's argv from /proc (Linux): directly, or through `cat` when only `--allow-run` is granted. */
function procCmdline(): string[] | undefined {
  if (Deno.build.os !== "linux") return undefined;
  const path = `/proc/${Deno.pid}/cmdline`;
  let raw: string | undefined;
  try {
    raw = Deno.readTextFileSync(path);
  } catch {
    try {
      const out = new Deno.Command("cat", { args: [path], stdout: "piped", stderr: "null" }).outputSync();
      if (out.success) raw = new TextDecoder().decode(out.stdout);
    } catch {
      // no cat, or --allow-run limited to other programs
    }
  }
  if (!raw) return undefined;
  const argv = raw.split("\0");
  if (argv.at(-1) === "") argv.pop();
  return argv;
}

function isMainModule(arg: string): boolean {
  try {
    if (/^[a-z][a-z0-9+.-]*:/i.test(arg)) return new URL(arg).href === Deno.mainModule;
    return new URL(arg, `file://${Deno.cwd()}/`).href === Deno.mainModule;
  } catch {
    return false;
  }
}

/**
 * The deno flags this process was started with (`-A`, `--allow-read=/etc/gost`, `--cached-only`, `--config …`),
 * read from its command line; undefined when that cannot be read.
 */
export function ownDenoFlags(argv: string[] | undefined = procCmdline()): string[] | undefined {
  if (!argv) return undefined;
  const script = argv.findIndex((a, i) => i > 0 && isMainModule(a));
  if (script < 0) return undefined;
  const flags = argv.slice(1, script);
  return flags[0] === "run" ? flags.slice(1) : flags;
}

/**
 * The V8 flag gost.ts runs with wherever it is started (deno.json's `start` and `compile` tasks, the deployment
 * recipes in docs/, the command lines in README.md; tests/distribution/v8_flags_test.ts checks they agree): young
 * generation semi-spaces of at most 4 MiB instead of V8's 32 MiB, which a burst of connections otherwise grows and
 * keeps resident (docs/benchmarks.md, "V8 heap flag").
 */
export const V8_FLAGS = "--v8-flags=--max-semi-space-size=4";

/**
 * Flags for the permissions granted in full, with {@link V8_FLAGS} (fallback when the command line cannot be
 * read).
 */
function grantedFlags(): string[] {
  const flags = PERMISSIONS.filter(([name]) => granted({ name } as Deno.PermissionDescriptor)).map(([, f]) => f);
  return [...(flags.length === PERMISSIONS.length ? ["-A"] : flags), "--unstable-net", "--no-prompt", V8_FLAGS];
}

/**
 * The command line that re-executes this program with other arguments: the compiled binary itself, or
 * `deno run <the same flags> <the same main module>`. Children may always read `_GOST_ID` and the parent pid.
 * @param args the gost arguments of the new process
 */
export function selfCommand(args: string[]): { cmd: string; args: string[] } {
  if (Deno.build.standalone) return { cmd: Deno.execPath(), args };
  const flags = ownDenoFlags() ?? grantedFlags();
  const env = granted({ name: "env", variable: GOST_ID_ENV }) && granted({ name: "env", variable: PARENT_PID_ENV })
    ? []
    : [`--allow-env=${GOST_ID_ENV},${PARENT_PID_ENV}`];
  return { cmd: Deno.execPath(), args: ["run", ...flags, ...env, Deno.mainModule, ...args] };
}

/**
 * In a child of {@link runGroups}, calls `onOrphan` once the parent process is gone (its pid is no longer our
 * parent: it exited or was killed, and we were re-parented). No-op in a process that is not such a child.
 * @param onOrphan what to do then (main.ts: close gracefully and exit)
 * @returns the polling timer (unref'ed: it never keeps the process alive), or undefined when not a child
 */
export function watchParent(
  onOrphan: () => void,
  intervalMs = 250,
): ReturnType<typeof setInterval> | undefined {
  const expected = Number(envIfAllowed(PARENT_PID_ENV));
  if (!expected) return undefined;
  if (Deno.ppid !== expected) {
    queueMicrotask(onOrphan); // the parent died while we started
    return undefined;
  }
  const timer = setInterval(() => {
    if (Deno.ppid !== expected) {
      clearInterval(timer);
      onOrphan();
    }
  }, intervalMs);
  Deno.unrefTimer(timer);
  return timer;
}

/** Signals the parent passes on to every child. */
const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

function killQuietly(child: Deno.ChildProcess, sig: Deno.Signal): void {
  try {
    child.kill(sig);
  } catch {
    // already exited
  }
}

/**
 * Runs every group as a child process and returns the exit code of the first child to exit, after stopping the
 * others (SIGTERM, then SIGKILL after {@link STOP_GRACE_MS}). A child stopped by a SIGINT/SIGTERM the parent
 * received and passed on counts as a clean stop (0).
 * @param groups argv groups (already split at `--`, none empty)
 * @throws what spawning throws (a missing `--allow-run`), after stopping the children already started
 */
export async function runGroups(groups: string[][], logger: Logger): Promise<number> {
  const children: Deno.ChildProcess[] = [];
  try {
    for (const [i, args] of groups.entries()) {
      const { cmd, args: full } = selfCommand(args);
      const child = new Deno.Command(cmd, {
        args: full,
        env: { [GOST_ID_ENV]: String(i), [PARENT_PID_ENV]: String(Deno.pid) },
        stdin: "null",
        stdout: "inherit",
        stderr: "inherit",
      }).spawn();
      children.push(child);
      logger.info(`started process ${i} (pid ${child.pid}): ${args.join(" ")}`);
    }
  } catch (err) {
    // the caller reports the error (one line for a missing --allow-run)
    for (const c of children) killQuietly(c, "SIGKILL");
    await Promise.all(children.map((c) => c.status));
    throw err;
  }
  let received: Deno.Signal | undefined;
  const forward = (sig: Deno.Signal) => {
    if (sig !== "SIGHUP") received = sig;
    logger.info(`received ${sig}, passing it on to ${children.length} processes`);
    for (const c of children) killQuietly(c, sig);
  };
  const listeners = FORWARDED.map((sig) => [sig, () => forward(sig)] as const);
  for (const [sig, fn] of listeners) Deno.addSignalListener(sig, fn);
  try {
    const first = await Promise.race(children.map((c, i) => c.status.then((st) => ({ i, st }))));
    const stoppedAsAsked = received !== undefined && first.st.signal === received;
    const code = stoppedAsAsked ? 0 : first.st.code;
    const how = first.st.signal ? `was stopped by ${first.st.signal}` : `exited with code ${first.st.code}`;
    const others = children.length > 1 ? "; stopping the others" : "";
    if (code === 0) logger.info(`process ${first.i} ${how}${others}`);
    else logger.error(`process ${first.i} ${how}${others}`);
    for (const c of children) killQuietly(c, "SIGTERM");
    const killer = setTimeout(() => {
      logger.warn(`processes still running after ${STOP_GRACE_MS / 1000}s: killing them`);
      for (const c of children) killQuietly(c, "SIGKILL");
    }, STOP_GRACE_MS);
    await Promise.all(children.map((c) => c.status));
    clearTimeout(killer);
    return code;
  } finally {
    for (const [sig, fn] of listeners) Deno.removeSignalListener(sig, fn);
  }
}
