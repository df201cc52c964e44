/**
 * Byte I/O for tests: reading a conn to EOF or to a count, raw request/answer exchanges over TCP, a closed port,
 * and datagram round trips. The one copy of each; handler, API and conformance tests import them from here.
 * @module
 */
import { type Conn, nextDatagram } from "../../core/conn.ts";

/** Anything with a `read` like a conn's. */
export type Readable = { read(p: Uint8Array): Promise<number | null> };

/** Joins byte arrays into one. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/**
 * Reads `c` to EOF.
 * @param max the most bytes expected: more fails the read (a peer that never stops cannot fill the memory)
 * @throws {Error} past `max` bytes
 */
export async function readAll(c: Readable, max = 1 << 28): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(64 * 1024);
  let total = 0;
  for (;;) {
    const n = await c.read(buf);
    if (n === null) break;
    chunks.push(buf.slice(0, n));
    total += n;
    if (total > max) throw new Error(`more than ${max} bytes before EOF`);
  }
  return concatBytes(chunks);
}

/**
 * Reads exactly `n` bytes.
 * @throws {Error} at an EOF before `n` bytes
 */
export async function readExactly(c: Readable, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    const got = await c.read(out.subarray(off));
    if (got === null) throw new Error(`EOF after ${off} of ${n} bytes`);
    off += got;
  }
  return out;
}

/** What {@link exchange} saw. */
export interface Exchanged {
  /** Every byte read until the server closed (or the bound passed). */
  bytes: Uint8Array;
  /** True when `timeoutMs` passed before the server closed. */
  timedOut: boolean;
  /** How long the exchange took, in ms. */
  ms: number;
}

/**
 * Connects to 127.0.0.1:`port`, sends `request` (then half-closes when `eof`) and reads until the server closes, a
 * read fails (a reset) or `timeoutMs` (default 3 s) passes.
 */
export async function exchange(
  port: number,
  request: Uint8Array | string,
  opts: { eof?: boolean; timeoutMs?: number } = {},
): Promise<Exchanged> {
  const bytes = typeof request === "string" ? new TextEncoder().encode(request) : request;
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    c.close();
  }, opts.timeoutMs ?? 3000);
  const start = performance.now();
  const chunks: Uint8Array[] = [];
  try {
    if (bytes.length) await c.write(bytes);
    if (opts.eof) await c.closeWrite();
    const buf = new Uint8Array(4096);
    for (;;) {
      const n = await c.read(buf);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
    }
  } catch {
    // a reset, or closed by the timer
  } finally {
    clearTimeout(timer);
    if (!timedOut) c.close();
  }
  return { bytes: concatBytes(chunks), timedOut, ms: performance.now() - start };
}

/** A TCP port on 127.0.0.1 that nothing listens on (bound, then closed again), below the ephemeral range. */
export function deadPort(): number {
  // below the ephemeral range (32768 and up on Linux): no listener of port 0 and no dial's source port takes it
  // meanwhile, so a dial to it is refused rather than answered or self-connected
  for (let i = 0; i < 1000; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      return port;
    } catch {
      // taken: try another
    }
  }
  throw new Error("no free port below the ephemeral range");
}

/**
 * Sends `d` on a datagram conn until its echo comes back (UDP may drop: a first datagram larger than a socket's first
 * receive buffer is dropped as lost by design, see docs/architecture.md "Datagram sessions"): up to 5 sends, 1 s
 * apart, one pending read throughout.
 * @throws {Error} when no echo came after 5 sends
 */
export async function datagramRoundTrip(c: Conn, d: Uint8Array): Promise<Uint8Array | null> {
  const reply = nextDatagram(c).then((x) => x?.slice() ?? null);
  for (let i = 0; i < 5; i++) {
    await c.write(d);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const got = await Promise.race([reply, new Promise<"none">((r) => (timer = setTimeout(() => r("none"), 1000)))]);
    clearTimeout(timer);
    if (got !== "none") return got;
  }
  throw new Error(`no echo of a ${d.length}-byte datagram after 5 sends`);
}
