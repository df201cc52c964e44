/**
 * The fuzz run shared by tests/hostile/fuzz_test.ts (bounded, in CI) and `deno task fuzz` (longer): one gost.ts
 * process with a service of every handler, generated inputs played at each in three ways (clean close, reset right
 * after sending, reset after the first reply), then checks that the process is alive, that valid clients are
 * served, and that its fds and memory come back.
 * @module
 */
import { freePort, type GostProcess, startGost } from "../helpers/gost.ts";
import { curl } from "../helpers/run.ts";
import { httpOrigin, tcpEcho } from "../helpers/servers.ts";
import { until } from "../helpers/wait.ts";
import { fuzzInputs, type Protocol } from "./payloads.ts";
import { type EndMode, openFds, playAll, rssKiB, validRequest } from "./support.ts";

/** One service under fuzz. */
export interface FuzzTarget {
  name: string;
  protocol: Protocol;
  port: number;
  /** A valid client's request through it; true when it was served. */
  valid(): Promise<boolean>;
}

/** The running gost.ts with every handler, and what the checks need. */
export interface FuzzBed extends AsyncDisposable {
  gost: GostProcess;
  targets: FuzzTarget[];
  /** The origin the proxies' valid requests (and the fuzz seeds) reach. */
  originPort: number;
}

/** Starts gost.ts with a service of every handler, each refusing targets other than 127.0.0.1 (whitelist bypass). */
export async function startFuzzBed(): Promise<FuzzBed> {
  const origin = httpOrigin();
  const echo = tcpEcho();
  const p = {
    http: freePort(),
    socks4: freePort(),
    socks5: freePort(),
    auto: freePort(),
    relay: freePort(),
    relayClient: freePort(),
    forward: freePort(),
    api: freePort(),
    https: freePort(),
  };
  const only = { bypass: "loopback-only" };
  const svc = (name: string, port: number, handler: string, extra: Record<string, unknown> = {}) => ({
    name,
    addr: `127.0.0.1:${port}`,
    handler: { type: handler, ...(extra.handler as object ?? {}) },
    listener: { type: extra.listener ?? "tcp" },
    ...(extra.forwarder ? { forwarder: extra.forwarder } : {}),
    ...(handler === "forward" || handler === "api" || extra.noBypass ? {} : only),
  });
  const config = {
    services: [
      svc("http", p.http, "http"),
      svc("socks4", p.socks4, "socks4"),
      svc("socks5", p.socks5, "socks5", { handler: { metadata: { udp: true, bind: true } } }),
      svc("auto", p.auto, "auto"),
      svc("relay", p.relay, "relay", { handler: { metadata: { bind: true } } }),
      svc("relay-client", p.relayClient, "http", { handler: { chain: "via-relay" }, noBypass: true }),
      svc("forward", p.forward, "tcp", { forwarder: { nodes: [{ name: "echo", addr: `127.0.0.1:${echo.port}` }] } }),
      svc("api", p.api, "api"),
      svc("https", p.https, "http", { listener: "tls" }),
    ],
    chains: [{
      name: "via-relay",
      hops: [{ name: "hop-0", nodes: [{ name: "relay", addr: `127.0.0.1:${p.relay}`, connector: { type: "relay" } }] }],
    }],
    bypasses: [{ name: "loopback-only", whitelist: true, matchers: ["127.0.0.1"] }],
  };
  const gost = await startGost(["-C", JSON.stringify(config)], { listening: config.services.length });
  const http = (port: number) => () => validRequest("http", port, origin.port);
  const targets: FuzzTarget[] = [
    { name: "http", protocol: "http", port: p.http, valid: http(p.http) },
    { name: "socks4", protocol: "socks4", port: p.socks4, valid: () => validRequest("socks4", p.socks4, origin.port) },
    { name: "socks5", protocol: "socks5", port: p.socks5, valid: () => validRequest("socks5", p.socks5, origin.port) },
    {
      name: "auto",
      protocol: "http",
      port: p.auto,
      valid: async () =>
        await validRequest("http", p.auto, origin.port) && await validRequest("socks5", p.auto, origin.port),
    },
    { name: "auto (socks5 bytes)", protocol: "socks5", port: p.auto, valid: http(p.auto) },
    { name: "relay", protocol: "relay", port: p.relay, valid: http(p.relayClient) },
    { name: "forward", protocol: "raw", port: p.forward, valid: () => echoes(p.forward) },
    {
      name: "api",
      protocol: "api",
      port: p.api,
      valid: async () =>
        (await curl("-s", "-o", "/dev/null", "-w", "%{http_code}", `http://127.0.0.1:${p.api}/config`))
          .stdout === "200",
    },
    {
      name: "tls listener",
      protocol: "tls",
      port: p.https,
      valid: async () =>
        (await curl(
          "-s",
          "-o",
          "/dev/null",
          "-w",
          "%{http_code}",
          "--proxy-insecure",
          "-x",
          `https://127.0.0.1:${p.https}`,
          `http://127.0.0.1:${origin.port}/`,
        )).stdout === "200",
    },
  ];
  return {
    gost,
    targets,
    originPort: origin.port,
    async [Symbol.asyncDispose]() {
      await gost.stop("SIGKILL");
      echo.close();
      await origin.close();
    },
  };
}

/** Whether the forward service passes bytes to the echo server and back. */
async function echoes(port: number): Promise<boolean> {
  try {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await c.write(new TextEncoder().encode("ping"));
      const buf = new Uint8Array(4);
      let got = 0;
      while (got < 4) {
        const n = await c.read(buf.subarray(got));
        if (n === null) return false;
        got += n;
      }
      return new TextDecoder().decode(buf) === "ping";
    } finally {
      c.close();
    }
  } catch {
    return false;
  }
}

/** What one target's round found. */
export interface RoundResult {
  target: string;
  mode: EndMode;
  inputs: number;
  refused: number;
  /** Whether a valid client was served right after. */
  served: boolean;
}

/** The modes every input is played in. */
export const MODES: EndMode[] = ["clean", "early", "late"];

/**
 * Plays `count` inputs of each target's protocol at it in every mode, checking a valid client after each.
 * @param seed the generator's seed; each target and mode derives its own from it
 */
export async function fuzzRound(bed: FuzzBed, count: number, seed: number): Promise<RoundResult[]> {
  const results: RoundResult[] = [];
  for (const [i, t] of bed.targets.entries()) {
    for (const [j, mode] of MODES.entries()) {
      const payloads = fuzzInputs(t.protocol, bed.originPort, count, seed + i * 97 + j);
      const r = await playAll({ port: t.port, mode, payloads, concurrency: 32 });
      results.push({ target: t.name, mode, inputs: count, refused: r.refused, served: await t.valid() });
    }
  }
  return results;
}

/** The process's fds and resident memory. */
export interface Footprint {
  fds: number;
  rssKiB: number;
}

/** Reads the gost process's footprint. */
export function footprint(bed: FuzzBed): Footprint {
  const pid = bed.gost.child.pid;
  return { fds: openFds(pid), rssKiB: rssKiB(pid) };
}

/** Waits (bounded) until the process holds at most `base.fds + margin` fds; returns the last count. */
export async function fdsSettle(bed: FuzzBed, base: Footprint, margin: number, ms = 20_000): Promise<number> {
  let last = 0;
  await until(() => (last = footprint(bed).fds) <= base.fds + margin, `fds back to ${base.fds} + ${margin}`, ms)
    .catch(() => {});
  return last;
}
