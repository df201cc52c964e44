/**
 * Helpers for the mux tests: connected loopback TCP pairs and bounded waits.
 * @module
 */
import { readAll } from "./io.ts";

/** Two ends of one loopback TCP connection. */
export async function tcpPair(): Promise<[Deno.TcpConn, Deno.TcpConn]> {
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const [a, b] = await Promise.all([
      Deno.connect({ hostname: "127.0.0.1", port: (ln.addr as Deno.NetAddr).port }),
      ln.accept(),
    ]);
    a.setNoDelay(true);
    b.setNoDelay(true);
    return [a, b];
  } finally {
    ln.close();
  }
}

/** Rejects when `p` does not settle within `ms` (so a broken test fails instead of hanging). */
export async function within<T>(p: Promise<T>, ms: number, what = "operation"): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} hung for ${ms} ms`)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads exactly `n` bytes (or fewer at EOF). */
export async function readN(c: { read(p: Uint8Array): Promise<number | null> }, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    const got = await c.read(out.subarray(off));
    if (got === null) return out.subarray(0, off);
    off += got;
  }
  return out;
}

/** Reads a conn to EOF (the shared helper, tests/helpers/io.ts). */
export { readAll };

/** Writes all of `p`. */
export async function writeAll(c: { write(p: Uint8Array): Promise<number> }, p: Uint8Array): Promise<void> {
  let off = 0;
  while (off < p.length) off += await c.write(p.subarray(off));
}

/** Deterministic pseudo-random bytes. */
export function pattern(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Polls `cond` every 10 ms until true or `ms` pass. */
export async function until(cond: () => boolean, ms = 3000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not reached in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
