/**
 * The bench's HTTP/2 tunnel rows (`--only=h2`): a `relay+h2` and a `relay+grpc` tunnel (both over TLS) between two
 * gost.ts processes (`-L tcp://:C/target -F relay+<t>://:S` and `-L relay+<t>://:S`) against the same bytes through two
 * socat processes (`TCP-LISTEN` → `OPENSSL:`, `OPENSSL-LISTEN` → `TCP:`), iperf3 both ways, alternating, with the
 * ratio printed. Every TLS endpoint uses the same P-256 certificate.
 * @module
 */
import { freePort } from "../helpers/gost.ts";
import { type Proc, runTool } from "./procs.ts";
import type { IperfBenchContext } from "./side.ts";

/** What the bench's main module lends to these rows. */
export interface H2BenchContext extends IperfBenchContext {
  /** The bench's temp dir (certificate, logs). */
  dir: string;
  /** Starts gost.ts; resolves once its service listens. */
  startGost(name: string, args: string[]): Promise<Proc>;
}

const fmt = (x: number, digits = 2) => x.toFixed(digits);

/** A self-signed P-256 certificate for localhost/127.0.0.1 in `dir`. */
async function certificate(dir: string): Promise<{ cert: string; key: string }> {
  const [cert, key] = [`${dir}/h2-bench-cert.pem`, `${dir}/h2-bench-key.pem`];
  await runTool("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-subj",
    "/CN=localhost",
    "-addext",
    "subjectAltName=DNS:localhost,IP:127.0.0.1",
    "-days",
    "2",
    "-keyout",
    key,
    "-out",
    cert,
  ], 20_000);
  return { cert, key };
}

/** socat's TLS tunnel to `target` (a client and a server process): the entry port and both processes. */
async function socatTunnel(
  ctx: H2BenchContext,
  tls: { cert: string; key: string },
  target: number,
): Promise<[number, Proc[]]> {
  const [entry, server] = [freePort(), freePort()];
  const s = await ctx.startPeer("socat-h2-server", "socat", [
    "-d",
    "-d",
    `OPENSSL-LISTEN:${server},fork,reuseaddr,backlog=1024,bind=127.0.0.1,cert=${tls.cert},key=${tls.key},verify=0`,
    `TCP:127.0.0.1:${target}`,
  ], /listening on/);
  const c = await ctx.startPeer("socat-h2-client", "socat", [
    "-d",
    "-d",
    `TCP-LISTEN:${entry},fork,reuseaddr,backlog=1024,bind=127.0.0.1`,
    `OPENSSL:127.0.0.1:${server},verify=0`,
  ], /listening on/);
  return [entry, [s, c]];
}

/** Runs the h2 and grpc rows. */
export async function benchH2(ctx: H2BenchContext): Promise<void> {
  const tls = await certificate(ctx.dir);
  const serverTls = `certFile=${tls.cert}&keyFile=${tls.key}`;
  const target = freePort();
  await ctx.startPeer(
    "iperf3-h2-server",
    "iperf3",
    ["-s", "--forceflush", "-B", "127.0.0.1", "-p", String(target)],
    /Server listening/,
  );
  const [peerEntry, peers] = await socatTunnel(ctx, tls, target);
  for (const transport of ["h2", "grpc"] as const) {
    const [server, entry] = [freePort(), freePort()];
    const s = await ctx.startGost(`gost-${transport}-server`, [
      "-L",
      `relay+${transport}://127.0.0.1:${server}?${serverTls}`,
    ]);
    const c = await ctx.startGost(`gost-${transport}-client`, [
      "-L",
      `tcp://127.0.0.1:${entry}/127.0.0.1:${target}`,
      "-F",
      `relay+${transport}://127.0.0.1:${server}`,
    ]);
    for (const reverse of [false, true]) {
      const what = `relay+${transport} tunnel, two processes, iperf3 ${reverse ? "-R (download)" : "upload"}, ` +
        "Gbit/s (peer: socat OPENSSL tunnel)";
      const { value: [o, p] } = await ctx.compare(
        ctx.iperfRounds,
        { proc: [s, c], measure: () => ctx.iperf(entry, ctx.iperfSec, reverse) },
        { proc: peers, measure: () => ctx.iperf(peerEntry, ctx.iperfSec, reverse) },
      );
      ctx.progress(`${what}: ours ${fmt(o)}, socat ${fmt(p)}, ratio ${fmt(o / p)}`);
      ctx.rows.push({ name: what, ours: o, peer: p, target: { kind: "ratio-min", value: 0.8 } });
    }
    for (const p of [s, c] as Proc[]) await p.stop();
  }
}
