/**
 * Service hooks (`preUp`, `postUp`, `preDown`, `postDown` in service metadata): commands run without a shell,
 * split shell-style, one after another. Each command's exit code and output go to the log; a command that hangs
 * is killed after `hookTimeout` (default 30 s); a failing command is logged and never stops the service, as GOST.
 * Linux only, as the design card says; elsewhere hooks log a warning and do nothing.
 * @module
 */
import { ConfigError, errorMessage } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { Metadata } from "../metadata.ts";

/** The four hook phases, as GOST names them in its logs. */
export type HookPhase = "pre-up" | "post-up" | "pre-down" | "post-down";

/** The hook lists of one service. */
export interface Hooks {
  /** Commands run before the service listens. */
  preUp: string[];
  /** Commands run once it listens. */
  postUp: string[];
  /** Commands run before it closes. */
  preDown: string[];
  /** Commands run once it closed. */
  postDown: string[];
  /** How long one command may run before it is killed, in ms. */
  timeoutMs: number;
}

/** Default time a hook command may run before it is killed. */
export const DEFAULT_HOOK_TIMEOUT_MS = 30_000;
/** Most output bytes of one hook command kept for the log. */
const MAX_LOGGED_OUTPUT = 4096;

/**
 * Splits a command line shell-style: whitespace separates words, single quotes keep everything, double quotes
 * keep everything but `\"` and `\\`, a backslash escapes the next character.
 * @throws {ConfigError} on an unterminated quote
 * @example splitCommand(`sh -c 'echo "a b" > /tmp/x'`) // ["sh", "-c", `echo "a b" > /tmp/x`]
 */
export function splitCommand(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new ConfigError(`Unterminated single quote in hook command: ${line}`);
      cur += line.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === "\\" && (line[j + 1] === '"' || line[j + 1] === "\\")) j++;
        cur += line[j];
      }
      if (j >= line.length) throw new ConfigError(`Unterminated double quote in hook command: ${line}`);
      i = j;
      inWord = true;
    } else if (c === "\\" && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = "";
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

/** A hook list: a YAML/JSON list, or one command as a plain string (never split at commas: `sh -c 'a, b'`). */
function commands(md: Metadata, keys: string[]): string[] {
  const v = md.find(keys)?.[1];
  if (v === undefined || v === null || v === "") return [];
  return (Array.isArray(v) ? v : [v]).map(String).filter((c) => c.trim() !== "");
}

/** Reads the hook lists from service metadata. @throws {ConfigError} on a bad timeout or quote */
export function parseHooks(md: Metadata): Hooks {
  const hooks: Hooks = {
    preUp: commands(md, ["preUp", "pre-up"]),
    postUp: commands(md, ["postUp", "post-up"]),
    preDown: commands(md, ["preDown", "pre-down"]),
    postDown: commands(md, ["postDown", "post-down"]),
    timeoutMs: md.duration("hookTimeout", DEFAULT_HOOK_TIMEOUT_MS),
  };
  for (const list of [hooks.preUp, hooks.postUp, hooks.preDown, hooks.postDown]) for (const c of list) splitCommand(c);
  return hooks;
}

/** How long output is still read after a hook exits (a background process it left may hold the pipe). */
const OUTPUT_GRACE_MS = 200;

/**
 * The first bytes of a stream and its full size; the rest is read and dropped (a 10 MB print is fine).
 * Stops reading when `stop` is aborted.
 */
async function drainCapped(
  stream: ReadableStream<Uint8Array>,
  stop: AbortSignal,
): Promise<{ head: Uint8Array; total: number }> {
  const head = new Uint8Array(MAX_LOGGED_OUTPUT);
  let kept = 0, total = 0;
  const reader = stream.getReader();
  const cancel = () => reader.cancel().catch(() => {});
  stop.addEventListener("abort", cancel, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const room = Math.min(value.length, head.length - kept);
      if (room > 0) head.set(value.subarray(0, room), kept);
      kept += Math.max(room, 0);
      total += value.length;
    }
  } catch {
    // cancelled
  } finally {
    stop.removeEventListener("abort", cancel);
    reader.releaseLock();
  }
  return { head: head.subarray(0, kept), total };
}

function describe(out: { head: Uint8Array; total: number }): string {
  const text = new TextDecoder().decode(out.head).trimEnd();
  return out.total > out.head.length ? `${text}… (${out.total} bytes in all)` : text;
}

/** Hook commands running now, in every service. */
const running = new Set<Deno.ChildProcess>();

/**
 * Kills every hook command running now, with what it started (a stop signal during startup: a hanging preUp
 * must not hold the exit up to its hookTimeout). Each is logged by its runner as killed; the next ones still run.
 * @returns how many were killed
 */
export function killRunningHooks(): number {
  const n = running.size;
  for (const child of running) killTree(child);
  return n;
}

/** Kills a hook and everything it started (it runs in its own process group). */
function killTree(child: Deno.ChildProcess): void {
  try {
    Deno.kill(-child.pid, "SIGKILL");
  } catch {
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
  }
}

function spawnError(err: unknown, program: string): string {
  if (err instanceof Deno.errors.NotCapable) return "not run: hooks need deno's --allow-run permission";
  if (err instanceof Deno.errors.PermissionDenied) return `not run: permission denied for ${program}`;
  if (err instanceof Deno.errors.NotFound) return `not run: command not found: ${program}`;
  return `not run: ${errorMessage(err)}`;
}

/** Runs one command to its end or its kill after `timeoutMs`, and logs how it went. @returns whether it exited 0 */
async function runOne(phase: HookPhase, line: string, timeoutMs: number, logger: Logger): Promise<boolean> {
  let argv: string[];
  try {
    argv = splitCommand(line.trim());
  } catch (err) {
    logger.warn(`[${phase}] ${line}: ${errorMessage(err)}`);
    return false;
  }
  if (!argv.length) return false;
  logger.info(`[${phase}] ${line}`);
  const started = performance.now();
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      detached: true, // its own process group, so a timeout kills what it started too
    }).spawn();
  } catch (err) {
    logger.warn(`[${phase}] ${line}: ${spawnError(err, argv[0])}`);
    return false;
  }
  running.add(child);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killTree(child);
  }, timeoutMs);
  const stopReading = new AbortController();
  let grace: ReturnType<typeof setTimeout> | undefined;
  const status = child.status.then((st) => {
    grace = setTimeout(() => stopReading.abort(), OUTPUT_GRACE_MS);
    return st;
  });
  const [st, stdout, stderr] = await Promise.all([
    status,
    drainCapped(child.stdout, stopReading.signal),
    drainCapped(child.stderr, stopReading.signal),
  ]);
  clearTimeout(timer);
  clearTimeout(grace);
  running.delete(child);
  const fields = {
    exitCode: st.code,
    duration: `${((performance.now() - started) / 1000).toFixed(3)}s`,
    ...(stdout.total ? { stdout: describe(stdout) } : {}),
    ...(stderr.total ? { stderr: describe(stderr) } : {}),
  };
  if (timedOut) logger.warn(`[${phase}] ${line}: killed after ${timeoutMs / 1000}s`, fields);
  else if (st.success) logger.info(`[${phase}] ${line}: exit 0`, fields);
  else if (st.signal) logger.warn(`[${phase}] ${line}: killed by ${st.signal}`, fields);
  else logger.warn(`[${phase}] ${line}: exit ${st.code}`, fields);
  return st.success && !timedOut;
}

/**
 * Runs one phase's commands in order, each to its end (or its kill after `timeoutMs`). Never throws: failures,
 * timeouts and missing programs are logged as warnings and the next command runs.
 * @returns how many commands exited 0
 */
export async function runHooks(
  phase: HookPhase,
  commands: string[],
  timeoutMs: number,
  logger: Logger,
): Promise<number> {
  if (!commands.length) return 0;
  if (Deno.build.os !== "linux") {
    logger.warn(`[${phase}] hooks run on Linux only; skipped ${commands.length} command(s)`);
    return 0;
  }
  let ok = 0;
  for (const line of commands) if (await runOne(phase, line, timeoutMs, logger)) ok++;
  return ok;
}
