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

interface Target {
  name: string;
  port: number;
  kinds: ProxyKind[];
}

interface Counts {
  afterBurst: number;
  during: number;
  after: number;
}

/** Valid requests, one after another, alternating over `kinds`. */
async function serve(t: Target, origin: number, n: number): Promise<number> {
  let good = 0;
  for (let i = 0; i < n; i++) if (await validRequest(t.kinds[i % t.kinds.length], t.port, origin)) good++;
  return good;
}

async function hammer(t: Target, origin: number): Promise<Counts> {
  await playAll({ port: t.port, mode: "connect", count: BURST });
  const afterBurst = await serve(t, origin, VALID);
  const storm = play({ port: t.port, mode: "connect", count: STORM, concurrency: 32 });
  let during: number;
  try {
    during = await serve(t, origin, VALID);
  } finally {
    await storm.done.catch((err) => {
      storm.kill();
      throw err;
    });
  }
  const after = await serve(t, origin, VALID);
  return { afterBurst, during, after };
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
      for (const t of targets) results.set(t.name, await hammer(t, origin.port));
      console.log(`valid requests served of ${VALID}: after a burst of ${BURST} resets / during ${STORM} / after`);
      for (const [name, c] of results) console.log(`  ${name.padEnd(12)} ${c.afterBurst} / ${c.during} / ${c.after}`);
      for (const name of ["gost-http", "gost-socks5", "gost-auto"]) {
        const c = results.get(name)!;
        equal(c.afterBurst, VALID, `${name}: valid requests after a burst of resets`);
        equal(c.during, VALID, `${name}: valid requests during a reset storm`);
        equal(c.after, VALID, `${name}: valid requests after a reset storm`);
      }
      const backoffs = gost.lines.filter((l) => /accept: .*retrying/.test(l));
      ok(backoffs.length === 0, `accept backed off on conn errors:\n${backoffs.slice(0, 5).join("\n")}`);
    } finally {
      await origin.close();
    }
  },
});
