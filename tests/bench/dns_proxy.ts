/**
 * The bench's DNS proxy row (`--only=dns`): queries per second through our `-L dns://` (UDP, the answers in its
 * cache: warmed first) against the same queries sent straight to its upstream, a minimal nameserver in a process of
 * its own (this file run as a program: `deno run --unstable-net tests/bench/dns_proxy.ts PORT`, one fixed A answer
 * per query, no parsing beyond the question). One UDP client in the bench process keeps {@link WINDOW} queries in
 * flight over a bounded run; a query unanswered for {@link STALL_MS} counts as lost and is sent anew.
 * @module
 */
import { freeUdpPort } from "../helpers/gost.ts";
import type { Proc } from "./procs.ts";
import type { Row } from "./table.ts";

/** Queries in flight at once. */
export const WINDOW = 64;
/** Names asked, in turn (all cached by the proxy before the run). */
const NAMES = Array.from({ length: 32 }, (_, i) => `host${i}.bench.test`);
const STALL_MS = 200;

/** What the bench's main module lends to this row. */
export interface DnsBenchContext {
  quick: boolean;
  startGost(name: string, args: string[]): Promise<Proc>;
  startPeer(name: string, cmd: string, args: string[], ready: RegExp | number): Promise<Proc>;
  rows: Row[];
  limits: [string, string][];
  cpuRows: [string, number, number][];
  cpuSeconds(pid: number): number;
  progress(msg: string): void;
}

/** A standard recursive A query for `name` with id `id`. */
function query(id: number, name: string): Uint8Array {
  const labels = name.split(".");
  const out = new Uint8Array(12 + labels.reduce((n, l) => n + l.length + 1, 0) + 5);
  out.set([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
  let at = 12;
  for (const l of labels) {
    out[at++] = l.length;
    for (let i = 0; i < l.length; i++) out[at++] = l.charCodeAt(i);
  }
  out.set([0, 0, 1, 0, 1], at);
  return out;
}

/** The upstream's answer to a query: its header and question, one A record (10.0.0.1, TTL 3600). */
function answer(q: Uint8Array): Uint8Array | null {
  if (q.length < 17) return null;
  let at = 12;
  while (at < q.length && q[at] !== 0) at += q[at] + 1;
  const end = at + 5;
  if (end > q.length) return null;
  const out = new Uint8Array(end + 16);
  out.set(q.subarray(0, end));
  out[2] = 0x81;
  out[3] = 0x80;
  out.set([0, 1, 0, 1, 0, 0, 0, 0], 4);
  out.set([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 10, 0, 0, 1], end);
  return out;
}

/** Queries per second answered by the server on 127.0.0.1:`port` over `ms`. */
export async function measureQps(port: number, ms: number): Promise<{ qps: number; answered: number; lost: number }> {
  const sock = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const to: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port };
  const buf = new Uint8Array(1500);
  let id = 0, inFlight = 0, answered = 0, lost = 0;
  const send = async () => {
    id = (id + 1) & 0xffff;
    inFlight++;
    await sock.send(query(id, NAMES[id % NAMES.length]), to);
  };
  try {
    const start = performance.now();
    const end = start + ms;
    while (performance.now() < end) {
      while (inFlight < WINDOW) await send();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stalled = new Promise<null>((r) => timer = setTimeout(() => r(null), STALL_MS));
      const got = await Promise.race([sock.receive(buf), stalled]);
      clearTimeout(timer);
      if (got === null) {
        lost += inFlight;
        inFlight = 0;
        continue;
      }
      inFlight--;
      answered++;
    }
    return { qps: answered / ((performance.now() - start) / 1000), answered, lost };
  } finally {
    sock.close();
  }
}

/** Runs the row. */
export async function benchDns(c: DnsBenchContext): Promise<void> {
  const [upPort, proxyPort] = [freeUdpPort(), freeUdpPort()];
  const script = new URL(import.meta.url).pathname;
  const upstream = await c.startPeer(
    "dns-upstream",
    Deno.execPath(),
    ["run", "--allow-net", "--unstable-net", script, String(upPort)],
    /dns upstream on/,
  );
  const gost = await c.startGost("gost-dns", [
    "-L",
    `dns://127.0.0.1:${proxyPort}?dns=udp://127.0.0.1:${upPort}`,
  ]);
  try {
    // warm the cache: every name asked once through the proxy
    for (let i = 0; i < 3; i++) await measureQps(proxyPort, 200);
    const ms = c.quick ? 1000 : 4000;
    const runs = c.quick ? 1 : 2;
    let ours = 0, direct = 0, oursCpu = Infinity, upCpu = Infinity;
    for (let r = 0; r < runs; r++) {
      const g0 = c.cpuSeconds(gost.pid);
      const o = await measureQps(proxyPort, ms);
      oursCpu = Math.min(oursCpu, (c.cpuSeconds(gost.pid) - g0) / (o.answered / 1000));
      const u0 = c.cpuSeconds(upstream.pid);
      const d = await measureQps(upPort, ms);
      upCpu = Math.min(upCpu, (c.cpuSeconds(upstream.pid) - u0) / (d.answered / 1000));
      ours = Math.max(ours, o.qps);
      direct = Math.max(direct, d.qps);
      c.progress(
        `dns: ${o.qps.toFixed(0)} q/s through the proxy (lost ${o.lost}), ${
          d.qps.toFixed(0)
        } q/s direct (lost ${d.lost})`,
      );
    }
    const name = `DNS proxy, UDP queries/s with a warm cache, ${WINDOW} in flight (peer: its upstream asked directly)`;
    c.progress(`${name}: ours ${ours.toFixed(0)}, direct ${direct.toFixed(0)}, ratio ${(ours / direct).toFixed(2)}`);
    c.rows.push({ name, ours, peer: direct, target: { kind: "ratio-min", value: 0.25 } });
    c.cpuRows.push(["DNS, CPU s per 1000 queries (proxy from cache / minimal upstream)", oursCpu, upCpu]);
    c.limits.push(["minimal DNS upstream asked directly, UDP queries/s", direct.toFixed(0)]);
  } finally {
    await gost.stop();
    await upstream.stop();
  }
}

if (import.meta.main) {
  const port = Number(Deno.args[0]);
  const sock = Deno.listenDatagram({ hostname: "127.0.0.1", port, transport: "udp" });
  console.log(`dns upstream on 127.0.0.1:${port}`);
  const buf = new Uint8Array(1500);
  for (;;) {
    const [q, from] = await sock.receive(buf);
    const a = answer(q);
    if (a) await sock.send(a, from);
  }
}
