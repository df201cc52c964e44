/**
 * The weight of the process itself: idle RSS of a plain service and the time `-O yaml` takes (start, resolve the
 * config, print it, exit), beside a bare Deno program doing the least the same job needs.
 * @module
 */
import { type Proc, rssKiB } from "./procs.ts";

/** The median of `xs`. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/**
 * Runs `cmd args…` `runs` times to completion (after one untimed run that fills Deno's caches) and returns the
 * median wall time in seconds.
 * @throws {Error} when a run exits non-zero or takes longer than 20 s
 */
export async function startupSeconds(cmd: string, args: string[], runs: number): Promise<number> {
  const once = async () => {
    const start = performance.now();
    const child = new Deno.Command(cmd, { args, stdin: "null", stdout: "null", stderr: "piped" }).spawn();
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    const out = await child.output();
    clearTimeout(timer);
    const secs = (performance.now() - start) / 1000;
    if (!out.success) {
      throw new Error(`${cmd} ${args.join(" ")} exited ${out.code}: ${new TextDecoder().decode(out.stderr).trim()}`);
    }
    return secs;
  };
  await once();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await once());
  return median(times);
}

/**
 * A process's RSS once it serves: read after one client conn was accepted and closed, so the accept path is
 * loaded as it is for any user.
 */
export async function idleRssKiB(p: Proc, port: number): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  conn.close();
  return rssKiB(p.pid);
}

/** A bare Deno TCP listener (the floor of any Deno server's RSS): `deno run` of this source with `PORT`. */
export const BARE_LISTENER = `
const l = Deno.listen({ hostname: "127.0.0.1", port: Number(Deno.env.get("PORT")) });
console.log("listening");
for await (const c of l) c.close();
`;
