/**
 * Reset storms: clients that reset their connections right after the TCP handshake (SO_LINGER 0) make `accept`
 * fail for that one connection (ENOTCONN, ECONNABORTED). That must never delay the next accept: valid clients are
 * served during and after a storm, through gost-http, gost-socks5 and gost-auto, as through tinyproxy and
 * microsocks, measured side by side.
 * @module
 */
import { equal, ok } from "node:assert/strict";
import { freePort, startGost } from "../helpers/gost.ts";
import { startMicrosocks, startTinyproxy } from "../helpers/peers.ts";
import { has } from "../helpers/run.ts";
import { httpOrigin } from "../helpers/servers.ts";
import { play, playAll, type ProxyKind, validRequest } from "./support.ts";

const VALID = 8;
const BURST = 100;
const STORM = 2000;
/** How long a peer may take over the storm before it is reported as stalled (tinyproxy stalls under it). */
const PEER_STORM_LIMIT_MS = 15_000;

interface Target {
  name: string;
  port: number;
  kinds: ProxyKind[];
}

type Served = { good: number; slowestMs: number };

interface Counts {
  afterBurst: Served;
  during: Served;
  after: Served;
  /** The storm did not finish within its hang guard (peers only). */
  stalled: boolean;
}

/** Valid requests, all at once, alternating over `kinds`: how many were served, and the slowest one's time. */
async function serve(t: Target, origin: number, n: number): Promise<{ good: number; slowestMs: number }> {
  const times = await Promise.all(Array.from({ length: n }, async (_, i) => {
    const start = performance.now();
    const ok = await validRequest(t.kinds[i % t.kinds.length], t.port, origin);
    return ok ? performance.now() - start : Infinity;
  }));
  const good = times.filter(Number.isFinite);
  return { good: good.length, slowestMs: Math.max(0, ...good) };
}

/**
 * A burst of resets, then valid requests; a storm with valid requests during it; valid requests after.
 * @param limitMs the storm's hang guard: ours must finish it (the default guard fails the test); a peer that stalls
 *   under it is reported as stalled, not waited for
 */
async function hammer(t: Target, origin: number, limitMs?: number): Promise<Counts> {
  await playAll({ port: t.port, mode: "connect", count: BURST, limitMs });
  const afterBurst = await serve(t, origin, VALID);
  const storm = play({ port: t.port, mode: "connect", count: STORM, concurrency: 32, limitMs });
  const during = await serve(t, origin, VALID);
  let stalled = false;
  await storm.done.catch((err) => {
    if (limitMs === undefined) throw err;
    stalled = true;
  });
  const after = await serve(t, origin, VALID);
  return { afterBurst, during, after, stalled };
}

Deno.test({
  name: "a reset storm never stalls accept: every valid request through gost-http, gost-socks5 and gost-auto succeeds",
  ignore: !has("python3") || !has("curl") || !has("tinyproxy") || !has("microsocks"),
  async fn() {
    const origin = httpOrigin();
    const [http, socks5, auto] = [freePort(), freePort(), freePort()];
    await using gost = await startGost([
      "-L",
      `http://127.0.0.1:${http}`,
      "-L",
      `socks5://127.0.0.1:${socks5}`,
      "-L",
      `auto://127.0.0.1:${auto}`,
    ], { listening: 3 });
    await using tinyproxy = await startTinyproxy();
    await using microsocks = await startMicrosocks();
    try {
      const targets: Target[] = [
        { name: "gost-http", port: http, kinds: ["http"] },
        { name: "gost-socks5", port: socks5, kinds: ["socks5"] },
        { name: "gost-auto", port: auto, kinds: ["http", "socks5"] },
        { name: "tinyproxy", port: tinyproxy.port, kinds: ["http"] },
        { name: "microsocks", port: microsocks.port, kinds: ["socks5"] },
      ];
      const results = new Map<string, Counts>();
      const took = new Map<string, number>();
      for (const t of targets) {
        const start = performance.now();
        results.set(t.name, await hammer(t, origin.port, t.name.startsWith("gost") ? undefined : PEER_STORM_LIMIT_MS));
        took.set(t.name, (performance.now() - start) / 1000);
      }
      const cell = (s: Served) => `${s.good}/${VALID} (slowest ${s.slowestMs.toFixed(0)} ms)`;
      console.log(`valid requests served: after a burst of ${BURST} resets | during ${STORM} resets | after`);
      for (const [name, c] of results) {
        console.log(
          `  ${name.padEnd(12)} ${cell(c.afterBurst)} | ${cell(c.during)} | ${cell(c.after)}  ` +
            `(${took.get(name)!.toFixed(1)} s${c.stalled ? ", the storm stalled it" : ""})`,
        );
      }
      for (const name of ["gost-http", "gost-socks5", "gost-auto"]) {
        const c = results.get(name)!;
        equal(c.afterBurst.good, VALID, `${name}: valid requests after a burst of resets`);
        equal(c.during.good, VALID, `${name}: valid requests during a reset storm`);
        equal(c.after.good, VALID, `${name}: valid requests after a reset storm`);
      }
      const backoffs = gost.lines.filter((l) => /accept: .*retrying/.test(l));
      ok(backoffs.length === 0, `accept backed off on conn errors:\n${backoffs.slice(0, 5).join("\n")}`);
    } finally {
      await origin.close();
    }
  },
});
