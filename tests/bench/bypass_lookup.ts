/**
 * The bypass bench (`deno task bench --only=bypass`): a 100,000-entry bypass file (IPs, CIDRs, domains, `.domain`
 * suffixes and a few wildcards), as a service's `bypass` reads it (core/routing/file_lists.ts): how long reading and
 * re-reading it take (and the longest the event loop waits meanwhile), and the lookup a connection makes against it (its target as a name, and as a name and the IP
 * it resolved to), in µs per lookup, beside the same lookups against a 1-entry bypass.
 * @module
 */
import { nopLogger } from "../../core/log.ts";
import { bypassesAny } from "../../core/routing/bypass.ts";
import { FileBypass } from "../../core/routing/file_lists.ts";

/** The figures of one run. */
export interface BypassLookupFigures {
  /** µs per lookup against the 100k-entry bypass. */
  bigUs: number;
  /** µs per lookup against a 1-entry bypass. */
  smallUs: number;
  /** ms to read and parse the file at start. */
  openMs: number;
  /** ms to re-read it after a change. */
  reloadMs: number;
  /** The longest ms the event loop was held up during that reload (a 1 ms interval's largest gap). */
  stallMs: number;
}

/** `n` bypass lines of every kind GOST's matchers take; `tag` changes every domain (a different file). */
export function bypassLines(n: number, tag: string): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = (i >> 16) & 255, b = (i >> 8) & 255, c = i & 255;
    switch (i % 5) {
      case 0:
        out.push(`10.${a}.${b}.${c}`);
        break;
      case 1:
        out.push(`172.${a + 16}.${b}.0/24`);
        break;
      case 2:
        out.push(`host${i}.${tag}.test`);
        break;
      case 3:
        out.push(`.zone${i}.${tag}.test`);
        break;
      default:
        out.push(i % 1000 === 4 ? `*.wild${i}.${tag}.test` : `site${i}.${tag}.test:443`);
    }
  }
  return out.join("\n") + "\n";
}

function perLookupUs(b: FileBypass, rounds: number): number {
  const targets = [
    "host2.a.test:80", // a listed name
    "www.zone3.a.test:443", // under a listed suffix
    "missing.example.com:443", // nothing matches
    "10.0.1.4:80", // a listed IP
    "172.17.3.9:8080", // in a listed CIDR
    "192.0.2.1:80", // nothing matches
  ];
  const pairs = [["cdn.example.net:443", "203.0.113.7:443"], ["host7.a.test:443", "10.0.0.7:443"]];
  let hits = 0;
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) {
    for (const t of targets) if (b.contains("tcp", t)) hits++;
    for (const p of pairs) if (bypassesAny(b, "tcp", p)) hits++;
  }
  const us = (performance.now() - t0) * 1000 / (rounds * (targets.length + pairs.length));
  if (hits === 0) throw new Error("bypass bench: no lookup matched");
  return us;
}

/**
 * Runs `reload` (a changed file's re-read) and times it, with the longest the event loop was held up meanwhile (a
 * 1 ms interval's largest gap).
 * @throws {Error} when `reload` did not replace the set
 */
export async function timedReload(
  kind: string,
  reload: () => Promise<boolean>,
): Promise<{ reloadMs: number; stallMs: number }> {
  let last = performance.now(), stallMs = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - last);
    last = now;
  }, 1);
  const t0 = performance.now();
  try {
    const reloaded = await reload();
    if (!reloaded) throw new Error(`${kind} bench: the changed file was not reloaded`);
  } finally {
    clearInterval(tick);
  }
  const reloadMs = performance.now() - t0;
  return { reloadMs, stallMs: Math.max(stallMs, performance.now() - last) };
}

/** Runs the bench in a temporary directory. */
export async function benchBypassLookup(quick: boolean): Promise<BypassLookupFigures> {
  const dir = await Deno.makeTempDir({ prefix: "gost-bench-bypass-" });
  const big = `${dir}/big.txt`, small = `${dir}/small.txt`;
  try {
    await Deno.writeTextFile(big, bypassLines(100_000, "a"));
    await Deno.writeTextFile(small, "host2.a.test\n");
    const t0 = performance.now();
    const b = await FileBypass.open({ name: "big", path: big, reloadMs: 0, logger: nopLogger }, { matchers: [] });
    const openMs = performance.now() - t0;
    await Deno.writeTextFile(big, bypassLines(100_000, "a").replace("host2.a.test", "host2.b.test\nhost2.a.test"));
    const { reloadMs, stallMs } = await timedReload("bypass", () => b.reload());
    const s = await FileBypass.open({ name: "small", path: small, reloadMs: 0, logger: nopLogger }, { matchers: [] });
    const rounds = quick ? 20_000 : 200_000;
    perLookupUs(b, rounds / 10); // warm up
    perLookupUs(s, rounds / 10);
    const bigUs = perLookupUs(b, rounds);
    const smallUs = perLookupUs(s, rounds);
    b.close();
    s.close();
    return { bigUs, smallUs, openMs, reloadMs, stallMs };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
