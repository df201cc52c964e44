/**
 * `deno task bench`: gost.ts (a real `deno run main.ts -L …` process) side by side with a C peer, in one run, on
 * 127.0.0.1 only. Prints a Markdown table of absolute figures and ratios (ours / peer) with the targets, the CPU
 * each proxy used per unit of work, and the direct (no proxy) limits. See docs/benchmarks.md.
 *
 * Flags: `--quick` (about 1 s per measurement and 100 idle conns: a smoke run, figures not meaningful),
 * `--only=tcp,socks5,connect,rate,memory,process,chain,quic,ws,h2,ss,dns,bypass,floor` (a subset), `--floor` (add the diagnostic "floor" comparison: our
 * tcp forward against a bare Deno relay, tests/bench/bare_relay.ts), `--json=FILE` (results as JSON), `--strict`
 * (exit 1 when a target is missed). Exit status 1 when a benchmark could not run, 2 on bad flags or missing tools.
 * @module
 */
import { freePort, freeUdpPort, V8_FLAGS } from "../helpers/gost.ts";
import { has } from "../helpers/run.ts";
import { forwardConn, idleMemory, smallEcho, socks5Conn } from "./memory.ts";
import { BARE_LISTENER, idleRssKiB, startupSeconds } from "./process.ts";
import { cpuSeconds, type Proc, runTool, spawn, stopAll, waitReady } from "./procs.ts";
import { formatTable, markdown, meetsTarget, type Row } from "./table.ts";
import { benchSs } from "./ss_tunnel.ts";
import { benchH2 } from "./h2_tunnel.ts";
import { benchKcp } from "./kcp_tunnel.ts";
import { benchBypassLookup } from "./bypass_lookup.ts";
import { benchAdmissionLookup, benchHostsLookup } from "./admission_hosts_lookup.ts";
import { benchWs } from "./ws_tunnel.ts";
import { benchDns } from "./dns_proxy.ts";
import { benchTunnel } from "./reverse_tunnel.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const TOOLS = ["iperf3", "socat", "microsocks", "tinyproxy", "wrk", "curl"];
const BENCHES = [
  "tcp",
  "socks5",
  "connect",
  "rate",
  "memory",
  "process",
  "chain",
  "quic",
  "ws",
  "h2",
  "ss",
  "kcp",
  "tunnel",
  "dns",
  "bypass",
  "floor",
] as const;
type Bench = typeof BENCHES[number];
const DEFAULT: Bench[] = [
  "tcp",
  "socks5",
  "connect",
  "rate",
  "memory",
  "process",
  "chain",
  "quic",
  "ws",
  "h2",
  "ss",
  "kcp",
  "tunnel",
  "dns",
  "bypass",
];

const args = Deno.args;
const quick = args.includes("--quick");
const strict = args.includes("--strict");
const jsonOut = args.find((a) => a.startsWith("--json="))?.slice(7);
const onlyArg = args.find((a) => a.startsWith("--only="))?.slice(7);
const only = new Set<Bench>(onlyArg ? onlyArg.split(",") as Bench[] : DEFAULT);
if (args.includes("--floor")) only.add("floor");
for (const a of args) {
  if (!/^--(quick|strict|floor|json=.+|only=.+)$/.test(a)) {
    console.error(
      `bench: unknown argument "${a}"; flags: --quick --strict --floor --json=FILE --only=${BENCHES.join(",")}`,
    );
    Deno.exit(2);
  }
}
for (const b of only) {
  if (!BENCHES.includes(b)) {
    console.error(`bench: unknown benchmark "${b}" in --only: supported are ${BENCHES.join(", ")}`);
    Deno.exit(2);
  }
}

/** Durations and sizes: the full run (about 10 minutes) or `--quick` (about 2). */
const cfg = quick
  ? {
    iperfSec: 1,
    iperfRounds: 1,
    directIperfSec: 1,
    downloadBytes: 128 << 20,
    downloadRounds: 1,
    chainDownloadRounds: 1,
    wrkSec: 1,
    wrkRounds: 1,
    idle: 100,
    startupRuns: 3,
  }
  : {
    iperfSec: 4,
    iperfRounds: 2,
    directIperfSec: 2,
    downloadBytes: 1 << 30,
    downloadRounds: 3,
    chainDownloadRounds: 2,
    wrkSec: 5,
    wrkRounds: 2,
    idle: 1000,
    startupRuns: 10,
  };
const WRK_THREADS = 2;
const WRK_CONNS = 50;
const GiB = 1 << 30;

const dir = Deno.makeTempDirSync({ prefix: "gost-bench-" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const progress = (msg: string) => console.error(`bench: ${msg}`);
const fmt = (x: number, digits = 2) => x.toFixed(digits);

/** Results gathered along the run. */
const rows: Row[] = [];
/** CPU used by each proxy per unit of work: [what, ours, peer]. */
const cpuRows: [string, number, number][] = [];
/** `--floor`: our tcp forward against a bare Deno relay: [what, ours, bare]. */
const floorRows: [string, number, number][] = [];
/** Short-conn rates with `upstreamKeepAlive=false` (a new upstream conn per client conn, as GOST): no target. */
const gostLikeRows: [string, number, number][] = [];
/** Direct (no proxy) figures: [what, value]. */
const limits: [string, string][] = [];

/**
 * Starts gost.ts from source (as tests/helpers/gost.ts and `deno task start` do, with {@link V8_FLAGS}) with its log
 * in a file, and waits until it listens.
 */
async function startGost(name: string, gostArgs: string[], entry = `${ROOT}main.ts`): Promise<Proc> {
  const p = spawn(name, `${dir}/${name}.log`, Deno.execPath(), [
    "run",
    "-A",
    "--unstable-net",
    V8_FLAGS,
    "--quiet",
    entry,
    ...gostArgs,
  ]);
  await waitReady(p, { pattern: /service \S+ is listening on/ });
  return p;
}

async function startPeer(name: string, cmd: string, cmdArgs: string[], ready: RegExp | number): Promise<Proc> {
  const p = spawn(name, `${dir}/${name}.log`, cmd, cmdArgs);
  await waitReady(p, typeof ready === "number" ? { port: ready } : { pattern: ready });
  return p;
}

/** One measurement: its figure (higher is better) and the units of work done (GiB moved, thousands of requests). */
interface Measured {
  value: number;
  units: number;
}

/** A proxy under test (one process, or every process of a chain) and how to measure through it. */
interface Side {
  proc: Proc | Proc[];
  measure: () => Promise<Measured>;
}

/** CPU seconds used so far by every process of a side. */
function sideCpu(side: Side): number {
  return (Array.isArray(side.proc) ? side.proc : [side.proc]).reduce((s, p) => s + cpuSeconds(p.pid), 0);
}

/**
 * Measures `ours` and `peer` `rounds` times, alternating which goes first, and keeps the best figure of each and
 * the least CPU per unit of work (the proxy processes' own CPU time, summed over a chain's processes).
 */
async function compare(
  rounds: number,
  ours: Side,
  peer: Side,
): Promise<{ value: [number, number]; cpu: [number, number] }> {
  const value: [number, number] = [0, 0];
  const cpu: [number, number] = [Infinity, Infinity];
  const one = async (i: 0 | 1) => {
    const side = i === 0 ? ours : peer;
    const before = sideCpu(side);
    const m = await side.measure();
    const used = sideCpu(side) - before;
    value[i] = Math.max(value[i], m.value);
    cpu[i] = Math.min(cpu[i], used / m.units);
  };
  for (let r = 0; r < rounds; r++) {
    await one(r % 2 === 0 ? 0 : 1);
    await one(r % 2 === 0 ? 1 : 0);
  }
  return { value, cpu };
}

// ---------------------------------------------------------------- the shared origin

let originPort = 0;
async function origin(): Promise<number> {
  if (originPort) return originPort;
  const port = freePort();
  await startPeer(
    "origin",
    Deno.execPath(),
    ["run", "-A", "--quiet", `${ROOT}tests/bench/origin.ts`, String(port)],
    /origin listening/,
  );
  return (originPort = port);
}

// ---------------------------------------------------------------- 1. TCP forward, iperf3

/** iperf3 receive throughput in Gbit/s through `port`. */
async function iperf(port: number, sec: number, reverse: boolean): Promise<Measured> {
  const r = await runTool(
    "iperf3",
    ["-c", "127.0.0.1", "-p", String(port), "-t", String(sec), "-J", ...(reverse ? ["-R"] : [])],
    (sec + 20) * 1000,
  );
  const j = JSON.parse(r.stdout);
  if (j.error) throw new Error(`iperf3: ${j.error}`);
  const { bits_per_second: bps, bytes } = j.end?.sum_received ?? {};
  if (typeof bps !== "number" || typeof bytes !== "number") throw new Error("iperf3: no end.sum_received in its JSON");
  await sleep(200); // let the server settle before the next test
  return { value: bps / 1e9, units: bytes / GiB };
}

async function benchTcp(): Promise<void> {
  const target = freePort();
  await startPeer(
    "iperf3-server",
    "iperf3",
    ["-s", "--forceflush", "-B", "127.0.0.1", "-p", String(target)],
    /Server listening/,
  );
  for (const reverse of [false, true]) {
    const g = (await iperf(target, cfg.directIperfSec, reverse)).value;
    limits.push([`iperf3 ${reverse ? "-R (download)" : "upload"}, Gbit/s`, fmt(g)]);
  }
  const [ours, peer] = [freePort(), freePort()];
  const gost = await startGost("gost-tcp", ["-L", `tcp://127.0.0.1:${ours}/127.0.0.1:${target}`]);
  const socat = await startPeer("socat", "socat", [
    "-d",
    "-d",
    `TCP-LISTEN:${peer},fork,reuseaddr,bind=127.0.0.1`,
    `TCP:127.0.0.1:${target}`,
  ], /listening on/);
  for (const reverse of [false, true]) {
    const what = `tcp forward, iperf3 ${reverse ? "-R (download)" : "upload"}, Gbit/s (peer: socat)`;
    // socat forks a child per connection: its own CPU is not in the parent's figures, so no CPU row here.
    const { value: [o, p] } = await compare(
      cfg.iperfRounds,
      { proc: gost, measure: () => iperf(ours, cfg.iperfSec, reverse) },
      { proc: socat, measure: () => iperf(peer, cfg.iperfSec, reverse) },
    );
    progress(`${what}: ours ${fmt(o)}, socat ${fmt(p)}`);
    rows.push({ name: what, ours: o, peer: p, target: { kind: "ratio-min", value: 0.8 } });
  }
}

// ---------------------------------------------------------------- 2, 3. large download, curl

/** curl download speed of `/bytes/N` from the origin in Gbit/s, with `via` (proxy flags; none = direct). */
async function download(via: string[]): Promise<Measured> {
  const size = cfg.downloadBytes;
  const url = `http://127.0.0.1:${await origin()}/bytes/${size}`;
  const r = await runTool("curl", [
    "-sS",
    "--max-time",
    "60",
    "-o",
    "/dev/null",
    "-w",
    "%{speed_download} %{size_download} %{http_code}",
    ...via,
    url,
  ], 70_000);
  const [speed, got, code] = r.stdout.trim().split(" ").map(Number);
  if (code !== 200 || got !== size) throw new Error(`curl ${via.join(" ")}: HTTP ${code}, ${got} of ${size} bytes`);
  return { value: (speed * 8) / 1e9, units: size / GiB };
}

let directDownload = 0;
async function directDownloadLimit(): Promise<void> {
  if (directDownload) return;
  for (let i = 0; i < cfg.downloadRounds; i++) directDownload = Math.max(directDownload, (await download([])).value);
  limits.push([`curl download of ${cfg.downloadBytes >> 20} MiB, Gbit/s`, fmt(directDownload)]);
}

async function benchSocks5(): Promise<void> {
  await directDownloadLimit();
  const [ours, peer] = [freePort(), freePort()];
  const gost = await startGost("gost-socks5", ["-L", `socks5://127.0.0.1:${ours}`]);
  const ms = await startPeer("microsocks", "microsocks", ["-i", "127.0.0.1", "-p", String(peer)], peer);
  const what = `socks5 download ${cfg.downloadBytes >> 20} MiB (curl), Gbit/s (peer: microsocks)`;
  const { value: [o, p], cpu } = await compare(
    cfg.downloadRounds,
    { proc: gost, measure: () => download(["--socks5", `127.0.0.1:${ours}`]) },
    { proc: ms, measure: () => download(["--socks5", `127.0.0.1:${peer}`]) },
  );
  progress(`${what}: ours ${fmt(o)}, microsocks ${fmt(p)} (direct ${fmt(directDownload)})`);
  rows.push({ name: what, ours: o, peer: p, target: { kind: "ratio-min", value: 0.9 } });
  cpuRows.push(["socks5 download, CPU s per GiB (peer: microsocks)", cpu[0], cpu[1]]);
}

/** A tinyproxy config file `NAME.conf` for `port`, with `extra` lines (`Upstream …`). */
function tinyproxyConf(port: number, name = "tinyproxy", extra: string[] = []): string {
  const conf = `${dir}/${name}.conf`;
  // No ConnectPort line: CONNECT is allowed to every port. LogLevel Warning, not the default Info: tinyproxy
  // fsyncs every log line, which caps it near 150 short conns/s; gost.ts keeps its default (info, a JSON line per
  // connection open and close) and writes to a file too.
  Deno.writeTextFileSync(
    conf,
    [
      `Port ${port}`,
      "Listen 127.0.0.1",
      "Allow 127.0.0.1",
      "Timeout 60",
      "MaxClients 256",
      "LogLevel Warning",
      `LogFile "${dir}/${name}-file.log"`,
      ...extra,
      "",
    ].join("\n"),
  );
  return conf;
}

let tinyproxyProc: Proc | null = null;
let tinyproxyPort = 0;
async function tinyproxy(): Promise<[Proc, number]> {
  if (!tinyproxyProc) {
    tinyproxyPort = freePort();
    tinyproxyProc = await startPeer(
      "tinyproxy",
      "tinyproxy",
      ["-d", "-c", tinyproxyConf(tinyproxyPort)],
      tinyproxyPort,
    );
  }
  return [tinyproxyProc, tinyproxyPort];
}

let httpProc: Proc | null = null;
let httpPort = 0;
async function gostHttp(): Promise<[Proc, number]> {
  if (!httpProc) {
    httpPort = freePort();
    httpProc = await startGost("gost-http", ["-L", `http://127.0.0.1:${httpPort}`]);
  }
  return [httpProc, httpPort];
}

async function benchConnect(): Promise<void> {
  await directDownloadLimit();
  const [[gost, ours], [tp, peer]] = [await gostHttp(), await tinyproxy()];
  const what = `http CONNECT download ${cfg.downloadBytes >> 20} MiB (curl -p), Gbit/s (peer: tinyproxy)`;
  const { value: [o, p], cpu } = await compare(
    cfg.downloadRounds,
    { proc: gost, measure: () => download(["-p", "-x", `http://127.0.0.1:${ours}`]) },
    { proc: tp, measure: () => download(["-p", "-x", `http://127.0.0.1:${peer}`]) },
  );
  progress(`${what}: ours ${fmt(o)}, tinyproxy ${fmt(p)} (direct ${fmt(directDownload)})`);
  rows.push({ name: what, ours: o, peer: p, target: { kind: "ratio-min", value: 0.9 } });
  cpuRows.push(["http CONNECT download, CPU s per GiB (peer: tinyproxy)", cpu[0], cpu[1]]);
}

// ---------------------------------------------------------------- 4. short connections, wrk

/** wrk requests/s against `url` with a script setting `path` and `Connection: close`; units: 1,000 requests. */
async function wrk(url: string, path: string): Promise<Measured> {
  const script = `${dir}/wrk-${url.replace(/\W+/g, "_")}.lua`;
  Deno.writeTextFileSync(script, `wrk.path = "${path}"\nwrk.headers["Connection"] = "close"\n`);
  const r = await runTool("wrk", [
    "-t",
    String(WRK_THREADS),
    "-c",
    String(WRK_CONNS),
    "-d",
    `${cfg.wrkSec}s`,
    "-s",
    script,
    url,
  ], (cfg.wrkSec + 30) * 1000);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1]);
  const total = Number(/(\d+) requests in/.exec(r.stdout)?.[1]);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(r.stdout)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(r.stdout);
  // Read errors are not counted: tinyproxy drops `Connection: close` from the response, so wrk sends its next
  // request on the conn and reads EOF (one read error per request, after the response was counted).
  const errors = sock ? Number(sock[1]) + Number(sock[3]) + Number(sock[4]) : 0;
  if (!Number.isFinite(rps) || !total) throw new Error(`wrk ${url}: no figures in\n${r.stdout}`);
  if (non2xx + errors > total * 0.01) {
    throw new Error(
      `wrk ${url}: ${non2xx} non-2xx and ${errors} connect/write/timeout errors in ${total} requests\n${r.stdout}`,
    );
  }
  await sleep(300); // let the proxies finish closing
  return { value: rps, units: total / 1000 };
}

async function benchRate(): Promise<void> {
  const o = await origin();
  const direct = (await wrk(`http://127.0.0.1:${o}/`, "/")).value;
  limits.push([`wrk -c ${WRK_CONNS}, Connection: close, requests/s`, fmt(direct, 0)]);
  const [[gost, ours], [tp, peer]] = [await gostHttp(), await tinyproxy()];
  const what = `http proxy, short conns (wrk -c ${WRK_CONNS}, Connection: close), req/s (peer: tinyproxy)`;
  const abs = `http://127.0.0.1:${o}/`;
  const { value: [ro, rp], cpu } = await compare(
    cfg.wrkRounds,
    { proc: gost, measure: () => wrk(`http://127.0.0.1:${ours}/`, abs) },
    { proc: tp, measure: () => wrk(`http://127.0.0.1:${peer}/`, abs) },
  );
  progress(`${what}: ours ${fmt(ro, 0)}, tinyproxy ${fmt(rp, 0)} (direct ${fmt(direct, 0)})`);
  rows.push({ name: what, ours: ro, peer: rp, target: { kind: "ratio-min", value: 1.0 } });
  cpuRows.push(["http proxy short conns, CPU s per 1,000 requests (peer: tinyproxy)", cpu[0], cpu[1]]);

  const plainPort = freePort();
  const plain = await startGost("gost-http-no-keepalive", [
    "-L",
    `http://127.0.0.1:${plainPort}?upstreamKeepAlive=false`,
  ]);
  const g = await compare(
    cfg.wrkRounds,
    { proc: plain, measure: () => wrk(`http://127.0.0.1:${plainPort}/`, abs) },
    { proc: tp, measure: () => wrk(`http://127.0.0.1:${peer}/`, abs) },
  );
  await plain.stop();
  progress(`${what}, upstreamKeepAlive=false: ours ${fmt(g.value[0], 0)}, tinyproxy ${fmt(g.value[1], 0)}`);
  gostLikeRows.push(["http proxy, short conns, req/s (peer: tinyproxy)", ...g.value]);
  gostLikeRows.push(["http proxy, short conns, CPU s per 1,000 requests", ...g.cpu]);
}

// ---------------------------------------------------------------- 5. idle memory

async function benchMemory(): Promise<void> {
  const echo = smallEcho();
  try {
    const [ours, peer] = [freePort(), freePort()];
    const gost = await startGost("gost-memory", ["-L", `socks5://127.0.0.1:${ours}`]);
    const ms = await startPeer("microsocks-memory", "microsocks", ["-i", "127.0.0.1", "-p", String(peer)], peer);
    const o = await idleMemory(gost.pid, () => socks5Conn(ours, echo.port), cfg.idle);
    await gost.stop();
    const p = await idleMemory(ms.pid, () => socks5Conn(peer, echo.port), cfg.idle);
    await ms.stop();
    const what = `socks5, ${cfg.idle} idle relayed conns, KiB per conn, lower is better (peer: microsocks)`;
    progress(
      `${what}: ours ${fmt(o.perConnKiB)} (RSS ${o.beforeKiB} -> ${o.withKiB} KiB), ` +
        `microsocks ${fmt(p.perConnKiB)} (RSS ${p.beforeKiB} -> ${p.withKiB} KiB)`,
    );
    rows.push({
      name: what,
      ours: o.perConnKiB,
      peer: p.perConnKiB,
      target: { kind: "ours-max", value: 20, unit: "KiB" },
    });
    limits.push([`RSS before / with ${cfg.idle} idle conns, ours, KiB`, `${o.beforeKiB} / ${o.withKiB}`]);
    limits.push([`RSS before / with ${cfg.idle} idle conns, microsocks, KiB`, `${p.beforeKiB} / ${p.withKiB}`]);
  } finally {
    echo.close();
  }
}

// ---------------------------------------------------------------- 5b. the process itself

/** Idle RSS and `-O yaml` startup, from source and as the bundle (`deno task bundle`), beside bare Deno programs. */
async function benchProcess(): Promise<void> {
  const MiB = 1024;
  const bundle = `${dir}/gost.js`;
  const built = await runTool(Deno.execPath(), ["run", "-A", `${ROOT}scripts/bundle.ts`, "-o", bundle], 120_000);
  if (built.code !== 0) throw new Error(`scripts/bundle.ts exited ${built.code}: ${built.stderr.trim()}`);
  const [ours, oursBundle, bare, peer] = [freePort(), freePort(), freePort(), freePort()];
  const gost = await startGost("gost-idle", ["-L", `socks5://127.0.0.1:${ours}`]);
  const oursKiB = await idleRssKiB(gost, ours);
  await gost.stop();
  // the bundle's first start fills Deno's code cache for it (as main.ts's earlier runs did): measure the second
  await (await startGost("gost-warm-bundle", ["-L", `socks5://127.0.0.1:${oursBundle}`], bundle)).stop();
  const gostBundle = await startGost("gost-idle-bundle", ["-L", `socks5://127.0.0.1:${oursBundle}`], bundle);
  const bundleKiB = await idleRssKiB(gostBundle, oursBundle);
  await gostBundle.stop();
  const bareFile = `${dir}/bare_listener.ts`;
  Deno.writeTextFileSync(bareFile, BARE_LISTENER);
  const listener = spawn("bare-listener", `${dir}/bare-listener.log`, Deno.execPath(), ["run", "-A", bareFile], {
    PORT: String(bare),
  });
  await waitReady(listener, { pattern: /listening/ });
  const bareKiB = await idleRssKiB(listener, bare);
  await listener.stop();
  const ms = await startPeer("microsocks-idle", "microsocks", ["-i", "127.0.0.1", "-p", String(peer)], peer);
  const microsocksKiB = await idleRssKiB(ms, peer);
  await ms.stop();
  for (const [how, kib] of [["deno run main.ts", oursKiB], ["the bundle", bundleKiB]] as const) {
    const idle =
      `idle RSS of \`-L socks5://127.0.0.1:PORT\`, ${how}, MiB, lower is better (peer: a bare Deno listener)`;
    progress(`${idle}: ours ${fmt(kib / MiB)}, bare ${fmt(bareKiB / MiB)}`);
    rows.push({
      name: idle,
      ours: kib / MiB,
      peer: bareKiB / MiB,
      target: { kind: "ours-max", value: 45, unit: "MiB" },
    });
  }
  limits.push(["idle RSS of microsocks, MiB", fmt(microsocksKiB / MiB)]);

  const empty = `${dir}/empty.ts`;
  Deno.writeTextFileSync(empty, 'console.log("services: []");\n');
  const floor = await startupSeconds(Deno.execPath(), ["run", "-A", "--quiet", empty], cfg.startupRuns);
  const printYaml = ["-L", "socks5://127.0.0.1:1080", "-O", "yaml"];
  const run = (entry: string) => ["run", "-A", "--unstable-net", V8_FLAGS, "--quiet", entry, ...printYaml];
  const fromSource = await startupSeconds(Deno.execPath(), run(`${ROOT}main.ts`), cfg.startupRuns);
  const bundled = await startupSeconds(Deno.execPath(), run(bundle), cfg.startupRuns);
  for (const [how, secs] of [["deno run main.ts", fromSource], ["the bundle", bundled]] as const) {
    const what = `\`-O yaml\` startup, ${how}, s, lower is better (peer: deno run of a script printing one line)`;
    progress(`${what}: ours ${fmt(secs, 3)}, peer ${fmt(floor, 3)}`);
    rows.push({ name: what, ours: secs, peer: floor, target: { kind: "ours-max", value: 0.08, unit: "s" } });
  }
}

// ---------------------------------------------------------------- 6. a 2-hop chain of processes

function logSize(p: Proc): number {
  try {
    return Deno.statSync(p.log).size;
  } catch {
    return 0;
  }
}

/** Checks one request through `entry` reaches the origin and shows in `last`'s log (the chain is not bypassed). */
async function assertThrough(entry: number, last: Proc, what: string): Promise<void> {
  const before = logSize(last);
  const r = await runTool(
    "curl",
    ["-sS", "--max-time", "10", "-x", `http://127.0.0.1:${entry}`, `http://127.0.0.1:${await origin()}/`],
    15_000,
  );
  if (r.stdout !== "ok\n") throw new Error(`${what}: unexpected answer through the chain: ${r.stdout.slice(0, 200)}`);
  for (let i = 0; i < 40 && logSize(last) === before; i++) await sleep(25);
  if (logSize(last) === before) throw new Error(`${what}: the request did not go through ${last.name}`);
}

/**
 * client → entry (http proxy) → hop 1 (http proxy) → hop 2 (socks5) → origin: three processes each side, the same
 * protocol on each link. Ours: `-L http://:E -F http://:H1 -F socks5://:H2` (the entry drives the chain, as GOST
 * does), `-L http://:H1`, `-L socks5://:H2`. Peers: tinyproxy E with `Upstream http H1`, tinyproxy H1 with
 * `Upstream socks5 H2`, microsocks H2 (it cannot chain, so it is the last hop). Measured: a CONNECT download and
 * short conns (wrk, absolute-URI GETs with `Connection: close`), as the single-proxy lines; CPU is the sum of the
 * three processes.
 */
async function benchChain(): Promise<void> {
  await directDownloadLimit();
  const o = await origin();
  const [e, h1, h2, pe, ph1, ph2] = Array.from({ length: 6 }, freePort);
  const ours = [
    await startGost("gost-chain-hop2", ["-L", `socks5://127.0.0.1:${h2}`]),
    await startGost("gost-chain-hop1", ["-L", `http://127.0.0.1:${h1}`]),
    await startGost("gost-chain-entry", [
      "-L",
      `http://127.0.0.1:${e}`,
      "-F",
      `http://127.0.0.1:${h1}`,
      "-F",
      `socks5://127.0.0.1:${h2}`,
    ]),
  ];
  const peers = [
    await startPeer("microsocks-chain-hop2", "microsocks", ["-i", "127.0.0.1", "-p", String(ph2)], ph2),
    await startPeer(
      "tinyproxy-chain-hop1",
      "tinyproxy",
      ["-d", "-c", tinyproxyConf(ph1, "tinyproxy-chain-hop1", [`Upstream socks5 127.0.0.1:${ph2}`])],
      ph1,
    ),
    await startPeer(
      "tinyproxy-chain-entry",
      "tinyproxy",
      ["-d", "-c", tinyproxyConf(pe, "tinyproxy-chain-entry", [`Upstream http 127.0.0.1:${ph1}`])],
      pe,
    ),
  ];
  await assertThrough(e, ours[0], "ours");
  await assertThrough(pe, peers[0], "peers");
  const peerName = "tinyproxy > tinyproxy > microsocks";
  const dl = `2-hop chain, CONNECT download ${cfg.downloadBytes >> 20} MiB (curl -p), Gbit/s (peer: ${peerName})`;
  const down = await compare(
    cfg.chainDownloadRounds,
    { proc: ours, measure: () => download(["-p", "-x", `http://127.0.0.1:${e}`]) },
    { proc: peers, measure: () => download(["-p", "-x", `http://127.0.0.1:${pe}`]) },
  );
  progress(`${dl}: ours ${fmt(down.value[0])}, peers ${fmt(down.value[1])} (direct ${fmt(directDownload)})`);
  rows.push({ name: dl, ours: down.value[0], peer: down.value[1], target: { kind: "ratio-min", value: 1.0 } });
  const abs = `http://127.0.0.1:${o}/`;
  const rt = `2-hop chain, short conns (wrk -c ${WRK_CONNS}, Connection: close), req/s (peer: ${peerName})`;
  const rate = await compare(
    cfg.wrkRounds,
    { proc: ours, measure: () => wrk(`http://127.0.0.1:${e}/`, abs) },
    { proc: peers, measure: () => wrk(`http://127.0.0.1:${pe}/`, abs) },
  );
  progress(`${rt}: ours ${fmt(rate.value[0], 0)}, peers ${fmt(rate.value[1], 0)}`);
  rows.push({ name: rt, ours: rate.value[0], peer: rate.value[1], target: { kind: "ratio-min", value: 1.0 } });
  cpuRows.push([`2-hop chain download, CPU s per GiB, 3 processes (peer: ${peerName})`, down.cpu[0], down.cpu[1]]);
  cpuRows.push([`2-hop chain short conns, CPU s per 1,000 requests, 3 processes (peer: ${peerName})`, ...rate.cpu]);

  // The same hops behind an entry that dials the whole chain for every client conn.
  const pe2 = freePort();
  const plainEntry = await startGost("gost-chain-entry-no-keepalive", [
    "-L",
    `http://127.0.0.1:${pe2}?upstreamKeepAlive=false`,
    "-F",
    `http://127.0.0.1:${h1}`,
    "-F",
    `socks5://127.0.0.1:${h2}`,
  ]);
  const g = await compare(
    cfg.wrkRounds,
    { proc: [ours[0], ours[1], plainEntry], measure: () => wrk(`http://127.0.0.1:${pe2}/`, abs) },
    { proc: peers, measure: () => wrk(`http://127.0.0.1:${pe}/`, abs) },
  );
  await plainEntry.stop();
  progress(`${rt}, upstreamKeepAlive=false: ours ${fmt(g.value[0], 0)}, peers ${fmt(g.value[1], 0)}`);
  gostLikeRows.push([`2-hop chain, short conns, req/s (peer: ${peerName})`, ...g.value]);
  gostLikeRows.push(["2-hop chain, short conns, CPU s per 1,000 requests, 3 processes", ...g.cpu]);
  for (const p of [...ours, ...peers]) await p.stop();
}

// ---------------------------------------------------------------- 6b. relay+quic vs relay+tls, two of our processes

/**
 * The quic transport against tls, both ours: client → entry `-L http://:E -F relay+<t>://:N` → node `-L relay+<t>://:N`
 * → origin, for t = quic (a QUIC stream of one connection, UDP) and tls (TLS over TCP). Measured alternately: a CONNECT
 * download; CPU is the sum of both processes.
 */
async function benchQuic(): Promise<void> {
  await directDownloadLimit();
  const [qn, qe, tn, te] = [freeUdpPort(), freePort(), freePort(), freePort()];
  const quic = [
    await startGost("gost-quic-node", ["-L", `relay+quic://127.0.0.1:${qn}`]),
    await startGost("gost-quic-entry", ["-L", `http://127.0.0.1:${qe}`, "-F", `relay+quic://127.0.0.1:${qn}`]),
  ];
  const tls = [
    await startGost("gost-tls-node", ["-L", `relay+tls://127.0.0.1:${tn}`]),
    await startGost("gost-tls-entry", ["-L", `http://127.0.0.1:${te}`, "-F", `relay+tls://127.0.0.1:${tn}`]),
  ];
  await assertThrough(qe, quic[0], "relay+quic");
  await assertThrough(te, tls[0], "relay+tls");
  const what = `relay+quic, CONNECT download ${
    cfg.downloadBytes >> 20
  } MiB (curl -p), Gbit/s (peer: relay+tls, ours too)`;
  const { value: [o, p], cpu } = await compare(
    cfg.chainDownloadRounds,
    { proc: quic, measure: () => download(["-p", "-x", `http://127.0.0.1:${qe}`]) },
    { proc: tls, measure: () => download(["-p", "-x", `http://127.0.0.1:${te}`]) },
  );
  progress(`${what}: quic ${fmt(o)}, tls ${fmt(p)}, ratio ${fmt(o / p)} (direct ${fmt(directDownload)})`);
  rows.push({ name: what, ours: o, peer: p, target: { kind: "ratio-min", value: 0.5 } });
  cpuRows.push(["relay+quic download, CPU s per GiB, 2 processes (peer: relay+tls)", cpu[0], cpu[1]]);
  for (const p of [...quic, ...tls]) await p.stop();
}

// ---------------------------------------------------------------- --floor: gost.ts layers vs a bare Deno relay

/** The bare relay runs with gost.ts's {@link V8_FLAGS}: the heap settings are part of the floor, not of our layers. */
async function bareRelay(name: string, port: number, target: number, buffer = 16384): Promise<Proc> {
  return await startPeer(
    name,
    Deno.execPath(),
    [
      "run",
      "-A",
      V8_FLAGS,
      "--quiet",
      `${ROOT}tests/bench/bare_relay.ts`,
      String(port),
      String(target),
      String(buffer),
    ],
    /bare relay listening/,
  );
}

async function benchFloor(): Promise<void> {
  const o = await origin();
  const [ours, bare] = [freePort(), freePort()];
  const gost = await startGost("gost-floor-rate", ["-L", `tcp://127.0.0.1:${ours}/127.0.0.1:${o}`]);
  const relay = await bareRelay("bare-relay-rate", bare, o);
  const { value: [ro, rb], cpu } = await compare(
    cfg.wrkRounds,
    { proc: gost, measure: () => wrk(`http://127.0.0.1:${ours}/`, "/") },
    { proc: relay, measure: () => wrk(`http://127.0.0.1:${bare}/`, "/") },
  );
  await gost.stop();
  await relay.stop();
  floorRows.push([`tcp forward, short conns (wrk -c ${WRK_CONNS}, Connection: close), req/s`, ro, rb]);
  floorRows.push(["tcp forward, short conns, CPU s per 1,000 requests", cpu[0], cpu[1]]);
  progress(`floor: tcp forward short conns: ours ${fmt(ro, 0)} req/s, bare relay ${fmt(rb, 0)} req/s`);
  const echo = smallEcho();
  try {
    const [mo, mb, m1] = [freePort(), freePort(), freePort()];
    const g = await startGost("gost-floor-memory", ["-L", `tcp://127.0.0.1:${mo}/127.0.0.1:${echo.port}`]);
    const og = await idleMemory(g.pid, () => forwardConn(mo), cfg.idle);
    await g.stop();
    const b = await bareRelay("bare-relay-memory", mb, echo.port);
    const ob = await idleMemory(b.pid, () => forwardConn(mb), cfg.idle);
    await b.stop();
    const b1 = await bareRelay("bare-relay-1k-memory", m1, echo.port, 1024);
    const o1 = await idleMemory(b1.pid, () => forwardConn(m1), cfg.idle);
    await b1.stop();
    floorRows.push([
      `tcp forward, ${cfg.idle} idle conns, KiB per conn (bare: 16 KiB buffers)`,
      og.perConnKiB,
      ob.perConnKiB,
    ]);
    limits.push([`bare Deno relay with 1 KiB buffers, ${cfg.idle} idle conns, KiB per conn`, fmt(o1.perConnKiB)]);
    progress(
      `floor: idle KiB per conn: ours tcp forward ${fmt(og.perConnKiB)}, bare relay ${fmt(ob.perConnKiB)} ` +
        `(16 KiB buffers), ${fmt(o1.perConnKiB)} (1 KiB buffers)`,
    );
  } finally {
    echo.close();
  }
}

// ---------------------------------------------------------------- 7. 100k-entry bypass, admission and hosts files

async function benchBypass(): Promise<void> {
  const f = await benchBypassLookup(quick);
  const what = "bypass lookup per connection against a 100k-entry bypass file, µs, lower is better (peer: 1 entry)";
  progress(`${what}: ours ${fmt(f.bigUs, 3)}, peer ${fmt(f.smallUs, 3)}`);
  rows.push({ name: what, ours: f.bigUs, peer: f.smallUs, target: { kind: "ours-max", value: 5, unit: "µs" } });
  limits.push(["100k-entry bypass file: read at start, ms", fmt(f.openMs, 0)]);
  limits.push(["100k-entry bypass file: reload after a change, ms", fmt(f.reloadMs, 0)]);
  limits.push(["100k-entry bypass file: longest event-loop stall during that reload, ms", fmt(f.stallMs, 0)]);
  for (
    const [kind, file, run] of [
      ["admission", "100k-entry admission file", benchAdmissionLookup],
      ["hosts", "100k-line hosts file", benchHostsLookup],
    ] as const
  ) {
    const g = await run(quick);
    const name = `${kind} lookup per connection against a ${file}, µs, lower is better (peer: 1 entry)`;
    progress(`${name}: ours ${fmt(g.bigUs, 3)}, peer ${fmt(g.smallUs, 3)}`);
    rows.push({ name, ours: g.bigUs, peer: g.smallUs, target: { kind: "ours-max", value: 5, unit: "µs" } });
    limits.push([`${file}: read at start, ms`, fmt(g.openMs, 0)]);
    limits.push([`${file}: reload after a change, ms`, fmt(g.reloadMs, 0)]);
    limits.push([`${file}: longest event-loop stall during that reload, ms`, fmt(g.stallMs, 0)]);
  }
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  const missing = TOOLS.filter((t) => !has(t));
  if (missing.length) {
    console.error(`bench: missing ${missing.join(", ")} (apt-get install -y ${missing.join(" ")})`);
    return 2;
  }
  const failed: string[] = [];
  const started = Date.now();
  progress(`${quick ? "quick run" : "full run"}, logs in ${dir}; gost.ts and the bare relay run with ${V8_FLAGS}`);
  const benches: [Bench, () => Promise<void>][] = [
    ["tcp", benchTcp],
    ["socks5", benchSocks5],
    ["connect", benchConnect],
    ["rate", benchRate],
    ["memory", benchMemory],
    ["process", benchProcess],
    ["chain", benchChain],
    ["quic", benchQuic],
    ["ws", () =>
      benchWs({
        quick,
        dir,
        iperfSec: cfg.iperfSec,
        iperfRounds: cfg.iperfRounds,
        startGost: async (name, gostArgs, listening = 1) => {
          const p = await startGost(name, gostArgs);
          await waitReady(p, { pattern: /service \S+ is listening on/, count: listening });
          return p;
        },
        startPeer,
        compare,
        iperf,
        origin,
        rows,
        limits,
        progress,
      })],
    ["h2", () =>
      benchH2({
        dir,
        iperfSec: cfg.iperfSec,
        iperfRounds: cfg.iperfRounds,
        startGost,
        startPeer,
        compare,
        iperf,
        rows,
        progress,
      })],
    ["ss", () =>
      benchSs({
        iperfSec: cfg.iperfSec,
        iperfRounds: cfg.iperfRounds,
        startGost: (name, gostArgs) => startGost(name, gostArgs),
        startPeer,
        compare,
        iperf,
        rows,
        cpuRows,
        progress,
      })],
    ["kcp", () =>
      benchKcp({
        iperfSec: cfg.iperfSec,
        iperfRounds: cfg.iperfRounds,
        startGost: (name, gostArgs) => startGost(name, gostArgs),
        startPeer,
        compare,
        iperf,
        rows,
        cpuRows,
        progress,
      })],
    ["tunnel", () =>
      benchTunnel({
        wrkSec: cfg.wrkSec,
        wrkRounds: cfg.wrkRounds,
        wrkThreads: WRK_THREADS,
        wrkConns: WRK_CONNS,
        dir,
        startGost: (name, gostArgs) => startGost(name, gostArgs),
        compare,
        origin,
        rows,
        cpuRows,
        progress,
      })],
    ["dns", () =>
      benchDns({
        quick,
        startGost: (name, gostArgs) => startGost(name, gostArgs),
        startPeer,
        rows,
        limits,
        cpuRows,
        cpuSeconds,
        progress,
      })],
    ["bypass", benchBypass],
    ["floor", benchFloor],
  ];
  for (const [name, fn] of benches) {
    if (!only.has(name)) continue;
    try {
      await fn();
    } catch (err) {
      failed.push(name);
      console.error(`bench: ${name} failed: ${err instanceof Error ? err.message : err}`);
    }
  }
  await stopAll();
  const date = new Date().toISOString().slice(0, 10);
  const cores = navigator.hardwareConcurrency;
  console.log(
    `\n## gost.ts vs peers (${date}, ${cores} cores, Deno ${Deno.version.deno}, ${V8_FLAGS}${
      quick ? ", --quick" : ""
    })\n`,
  );
  console.log(formatTable(rows));
  if (cpuRows.length) {
    console.log("\nCPU used by the proxy process (lower is better):\n");
    console.log(markdown([
      ["cpu", "ours", "peer", "ratio"],
      ...cpuRows.map(([w, o, p]) => [w, fmt(o, 3), fmt(p, 3), fmt(o / p)]),
    ]));
  }
  if (gostLikeRows.length) {
    console.log(
      "\nFor reference, no target: the short-conn lines with `upstreamKeepAlive=false`, a new upstream conn (a new chain)" +
        " for every client conn, as GOST does:\n",
    );
    console.log(markdown([
      ["without upstream keep-alive", "ours", "peer", "ratio"],
      ...gostLikeRows.map(([w, o, p]) => [w, fmt(o, o >= 100 ? 0 : 3), fmt(p, p >= 100 ? 0 : 3), fmt(o / p)]),
    ]));
  }
  if (floorRows.length) {
    console.log(
      `\nFloor: our tcp forward vs a bare Deno relay, no gost.ts layers, both with ${V8_FLAGS} (lower ratio is ` +
        "better for CPU, KiB):\n",
    );
    console.log(markdown([
      ["floor", "ours", "bare", "ratio"],
      ...floorRows.map(([w, o, b]) => [w, fmt(o, o >= 100 ? 0 : 3), fmt(b, b >= 100 ? 0 : 3), fmt(o / b)]),
    ]));
  }
  if (limits.length) {
    console.log("\nDirect, no proxy (the limits), and raw figures:\n");
    console.log(markdown([["direct", "value"], ...limits]));
  }
  const secs = fmt((Date.now() - started) / 1000, 0);
  console.log(`\n${rows.filter(meetsTarget).length}/${rows.length} targets met in ${secs} s`);
  if (failed.length) console.log(`failed to run: ${failed.join(", ")}`);
  if (jsonOut) {
    Deno.writeTextFileSync(
      jsonOut,
      JSON.stringify({ date, cores, quick, rows, cpuRows, gostLikeRows, floorRows, limits, failed }, null, 2) + "\n",
    );
  }
  if (failed.length) return 1;
  return strict && !rows.every(meetsTarget) ? 1 : 0;
}

async function cleanupAndExit(code: number): Promise<never> {
  await stopAll().catch(() => {});
  if (code === 0) {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // keep it
    }
  } else console.error(`bench: logs kept in ${dir}`);
  Deno.exit(code);
}

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(sig, () => {
    console.error(`bench: ${sig}, stopping`);
    cleanupAndExit(sig === "SIGINT" ? 130 : 143);
  });
}
const limitSec = quick ? 300 : 1200;
setTimeout(() => {
  console.error(`bench: still running after ${limitSec} s, stopping`);
  cleanupAndExit(1);
}, limitSec * 1000);

let code = 1;
try {
  code = await main();
} catch (err) {
  console.error(`bench: ${err instanceof Error ? err.stack : err}`);
} finally {
  await cleanupAndExit(code);
}
