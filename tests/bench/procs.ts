/**
 * Processes for the bench: long-running servers (gost.ts, peers, the origin) with their output in a log file, and
 * short client runs (iperf3, curl, wrk) with a timeout. Every process is tracked so {@link stopAll} can end it.
 * @module
 */
import { listening } from "../helpers/wait.ts";

/** A long-running process whose stdout and stderr go to `log`. */
export interface Proc {
  name: string;
  pid: number;
  log: string;
  child: Deno.ChildProcess;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

const servers = new Set<Proc>();
const clients = new Set<Deno.ChildProcess>();

/**
 * Starts `cmd args…` with stdout and stderr appended to `log` (through `sh -c exec`, so `pid` is the program's own).
 */
export function spawn(name: string, log: string, cmd: string, args: string[], env: Record<string, string> = {}): Proc {
  const child = new Deno.Command("sh", {
    args: ["-c", 'exec "$@" >>"$BENCH_LOG" 2>&1', "sh", cmd, ...args],
    env: { ...env, BENCH_LOG: log, NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  let stopped: Promise<void> | null = null;
  const proc: Proc = {
    name,
    pid: child.pid,
    log,
    child,
    stop(graceMs = 2000) {
      stopped ??= (async () => {
        kill(child, "SIGTERM");
        const timer = setTimeout(() => kill(child, "SIGKILL"), graceMs);
        await child.status;
        clearTimeout(timer);
        servers.delete(proc);
      })();
      return stopped;
    },
  };
  servers.add(proc);
  return proc;
}

function kill(child: Deno.ChildProcess, sig: Deno.Signal): void {
  try {
    child.kill(sig);
  } catch {
    // already gone
  }
}

function readLog(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

async function exited(p: Proc): Promise<boolean> {
  const st = await Promise.race([p.child.status, new Promise<null>((r) => setTimeout(() => r(null), 0))]);
  return st !== null;
}

/**
 * Waits until `p` is ready: its log matches `pattern` `count` times, or a TCP connect to `port` succeeds.
 * @throws when the process exits or `timeoutMs` passes first (with the log's tail)
 */
export async function waitReady(
  p: Proc,
  ready: { pattern: RegExp; count?: number } | { port: number },
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ("pattern" in ready) {
      const re = new RegExp(ready.pattern.source, ready.pattern.flags.includes("g") ? ready.pattern.flags : "g");
      if ((readLog(p.log).match(re)?.length ?? 0) >= (ready.count ?? 1)) return;
    } else if (await listening(ready.port)) return;
    if (await exited(p)) throw new Error(`${p.name} exited before it was ready:\n${readLog(p.log).slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await p.stop(500);
  throw new Error(`${p.name} not ready in ${timeoutMs} ms:\n${readLog(p.log).slice(-2000)}`);
}

/** Output of a finished client run. */
export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a client to completion; SIGKILLs it after `timeoutMs`.
 * @throws when it exits non-zero or times out
 */
export async function runTool(cmd: string, args: string[], timeoutMs: number): Promise<ToolResult> {
  const child = new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" }).spawn();
  clients.add(child);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    kill(child, "SIGKILL");
  }, timeoutMs);
  try {
    const out = await child.output();
    const dec = new TextDecoder();
    const r = { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
    if (timedOut) throw new Error(`${cmd} timed out after ${timeoutMs} ms`);
    if (r.code !== 0) {
      throw new Error(`${cmd} ${args.join(" ")} exited ${r.code}: ${(r.stderr || r.stdout).slice(-1000)}`);
    }
    return r;
  } finally {
    clearTimeout(timer);
    clients.delete(child);
  }
}

/** Ends every server and client still running (servers: SIGTERM, then SIGKILL after 1 s). */
export async function stopAll(): Promise<void> {
  for (const c of clients) kill(c, "SIGKILL");
  await Promise.all([...servers].map((p) => p.stop(1000)));
}

/** The resident set size of a process, in KiB (VmRSS from /proc/PID/status). */
export function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

/** CPU time (user + system, all threads) a process has used so far, in seconds (from /proc/PID/stat). */
export function cpuSeconds(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is the state (field 3); utime and stime are fields 14 and 15, in clock ticks (USER_HZ = 100).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
