/**
 * The hostile tests' tools: a client that resets its connections (tests/hostile/rst_client.py: Deno cannot set
 * SO_LINGER), a valid-client probe, and a process's open fds and resident memory read from /proc.
 * @module
 */
import { curl, curlStatus } from "../helpers/run.ts";

const CLIENT = new URL("./rst_client.py", import.meta.url).pathname;

/** How a hostile connection ends (see rst_client.py). */
export type EndMode = "connect" | "early" | "late" | "clean";

/** What the hostile client counted. */
export interface PlayResult {
  sent: number;
  refused: number;
  errors: number;
  replied: number;
}

/** Options of {@link play}. */
export interface PlayOptions {
  port: number;
  host?: string;
  mode: EndMode;
  /** Connections in flight at once (default 16). */
  concurrency?: number;
  /** The bytes each connection sends; or `count` empty ones. */
  payloads?: Uint8Array[];
  count?: number;
  /** A hang guard, not a measurement: the client is killed after this long (default 180 s) and `play` rejects. */
  limitMs?: number;
}

/** Writes payloads as rst_client.py reads them: a 4-byte big-endian length, then the bytes. */
function encodePayloads(payloads: Uint8Array[]): Uint8Array {
  const size = payloads.reduce((n, p) => n + 4 + p.length, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let off = 0;
  for (const p of payloads) {
    view.setUint32(off, p.length);
    out.set(p, off + 4);
    off += 4 + p.length;
  }
  return out;
}

/** A started hostile client: `done` resolves with its counts when every connection has ended. */
export interface Storm {
  done: Promise<PlayResult>;
  /** Kills the client (when a test ends early). */
  kill(): void;
}

/**
 * Starts the hostile client against `127.0.0.1:port`.
 * @throws when python3 is missing or the client fails
 */
export function play(opts: PlayOptions): Storm {
  const args = [CLIENT, opts.host ?? "127.0.0.1", String(opts.port), opts.mode, String(opts.concurrency ?? 16)];
  let file: string | undefined;
  if (opts.payloads) {
    file = Deno.makeTempFileSync({ suffix: ".payloads" });
    Deno.writeFileSync(file, encodePayloads(opts.payloads));
    args.push(file);
  }
  const child = new Deno.Command("python3", {
    args,
    env: { COUNT: String(opts.count ?? 100) },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const limitMs = opts.limitMs ?? 180_000;
  let killed = false;
  const guard = setTimeout(() => {
    killed = true;
    try {
      child.kill("SIGKILL");
    } catch { /* ended */ }
  }, limitMs);
  const done = child.output().then((out) => {
    clearTimeout(guard);
    if (file) Deno.removeSync(file);
    if (killed) throw new Error(`the hostile client against port ${opts.port} was still running after ${limitMs} ms`);
    const text = new TextDecoder().decode(out.stdout).trim();
    if (!out.success) throw new Error(`rst_client.py failed: ${new TextDecoder().decode(out.stderr)}`);
    return JSON.parse(text) as PlayResult;
  });
  return {
    done,
    kill: () => {
      try {
        child.kill("SIGKILL");
      } catch { /* ended */ }
    },
  };
}

/** Runs the hostile client to its end. */
export function playAll(opts: PlayOptions): Promise<PlayResult> {
  return play(opts).done;
}

/** A valid request through a proxy, by kind: what curl is asked to do. */
export type ProxyKind = "http" | "socks5" | "socks4";

/**
 * One valid request through the proxy at `proxyPort` to `http://127.0.0.1:originPort/`, bounded by `maxTime`
 * seconds; true when it got the origin's 200.
 */
export async function validRequest(
  kind: ProxyKind,
  proxyPort: number,
  originPort: number,
  maxTime = 5,
): Promise<boolean> {
  const proxy = kind === "http" ? `http://127.0.0.1:${proxyPort}` : `${kind}://127.0.0.1:${proxyPort}`;
  return await curlStatus("--max-time", String(maxTime), "-x", proxy, `http://127.0.0.1:${originPort}/`) === "200";
}

/**
 * The status a CONNECT to `host:port` through the http proxy on `proxyPort` got. curl's `--connect-to` keeps the
 * spelling of `host` as it is (no normalising, no lookup by curl).
 */
export async function connectStatus(proxyPort: number, host: string, port: number): Promise<string> {
  const r = await curl(
    "-o",
    "/dev/null",
    "-w",
    "%{http_connect}",
    "-x",
    `http://127.0.0.1:${proxyPort}`,
    "--connect-to",
    `x:80:${host}:${port}`,
    "http://x/",
  );
  return r.stdout;
}

/** The number of fds a process has open (Linux /proc). */
export function openFds(pid: number): number {
  let n = 0;
  for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) n++;
  return n;
}

/** A process's resident memory in KiB (VmRSS, Linux /proc). */
export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]);
}

/** A deterministic pseudo-random generator (mulberry32), so a fuzz run can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
