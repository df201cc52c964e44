/**
 * Runs real clients (curl, socat, …) as subprocesses and collects their output.
 * @module
 */

/** Output of a finished command. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  bytes: Uint8Array;
}

/** Runs a command to completion with a timeout (default 20 s). */
export async function run(cmd: string, args: string[], opts: { stdin?: Uint8Array; timeoutMs?: number } = {}): Promise<
  RunResult
> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: opts.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, opts.timeoutMs ?? 20_000);
  if (opts.stdin) {
    const w = child.stdin.getWriter();
    await w.write(opts.stdin);
    await w.close();
  }
  const out = await child.output();
  clearTimeout(timer);
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr), bytes: out.stdout };
}

/** Runs curl with `args` (adds `-sS --max-time 15`). */
export function curl(...args: string[]): Promise<RunResult> {
  return run("curl", ["-sS", "--max-time", "15", ...args]);
}

/** The HTTP status curl got for `args` (its `%{http_code}`; the body is dropped): `"000"` when none came. */
export async function curlStatus(...args: string[]): Promise<string> {
  return (await curl("-o", "/dev/null", "-w", "%{http_code}", ...args)).stdout.trim();
}

/** Tells whether a program is on PATH. */
export function has(cmd: string): boolean {
  try {
    const r = new Deno.Command("sh", { args: ["-c", `command -v ${cmd}`], stdout: "null", stderr: "null" })
      .outputSync();
    return r.success;
  } catch {
    return false;
  }
}
