/**
 * The bench's WebSocket tunnel rows (`--only=ws`): a `relay+wss` and a `relay+mwss` tunnel between two gost.ts
 * processes (`-L tcp://:C/target -F relay+wss://:S` and `-L relay+wss://:S`) against the same bytes through two socat
 * processes (`TCP-LISTEN` → `OPENSSL:`, `OPENSSL-LISTEN` → `TCP:`), iperf3 both ways, alternating; 200 concurrent
 * downloads over one mwss session (aggregate throughput and Jain's fairness index of the per-stream throughputs)
 * against 200 socat TLS tunnels; and the memory of an idle stream on an mwss session against an idle wss conn
 * (tests/bench/mux_idle.ts). Every TLS endpoint uses the same P-256 certificate.
 * @module
 */
import { closeQuietly } from "../../core/conn.ts";
import { freePort } from "../helpers/gost.ts";
import { measureIdleStreams } from "./mux_idle.ts";
import type { Proc } from "./procs.ts";
import { runTool } from "./procs.ts";
import type { IperfBenchContext } from "./side.ts";

/** What the bench's main module lends to these rows. */
export interface WsBenchContext extends IperfBenchContext {
  quick: boolean;
  /** The bench's temp dir (certificate, logs). */
  dir: string;
  startGost(name: string, args: string[], listening?: number): Promise<Proc>;
  /** The port of the bench's HTTP origin (`/bytes/N`). */
  origin(): Promise<number>;
  limits: [string, string][];
}

const fmt = (x: number, digits = 2) => x.toFixed(digits);
const STREAMS = 200;

/** Jain's fairness index of `xs`: 1 when all are equal, 1/n when one takes everything. */
export function jain(xs: number[]): number {
  const sum = xs.reduce((a, b) => a + b, 0);
  const squares = xs.reduce((a, b) => a + b * b, 0);
  return squares === 0 ? 0 : (sum * sum) / (xs.length * squares);
}

/** A self-signed P-256 certificate for localhost/127.0.0.1 in `dir`. */
async function certificate(dir: string): Promise<{ cert: string; key: string }> {
  const [cert, key] = [`${dir}/ws-bench-cert.pem`, `${dir}/ws-bench-key.pem`];
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

/** socat's TLS tunnel to `target`: returns the entry port and both processes. */
async function socatTunnel(
  ctx: WsBenchContext,
  name: string,
  tls: { cert: string; key: string },
  target: number,
): Promise<[number, Proc[]]> {
  const [entry, server] = [freePort(), freePort()];
  const s = await ctx.startPeer(`socat-${name}-server`, "socat", [
    "-d",
    "-d",
    `OPENSSL-LISTEN:${server},fork,reuseaddr,backlog=1024,bind=127.0.0.1,cert=${tls.cert},key=${tls.key},verify=0`,
    `TCP:127.0.0.1:${target}`,
  ], /listening on/);
  const c = await ctx.startPeer(`socat-${name}-client`, "socat", [
    "-d",
    "-d",
    `TCP-LISTEN:${entry},fork,reuseaddr,backlog=1024,bind=127.0.0.1`,
    `OPENSSL:127.0.0.1:${server},verify=0`,
  ], /listening on/);
  return [entry, [s, c]];
}

/** What {@link concurrentDownloads} counted. */
interface Downloads {
  /** Bytes each download received in the window (0 for one that never started). */
  bytes: number[];
  secs: number;
  /** Downloads that had their first bytes when the window opened. */
  started: number;
}

/**
 * `n` concurrent downloads of an endless `/bytes/` body through `port` (a tcp forward to the origin): waits until
 * every one has its first bytes (at most `startMs`: one still waiting then is starved, and counts 0), then counts what
 * each receives during `sec` seconds.
 */
async function concurrentDownloads(port: number, n: number, sec: number, startMs: number): Promise<Downloads> {
  const counts = new Array<number>(n).fill(0);
  const conns: Deno.TcpConn[] = [];
  let started = 0, failure: unknown = null;
  let onStart!: () => void;
  const allStarted = new Promise<void>((r) => (onStart = r));
  const req = new TextEncoder().encode(`GET /bytes/${2 ** 50} HTTP/1.1\r\nHost: origin\r\n\r\n`);
  const readers = Array.from({ length: n }, async (_, i) => {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    conns.push(c);
    await c.write(req);
    const buf = new Uint8Array(64 * 1024);
    let first = true;
    for (;;) {
      const got = await c.read(buf);
      if (got === null) throw new Error(`download ${i} ended early`);
      counts[i] += got;
      if (first) {
        first = false;
        if (++started === n) onStart();
      }
    }
  }).map((p) => p.catch((err) => (failure ??= err)));
  const guard = setTimeout(() => onStart(), startMs);
  try {
    await allStarted;
    if (failure) throw failure;
    const atStart = started;
    const before = [...counts];
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, sec * 1000));
    const secs = (performance.now() - t0) / 1000;
    if (failure) throw failure;
    return { bytes: counts.map((c, i) => c - before[i]), secs, started: atStart };
  } finally {
    clearTimeout(guard);
    conns.forEach(closeQuietly);
    await Promise.allSettled(readers);
  }
}

/** Aggregate Gbit/s of a {@link concurrentDownloads} run. */
function gbps(r: Downloads): number {
  return (r.bytes.reduce((a, b) => a + b, 0) * 8) / r.secs / 1e9;
}

/** Runs the ws rows. */
export async function benchWs(ctx: WsBenchContext): Promise<void> {
  const tls = await certificate(ctx.dir);
  const serverTls = `certFile=${tls.cert}&keyFile=${tls.key}`;
  const target = freePort();
  await ctx.startPeer(
    "iperf3-ws-server",
    "iperf3",
    ["-s", "--forceflush", "-B", "127.0.0.1", "-p", String(target)],
    /Server listening/,
  );
  const origin = await ctx.origin();
  const [peerEntry, peers] = await socatTunnel(ctx, "iperf", tls, target);

  let mwss: { procs: Proc[]; downloads: number } | null = null;
  for (const transport of ["wss", "mwss"] as const) {
    const [server, entry, downloads] = [freePort(), freePort(), freePort()];
    const s = await ctx.startGost(`gost-${transport}-server`, [
      "-L",
      `relay+${transport}://127.0.0.1:${server}?${serverTls}`,
    ]);
    const c = await ctx.startGost(`gost-${transport}-client`, [
      "-L",
      `tcp://127.0.0.1:${entry}/127.0.0.1:${target}`,
      "-L",
      `tcp://127.0.0.1:${downloads}/127.0.0.1:${origin}`,
      "-F",
      `relay+${transport}://127.0.0.1:${server}`,
    ], 2);
    for (const reverse of [false, true]) {
      const what = `relay+${transport} tunnel, two processes, iperf3 ${reverse ? "-R (download)" : "upload"}, ` +
        "Gbit/s (peer: socat OPENSSL tunnel)";
      const { value: [o, p] } = await ctx.compare(
        ctx.iperfRounds,
        { proc: [s, c], measure: () => ctx.iperf(entry, ctx.iperfSec, reverse) },
        { proc: peers, measure: () => ctx.iperf(peerEntry, ctx.iperfSec, reverse) },
      );
      ctx.progress(`${what}: ours ${fmt(o)}, socat ${fmt(p)}`);
      ctx.rows.push({ name: what, ours: o, peer: p, target: { kind: "ratio-min", value: 1.0 } });
    }
    if (transport === "mwss") mwss = { procs: [s, c], downloads };
    else {
      await c.stop();
      await s.stop();
    }
  }
  for (const p of peers) await p.stop();

  // 200 concurrent downloads: one mwss session vs 200 socat TLS tunnels
  const [socatDownloads, socatProcs] = await socatTunnel(ctx, "downloads", tls, origin);
  const sec = ctx.quick ? 1 : 3;
  const startMs = 5000;
  // rounds alternate which side goes first (ours, socat, socat, ours); each side keeps its best run
  let ours: Downloads | null = null, peer: Downloads | null = null;
  const better = (a: Downloads | null, b: Downloads) => (!a || gbps(b) > gbps(a) ? b : a);
  for (let r = 0; r < ctx.iperfRounds; r++) {
    for (const side of r % 2 === 0 ? ["ours", "peer"] : ["peer", "ours"]) {
      if (side === "ours") ours = better(ours, await concurrentDownloads(mwss!.downloads, STREAMS, sec, startMs));
      else peer = better(peer, await concurrentDownloads(socatDownloads, STREAMS, sec, startMs));
    }
  }
  for (const p of [...mwss!.procs, ...socatProcs]) await p.stop();
  const perStream = (r: Downloads) => r.bytes.map((b) => (b * 8) / r.secs / 1e6);
  const [og, pg] = [gbps(ours!), gbps(peer!)];
  const [oj, pj] = [jain(ours!.bytes), jain(peer!.bytes)];
  const agg = `${STREAMS} concurrent downloads over one relay+mwss session, aggregate Gbit/s ` +
    `(peer: ${STREAMS} socat OPENSSL tunnels)`;
  const fair = `${STREAMS} concurrent downloads over one relay+mwss session, Jain's fairness index of per-stream ` +
    `throughput (peer: ${STREAMS} socat OPENSSL tunnels)`;
  ctx.progress(`${agg}: ours ${fmt(og)}, socat ${fmt(pg)}`);
  ctx.progress(`${fair}: ours ${fmt(oj, 3)}, socat ${fmt(pj, 3)}`);
  // One session is one TLS conn served by one thread per process; socat forks a process per tunnel and spreads the 200
  // over every core. The target asks that multiplexing keep at least half of that, with the fairness row below.
  ctx.rows.push({ name: agg, ours: og, peer: pg, target: { kind: "ratio-min", value: 0.5 } });
  ctx.rows.push({ name: fair, ours: oj, peer: pj, target: { kind: "ratio-min", value: 0.9 } });
  for (const [who, r] of [["ours", ours!], ["socat", peer!]] as const) {
    const ps = perStream(r);
    ctx.limits.push([
      `${STREAMS} downloads, ${who}: started in ${startMs / 1000} s; per-stream Mbit/s min / median / max`,
      `${r.started}; ${fmt(Math.min(...ps))} / ${fmt(ps.sort((a, b) => a - b)[ps.length >> 1])} / ${
        fmt(Math.max(...ps))
      }`,
    ]);
  }

  // the memory of an idle stream
  const n = ctx.quick ? 200 : 2000;
  const m = await measureIdleStreams(n, "mwss");
  const w = await measureIdleStreams(n, "wss");
  const KiB = 1024;
  const mem = `mwss, ${n} idle streams on one session, KiB per stream on the busier end (heap + external after ` +
    `GC), lower is better (peer: ${n} idle wss conns, one TLS conn each)`;
  const [om, pm] = [Math.max(m.clientBytes, m.serverBytes) / KiB, Math.max(w.clientBytes, w.serverBytes) / KiB];
  ctx.progress(`${mem}: ours ${fmt(om)}, wss ${fmt(pm)}`);
  ctx.rows.push({ name: mem, ours: om, peer: pm, target: { kind: "ours-max", value: 8, unit: "KiB" } });
  ctx.limits.push([
    `idle mwss stream, KiB: heap client / server, RSS client / server`,
    [m.clientBytes, m.serverBytes, m.clientRssBytes, m.serverRssBytes].map((b) => fmt(b / KiB)).join(" / "),
  ]);
  ctx.limits.push([
    `idle wss conn, KiB: heap client / server, RSS client / server`,
    [w.clientBytes, w.serverBytes, w.clientRssBytes, w.serverRssBytes].map((b) => fmt(b / KiB)).join(" / "),
  ]);
}
