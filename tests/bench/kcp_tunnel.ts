/**
 * The bench's KCP rows (`--only=kcp`): a `relay+kcp` tunnel between two gost.ts processes (`-L tcp://:C/target
 * -F relay+kcp://:S` and `-L relay+kcp://:S`) against the same tunnel over `relay+tcp`, iperf3 both ways,
 * alternating, with the ratio printed; then, when kcptun is installed, our KCP forward (`-L tcp://:C/x -F
 * forward+kcp://:S` and `-L kcp://:S/target`) against kcptun-client and kcptun-server for the same bytes (both with
 * kcptun's defaults: aes, FEC 10/3, snappy, mode fast).
 * @module
 */
import { freePort, freeUdpPort } from "../helpers/gost.ts";
import { has } from "../helpers/run.ts";
import type { Proc } from "./procs.ts";
import type { IperfBenchContext } from "./side.ts";

/** What the bench's main module lends to these rows. */
export interface KcpBenchContext extends IperfBenchContext {
  /** Starts gost.ts; resolves once its service listens. */
  startGost(name: string, args: string[]): Promise<Proc>;
  cpuRows: [string, number, number][];
}

const fmt = (x: number, digits = 2) => x.toFixed(digits);
const KEY = "bench-kcp";

/** Runs the kcp rows. */
export async function benchKcp(ctx: KcpBenchContext): Promise<void> {
  const target = freePort();
  await ctx.startPeer(
    "iperf3-kcp-server",
    "iperf3",
    ["-s", "--forceflush", "-B", "127.0.0.1", "-p", String(target)],
    /Server listening/,
  );
  const [kn, ke, tn, te] = [freeUdpPort(), freePort(), freePort(), freePort()];
  const kcp = [
    await ctx.startGost("gost-kcp-node", ["-L", `relay+kcp://127.0.0.1:${kn}?kcp.key=${KEY}`]),
    await ctx.startGost("gost-kcp-entry", [
      "-L",
      `tcp://127.0.0.1:${ke}/127.0.0.1:${target}`,
      "-F",
      `relay+kcp://127.0.0.1:${kn}?kcp.key=${KEY}`,
    ]),
  ];
  const tcp = [
    await ctx.startGost("gost-relay-tcp-node", ["-L", `relay://127.0.0.1:${tn}`]),
    await ctx.startGost("gost-relay-tcp-entry", [
      "-L",
      `tcp://127.0.0.1:${te}/127.0.0.1:${target}`,
      "-F",
      `relay://127.0.0.1:${tn}`,
    ]),
  ];
  for (const reverse of [false, true]) {
    const what = `relay+kcp tunnel, two processes, iperf3 ${reverse ? "-R (download)" : "upload"}, Gbit/s ` +
      "(peer: relay+tcp, ours too)";
    const { value: [o, p], cpu } = await ctx.compare(
      ctx.iperfRounds,
      { proc: kcp, measure: () => ctx.iperf(ke, ctx.iperfSec, reverse) },
      { proc: tcp, measure: () => ctx.iperf(te, ctx.iperfSec, reverse) },
    );
    ctx.progress(`${what}: kcp ${fmt(o, 3)}, tcp ${fmt(p)}, ratio ${fmt(o / p, 3)}`);
    ctx.rows.push({ name: what, ours: o, peer: p, target: { kind: "ratio-min", value: 0.01 } });
    if (!reverse) {
      ctx.cpuRows.push(["relay+kcp upload, CPU s per GiB, 2 processes (peer: relay+tcp)", cpu[0], cpu[1]]);
    }
  }
  for (const p of [...kcp, ...tcp]) await p.stop();

  if (!has("kcptun-client") || !has("kcptun-server")) {
    ctx.progress("kcptun not installed: no gost.ts-vs-kcptun row (apt-get install kcptun)");
    return;
  }
  const [on, oe, pn, pe] = [freeUdpPort(), freePort(), freeUdpPort(), freePort()];
  const ours = [
    await ctx.startGost("gost-kcp-forward-node", [
      "-L",
      `kcp://127.0.0.1:${on}/127.0.0.1:${target}?kcp.key=${KEY}`,
    ]),
    await ctx.startGost("gost-kcp-forward-entry", [
      "-L",
      `tcp://127.0.0.1:${oe}/127.0.0.1:1`,
      "-F",
      `forward+kcp://127.0.0.1:${on}?kcp.key=${KEY}`,
    ]),
  ];
  const peers = [
    await ctx.startPeer("kcptun-server", "kcptun-server", [
      "-l",
      `127.0.0.1:${pn}`,
      "-t",
      `127.0.0.1:${target}`,
      "--key",
      KEY,
      "--quiet",
    ], /key derivation done/),
    await ctx.startPeer("kcptun-client", "kcptun-client", [
      "-r",
      `127.0.0.1:${pn}`,
      "-l",
      `127.0.0.1:${pe}`,
      "--key",
      KEY,
      "--quiet",
    ], /key derivation done/),
  ];
  for (const reverse of [false, true]) {
    const what = `kcp forward, two processes, iperf3 ${reverse ? "-R (download)" : "upload"}, Gbit/s ` +
      "(peer: kcptun-client + kcptun-server)";
    const { value: [o, p] } = await ctx.compare(
      ctx.iperfRounds,
      { proc: ours, measure: () => ctx.iperf(oe, ctx.iperfSec, reverse) },
      { proc: peers, measure: () => ctx.iperf(pe, ctx.iperfSec, reverse) },
    );
    ctx.progress(`${what}: ours ${fmt(o, 3)}, kcptun ${fmt(p, 3)}, ratio ${fmt(o / p)}`);
    ctx.rows.push({ name: what, ours: o, peer: p, target: { kind: "ratio-min", value: 0.3 } });
  }
  for (const p of [...ours, ...peers]) await p.stop();
}
