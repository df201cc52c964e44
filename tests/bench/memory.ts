/**
 * Idle-connection memory: opens N connections through a proxy (SOCKS5 or a TCP forward) to a small echo server,
 * makes each one exchange a few bytes (so the relay is running), waits, and reads the proxy's RSS.
 * @module
 */
import { closeQuietly } from "../../core/conn.ts";
import { tcpEcho } from "../helpers/servers.ts";
import { rssKiB } from "./procs.ts";

/** A TCP echo server with a 64-byte buffer per conn (its memory is not measured, but 1,000 conns should be cheap). */
export function smallEcho(): { port: number; close(): void } {
  return tcpEcho("127.0.0.1", 64);
}

async function readExact(c: Deno.Conn, n: number): Promise<Uint8Array> {
  const buf = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    const r = await c.read(buf.subarray(off));
    if (r === null) throw new Error(`EOF after ${off} of ${n} bytes`);
    off += r;
  }
  return buf;
}

async function writeFull(c: Deno.Conn, p: Uint8Array): Promise<void> {
  let off = 0;
  while (off < p.length) off += await c.write(p.subarray(off));
}

const PING = new TextEncoder().encode("ping");

async function echoed(c: Deno.Conn): Promise<void> {
  await writeFull(c, PING);
  const e = await readExact(c, PING.length);
  if (new TextDecoder().decode(e) !== "ping") throw new Error("echo mismatch");
}

/** A conn through a TCP forward (to an echo server), after a 4-byte echo round trip. */
export async function forwardConn(port: number): Promise<Deno.Conn> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await echoed(c);
    return c;
  } catch (err) {
    closeQuietly(c);
    throw err;
  }
}

/** One SOCKS5 CONNECT (no auth) to 127.0.0.1:`target` through `proxy`, then a 4-byte echo round trip. */
export async function socks5Conn(proxy: number, target: number): Promise<Deno.Conn> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port: proxy });
  try {
    await writeFull(c, new Uint8Array([5, 1, 0]));
    const m = await readExact(c, 2);
    if (m[0] !== 5 || m[1] !== 0) throw new Error(`socks5: method reply ${m}`);
    await writeFull(c, new Uint8Array([5, 1, 0, 1, 127, 0, 0, 1, target >> 8, target & 255]));
    const r = await readExact(c, 10);
    if (r[1] !== 0) throw new Error(`socks5: CONNECT failed with reply ${r[1]}`);
    await echoed(c);
    return c;
  } catch (err) {
    closeQuietly(c);
    throw err;
  }
}

/** Opens `count` conns at once into `into`; throws the first failure after keeping the ones that opened. */
async function openBatch(open: () => Promise<Deno.Conn>, count: number, into: Deno.Conn[]): Promise<void> {
  const rs = await Promise.allSettled(Array.from({ length: count }, open));
  for (const r of rs) if (r.status === "fulfilled") into.push(r.value);
  const bad = rs.find((r) => r.status === "rejected");
  if (bad) throw bad.reason;
}

/** RSS figures of one idle-connection run. */
export interface IdleMemory {
  beforeKiB: number;
  withKiB: number;
  perConnKiB: number;
}

/**
 * Measures a proxy's RSS growth with `n` idle relayed conns, each opened by `open` (50 at a time, after a warm-up
 * of 20 that loads and compiles the code paths), read 1 s after the last one opened.
 * @param pid the proxy's process id
 */
export async function idleMemory(pid: number, open: () => Promise<Deno.Conn>, n: number): Promise<IdleMemory> {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const conns: Deno.Conn[] = [];
  try {
    await openBatch(open, 20, conns);
    conns.splice(0).forEach(closeQuietly);
    await sleep(500);
    const beforeKiB = rssKiB(pid);
    const deadline = Date.now() + 60_000;
    while (conns.length < n) {
      if (Date.now() > deadline) throw new Error(`only ${conns.length} of ${n} conns opened in 60 s`);
      await openBatch(open, Math.min(50, n - conns.length), conns);
    }
    await sleep(1000);
    const withKiB = rssKiB(pid);
    return { beforeKiB, withKiB, perConnKiB: (withKiB - beforeKiB) / n };
  } finally {
    conns.forEach(closeQuietly);
  }
}
