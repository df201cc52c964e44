/**
 * `--` process groups (GOST-REFERENCE §3.4): the parent runs each argv group as its own child gost.ts process,
 * re-executing itself the way it was started (`deno run main.ts`, `deno run <URL>`, the bundle, or a compiled
 * binary), with `_GOST_ID` set. It forwards SIGINT/SIGTERM/SIGHUP, passes child output through, and when one
 * child exits it stops the others and exits with that child's code. Children watch their parent and exit when it
 * is gone, even after a SIGKILL, so no orphan survives.
 * @module
 */
import type { Logger } from "../log.ts";

/** Permission names and their `deno run` flags. */
const PERMISSIONS: [Deno.PermissionName, string][] = [
  ["net", "--allow-net"],
  ["read", "--allow-read"],
  ["write", "--allow-write"],
  ["env", "--allow-env"],
  ["run", "--allow-run"],
  ["sys", "--allow-sys"],
  ["ffi", "--allow-ffi"],
];

/**
 * The command line that re-executes this program with other arguments, keeping the granted permissions.
 * @param args the arguments for the new process
 */
export function selfCommand(args: string[]): { cmd: string; args: string[] } {
  if (Deno.build.standalone) return { cmd: Deno.execPath(), args };
  const granted = PERMISSIONS.filter(([name]) =>
    Deno.permissions.querySync({ name } as Deno.PermissionDescriptor).state === "granted"
  );
  const flags = granted.length === PERMISSIONS.length ? ["-A"] : granted.map(([, f]) => f);
  return {
    cmd: Deno.execPath(),
    args: ["run", ...flags, "--unstable-net", "--quiet", "--no-prompt", Deno.mainModule, ...args],
  };
}

/** Environment variable naming the parent's pid, which children watch. */
export const PARENT_PID_ENV = "_GOST_PARENT_PID";

/**
 * In a child, exits when the parent process is gone (polls `Deno.ppid`); no-op elsewhere.
 * @param onOrphan called instead of exiting (tests); defaults to a graceful exit path the caller provides
 */
export function watchParent(onOrphan: () => void, intervalMs = 500): ReturnType<typeof setInterval> | undefined {
  const expected = Number(Deno.env.get(PARENT_PID_ENV));
  if (!expected) return undefined;
  const timer = setInterval(() => {
    if (Deno.ppid !== expected) {
      clearInterval(timer);
      onOrphan();
    }
  }, intervalMs);
  Deno.unrefTimer(timer as unknown as number);
  return timer;
}

/**
 * Runs every group as a child process and returns the exit code of the first child to exit.
 * @param groups argv groups (already split at `--`, none empty)
 */
export async function runGroups(groups: string[][], logger: Logger): Promise<number> {
  const children = groups.map((args, i) => {
    const { cmd, args: full } = selfCommand(args);
    const child = new Deno.Command(cmd, {
      args: full,
      env: { _GOST_ID: String(i), [PARENT_PID_ENV]: String(Deno.pid) },
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    logger.info(`started process ${i} (pid ${child.pid}): ${args.join(" ")}`);
    return child;
  });
  const signal = (sig: Deno.Signal) => {
    for (const c of children) {
      try {
        c.kill(sig);
      } catch {
        // already exited
      }
    }
  };
  const handlers = (["SIGINT", "SIGTERM", "SIGHUP"] as const).map((sig) => {
    const h = () => signal(sig);
    Deno.addSignalListener(sig, h);
    return [sig, h] as const;
  });
  const first = await Promise.race(children.map((c, i) => c.status.then((st) => ({ i, st }))));
  logger.info(`process ${first.i} exited with code ${first.st.code}; stopping the others`);
  signal("SIGTERM");
  const rest = Promise.all(children.map((c) => c.status));
  const killer = setTimeout(() => signal("SIGKILL"), 10_000);
  await rest;
  clearTimeout(killer);
  for (const [sig, h] of handlers) Deno.removeSignalListener(sig, h);
  return first.st.code;
}
