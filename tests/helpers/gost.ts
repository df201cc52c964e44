/**
 * Runs gost.ts as a real process (`deno run main.ts …`) for end-to-end tests, and waits for its services to listen.
 * @module
 */
import { V8_FLAGS } from "../../core/service/process.ts";

/** The flag gost.ts runs with everywhere (defined with the process launcher in core/service/process.ts). */
export { V8_FLAGS };

const ROOT = new URL("../../", import.meta.url).pathname;

/** A running gost.ts process. */
export interface GostProcess {
  child: Deno.ChildProcess;
  /** Log lines (stderr) seen so far. */
  lines: string[];
  /** Sends a signal and waits for the exit status. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (closed again before returning). */
export function freePort(): number {
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (ln.addr as Deno.NetAddr).port;
  ln.close();
  return port;
}

/** A free UDP port on 127.0.0.1. */
export function freeUdpPort(): number {
  const s = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const port = (s.addr as Deno.NetAddr).port;
  s.close();
  return port;
}

/** The command that runs gost.ts from source, as `deno task start` does. */
export function gostCommand(
  args: string[],
  opts: { stdin?: "piped" | "null"; cwd?: string; env?: Record<string, string> } = {},
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-net", V8_FLAGS, "--quiet", `${ROOT}main.ts`, ...args],
    cwd: opts.cwd ?? ROOT,
    stdin: opts.stdin ?? "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...opts.env },
  });
}

/** Runs gost.ts to completion (for -V, -O, bad flags). */
export async function runGost(
  args: string[],
  stdin?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = gostCommand(args, { stdin: stdin === undefined ? "null" : "piped" }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Options of {@link startGost}. */
export interface StartOptions {
  /** How many "service … is listening on" lines to wait for (default 1). */
  listening?: number;
  cwd?: string;
  env?: Record<string, string>;
  /** Another readiness rule: true once the log lines seen so far say the process is ready. */
  ready?: (line: string, listening: number) => boolean;
  /** What is awaited, for the failure message (default "listening"). */
  what?: string;
}

/**
 * Starts gost.ts and resolves once it is ready: by default when `listening` log lines (one per service) say
 * "is listening on".
 * @throws when the process exits or 20 s pass first
 */
export async function startGost(args: string[], opts: StartOptions = {}): Promise<GostProcess> {
  const child = gostCommand(args, { cwd: opts.cwd, env: opts.env }).spawn();
  const lines: string[] = [];
  const want = opts.listening ?? 1;
  const isReady = opts.ready ?? ((_line: string, n: number) => n >= want);
  const what = opts.what ?? "listening";
  let seen = 0;
  let ready!: () => void;
  let failed!: (e: Error) => void;
  const readyP = new Promise<void>((res, rej) => {
    ready = res;
    failed = rej;
  });
  const drain = (async () => {
    const dec = new TextDecoder();
    let buf = "";
    for await (const chunk of child.stderr) {
      buf += dec.decode(chunk, { stream: true });
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(line);
        if (/service \S+ is listening on/.test(line)) seen++;
        if (isReady(line, seen)) ready();
      }
    }
    failed(new Error(`gost exited before ${what}:\n${lines.join("\n")}`));
  })();
  const stdoutDrain = child.stdout.pipeTo(new WritableStream()).catch(() => {});
  const timer = setTimeout(() => failed(new Error(`gost not ${what} in 20 s:\n${lines.join("\n")}`)), 20_000);
  let stopped: Promise<Deno.CommandStatus> | null = null;
  const stop = (signal: Deno.Signal = "SIGTERM") => {
    stopped ??= (async () => {
      try {
        child.kill(signal);
      } catch { /* gone */ }
      const st = await child.status;
      await drain;
      await stdoutDrain;
      return st;
    })();
    return stopped;
  };
  try {
    await readyP;
  } catch (err) {
    await stop("SIGKILL");
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return { child, lines, stop, [Symbol.asyncDispose]: async () => void (await stop("SIGKILL")) };
}
