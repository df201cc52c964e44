/**
 * The bench's reverse-tunnel row (`--only=tunnel`): the HTTP request rate of an origin behind NAT reached through a
 * tunnel server's public entrypoint (`-L tunnel://…?entrypoint=…` and a client `-L rtcp://:0/origin -F tunnel://…`,
 * each request routed by Host to a new stream) against the same origin reached through `rtcp` (a relay server with
 * `bind=true` and a client `-L rtcp://:port/origin -F relay://…`, GOST's plain remote forwarding), both our
 * processes, measured alternately with wrk (short conns, `Connection: close`) and the ratio printed. CPU is the two
 * processes' of each side.
 * @module
 */
import { freePort } from "../helpers/gost.ts";
import { type Proc, runTool, waitReady } from "./procs.ts";
import type { Measured, Side } from "./side.ts";
import type { Row } from "./table.ts";

/** What the bench's main module lends to this row. */
export interface TunnelBenchContext {
  wrkSec: number;
  wrkRounds: number;
  wrkThreads: number;
  wrkConns: number;
  /** A temporary directory for wrk's scripts. */
  dir: string;
  startGost(name: string, args: string[]): Promise<Proc>;
  compare(rounds: number, ours: Side, peer: Side): Promise<{ value: [number, number]; cpu: [number, number] }>;
  /** The shared HTTP origin's port. */
  origin(): Promise<number>;
  rows: Row[];
  cpuRows: [string, number, number][];
  progress(msg: string): void;
}

const ID = "4d21094e-b74c-4916-86c1-d9fa36ea677b";
const HOST = "bench.tunnel.test";
const fmt = (x: number, digits = 2) => x.toFixed(digits);

/** wrk requests/s against `port` with `Host` and `Connection: close`; units: 1,000 requests. */
async function wrk(c: TunnelBenchContext, port: number, host?: string): Promise<Measured> {
  const script = `${c.dir}/wrk-tunnel-${port}.lua`;
  Deno.writeTextFileSync(
    script,
    `wrk.path = "/"\nwrk.headers["Connection"] = "close"\n${host ? `wrk.headers["Host"] = "${host}"\n` : ""}`,
  );
  const r = await runTool("wrk", [
    ...["-t", String(c.wrkThreads), "-c", String(c.wrkConns), "-d", `${c.wrkSec}s`, "-s", script],
    `http://127.0.0.1:${port}/`,
  ], (c.wrkSec + 30) * 1000);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1]);
  const total = Number(/(\d+) requests in/.exec(r.stdout)?.[1]);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(r.stdout)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(r.stdout);
  const errors = sock ? Number(sock[1]) + Number(sock[3]) + Number(sock[4]) : 0;
  if (!Number.isFinite(rps) || !total) throw new Error(`wrk :${port}: no figures in\n${r.stdout}`);
  if (non2xx + errors > total * 0.01) {
    throw new Error(`wrk :${port}: ${non2xx} non-2xx and ${errors} errors in ${total} requests\n${r.stdout}`);
  }
  await new Promise((res) => setTimeout(res, 300)); // let the processes finish closing
  return { value: rps, units: total / 1000 };
}

/** Runs the row. */
export async function benchTunnel(c: TunnelBenchContext): Promise<void> {
  const o = await c.origin();
  const [srv, ep, relay, rport] = [freePort(), freePort(), freePort(), freePort()];
  const tunnelServer = await c.startGost("gost-tunnel-server", [
    "-L",
    `tunnel://127.0.0.1:${srv}?entrypoint=127.0.0.1:${ep}&tunnel=${HOST}:${ID}`,
  ]);
  const tunnelClient = await c.startGost("gost-tunnel-client", [
    "-L",
    `rtcp://:0/127.0.0.1:${o}`,
    "-F",
    `tunnel://127.0.0.1:${srv}?tunnel.id=${ID}`,
  ]);
  await waitReady(tunnelClient, { pattern: /bound at the end of the chain/ });
  const relayServer = await c.startGost("gost-relay-bind", ["-L", `relay://127.0.0.1:${relay}?bind=true`]);
  const rtcpClient = await c.startGost("gost-rtcp-client", [
    "-L",
    `rtcp://127.0.0.1:${rport}/127.0.0.1:${o}`,
    "-F",
    `relay://127.0.0.1:${relay}`,
  ]);
  await waitReady(rtcpClient, { pattern: /bound at the end of the chain/ });
  const what = `reverse tunnel: HTTP via the entrypoint (Host routed, short conns, wrk -c ${c.wrkConns}), req/s ` +
    `(peer: the same via rtcp over relay)`;
  const { value: [ro, rp], cpu } = await c.compare(
    c.wrkRounds,
    { proc: [tunnelServer, tunnelClient], measure: () => wrk(c, ep, HOST) },
    { proc: [relayServer, rtcpClient], measure: () => wrk(c, rport) },
  );
  c.progress(`${what}: entrypoint ${fmt(ro, 0)}, rtcp ${fmt(rp, 0)}, ratio ${fmt(ro / rp)}`);
  c.rows.push({ name: what, ours: ro, peer: rp, target: { kind: "ratio-min", value: 0.7 } });
  c.cpuRows.push(["reverse tunnel via the entrypoint, CPU s per 1,000 requests (peer: via rtcp)", cpu[0], cpu[1]]);
  await Promise.all([tunnelServer, tunnelClient, relayServer, rtcpClient].map((p) => p.stop()));
}
