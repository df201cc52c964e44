/**
 * The bench's Shadowsocks rows (`--only=ss`): for every AEAD method, our `-L ss://` server against shadowsocks-libev's
 * `ss-server`, each reached through its own `ss-tunnel` (the same client program) forwarding to one iperf3 server;
 * iperf3 both ways, alternating, with the ratio printed. CPU is the server process's own.
 * @module
 */
import { freePort } from "../helpers/gost.ts";
import { has } from "../helpers/run.ts";
import type { Proc } from "./procs.ts";
import type { IperfBenchContext } from "./side.ts";

/** What the bench's main module lends to these rows. */
export interface SsBenchContext extends IperfBenchContext {
  startGost(name: string, args: string[]): Promise<Proc>;
  cpuRows: [string, number, number][];
}

/** The methods measured, with the ratio each should reach. */
const METHODS = ["aes-128-gcm", "aes-192-gcm", "aes-256-gcm", "chacha20-ietf-poly1305"];
const PASSWORD = "bench-pw";
const fmt = (x: number, digits = 2) => x.toFixed(digits);

/** Runs the rows. @throws {Error} when shadowsocks-libev is missing */
export async function benchSs(c: SsBenchContext): Promise<void> {
  for (const cmd of ["ss-server", "ss-tunnel"]) {
    if (!has(cmd)) throw new Error(`${cmd} is missing (apt-get install -y shadowsocks-libev)`);
  }
  const target = freePort();
  const iperfd = await c.startPeer(
    "iperf3-ss",
    "iperf3",
    ["-s", "--forceflush", "-B", "127.0.0.1", "-p", String(target)],
    /Server listening/,
  );
  const sec = Math.max(1, Math.round(c.iperfSec / 2));
  try {
    for (const method of METHODS) {
      const [ours, peer, tOurs, tPeer] = [freePort(), freePort(), freePort(), freePort()];
      const procs = [
        await c.startGost(`gost-ss-${method}`, ["-L", `ss://${method}:${PASSWORD}@127.0.0.1:${ours}`]),
        await c.startPeer(`ss-server-${method}`, "ss-server", [
          ...["-s", "127.0.0.1", "-p", String(peer), "-k", PASSWORD, "-m", method, "-v"],
        ], /listening at/),
      ];
      const tunnel = (name: string, server: number, local: number) =>
        c.startPeer(name, "ss-tunnel", [
          ...["-s", "127.0.0.1", "-p", String(server), "-l", String(local), "-L", `127.0.0.1:${target}`],
          ...["-k", PASSWORD, "-m", method, "-v"],
        ], /listening at/);
      const tunnels = [
        await tunnel(`ss-tunnel-ours-${method}`, ours, tOurs),
        await tunnel(`ss-tunnel-peer-${method}`, peer, tPeer),
      ];
      try {
        for (const reverse of [false, true]) {
          const what = `ss ${method}, iperf3 ${
            reverse ? "-R (download)" : "upload"
          } via ss-tunnel, Gbit/s (peer: ss-server)`;
          const { value: [o, p], cpu } = await c.compare(
            c.iperfRounds,
            { proc: procs[0], measure: () => c.iperf(tOurs, sec, reverse) },
            { proc: procs[1], measure: () => c.iperf(tPeer, sec, reverse) },
          );
          c.progress(`${what}: ours ${fmt(o)}, ss-server ${fmt(p)}, ratio ${fmt(o / p)}`);
          c.rows.push({ name: what, ours: o, peer: p, target: { kind: "ratio-min", value: 0.7 } });
          c.cpuRows.push([`ss ${method} ${reverse ? "download" : "upload"}, CPU s per GiB (peer: ss-server)`, ...cpu]);
        }
      } finally {
        for (const p of [...tunnels, ...procs]) await p.stop();
      }
    }
  } finally {
    await iperfd.stop();
  }
}
