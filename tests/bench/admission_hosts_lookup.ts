/**
 * The admission and hosts benches (`deno task bench --only=bypass`, beside the bypass one in bypass_lookup.ts): a
 * 100,000-entry admission file (IPs, CIDRs, IP ranges and a few IPv6 entries) and a 100,000-line hosts file
 * (`IP name alias` lines and `.domain` suffix entries), read as a service's `admission` and `hosts` read them
 * (core/routing/file_lists.ts): how long reading and re-reading each take (and the longest the event loop waits
 * meanwhile), and the lookup a connection makes against it (its client address; its target name), in µs per
 * lookup, beside the same lookups against a 1-entry file.
 * @module
 */
import { nopLogger } from "../../core/log.ts";
import { FileAdmission, FileHosts, type Reloading } from "../../core/routing/file_lists.ts";
import { type BypassLookupFigures, timedReload } from "./bypass_lookup.ts";

/** `n` admission lines: IPs, /24 CIDRs, 8-address ranges and, every 1,000th line, an IPv6 address. */
export function admissionLines(n: number, tag: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = (i >> 16) & 255, b = (i >> 8) & 255, c = i & 255;
    if (i % 1000 === 999) out.push(`2001:db8:${tag}::${i.toString(16)}`);
    else if (i % 3 === 0) out.push(`10.${a}.${b}.${c}`);
    else if (i % 3 === 1) out.push(`172.${a + 16}.${b}.0/24`);
    else out.push(`100.${64 + a}.${b}.${c & 0xf8}-100.${64 + a}.${b}.${(c & 0xf8) + 7}`);
  }
  return out.join("\n") + "\n";
}

/** `n` hosts lines: `IP name alias`, and every 4th a `.zoneN.TAG.test` suffix entry; `tag` changes every name. */
export function hostsLines(n: number, tag: string): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    out.push(i % 4 === 3 ? `${ip} .zone${i}.${tag}.test` : `${ip} host${i}.${tag}.test www${i}.${tag}.test`);
  }
  return out.join("\n") + "\n";
}

/** µs per call of `lookup` over `inputs`, `rounds` times; `expect` hits must be seen per round. */
function perLookupUs(kind: string, inputs: string[], lookup: (s: string) => boolean, rounds: number): number {
  let hits = 0;
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) for (const s of inputs) if (lookup(s)) hits++;
  const us = (performance.now() - t0) * 1000 / (rounds * inputs.length);
  if (hits === 0) throw new Error(`${kind} bench: no lookup matched`);
  return us;
}

/** Opens the big and the small file, reloads the big one after a change, then times the lookups. */
async function bench<T extends Reloading>(
  kind: string,
  quick: boolean,
  files: { big: string; changed: string; small: string },
  open: (name: string, path: string) => Promise<T>,
  inputs: string[],
  lookup: (t: T, s: string) => boolean,
): Promise<BypassLookupFigures> {
  const dir = await Deno.makeTempDir({ prefix: `gost-bench-${kind}-` });
  const big = `${dir}/big.txt`, small = `${dir}/small.txt`;
  const opened: T[] = [];
  try {
    await Deno.writeTextFile(big, files.big);
    await Deno.writeTextFile(small, files.small);
    const t0 = performance.now();
    const b = await open("big", big);
    opened.push(b);
    const openMs = performance.now() - t0;
    await Deno.writeTextFile(big, files.changed);
    const { reloadMs, stallMs } = await timedReload(kind, () => b.reload());
    const s = await open("small", small);
    opened.push(s);
    const rounds = quick ? 20_000 : 200_000;
    perLookupUs(kind, inputs, (x) => lookup(b, x), rounds / 10); // warm up
    perLookupUs(kind, inputs, (x) => lookup(s, x), rounds / 10);
    const bigUs = perLookupUs(kind, inputs, (x) => lookup(b, x), rounds);
    const smallUs = perLookupUs(kind, inputs, (x) => lookup(s, x), rounds);
    return { bigUs, smallUs, openMs, reloadMs, stallMs };
  } finally {
    for (const o of opened) o.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** The admission bench: a blacklist of 100,000 entries; the clients hit an IP, a CIDR, a range, or miss. */
export function benchAdmissionLookup(quick: boolean): Promise<BypassLookupFigures> {
  const big = admissionLines(100_000, 1);
  return bench(
    "admission",
    quick,
    { big, changed: big.replace("\n10.0.0.3\n", "\n10.0.0.3\n198.51.100.1\n"), small: "10.0.0.3\n" },
    (name, path) =>
      FileAdmission.open({ name, path, reloadMs: 0, logger: nopLogger }, { matchers: [], resolve: () => never() }),
    [
      "10.0.0.3:40000", // a listed IP
      "172.17.3.9:40001", // in a listed CIDR
      "100.64.1.13:40002", // in a listed range
      "[::ffff:10.0.0.3]:40003", // a listed IP, as a dual-stack listener reports it
      "192.0.2.1:40004", // nothing matches
      "[2001:db8:1::3e7]:40005", // a listed IPv6 address
      "[2001:db8:2::1]:40006", // nothing matches
    ],
    (a, client) => !a.admit(client),
  );
}

/** The hosts bench: 100,000 lines; the names hit a name, an alias, a suffix entry, or miss. */
export function benchHostsLookup(quick: boolean): Promise<BypassLookupFigures> {
  const big = hostsLines(100_000, "a");
  return bench(
    "hosts",
    quick,
    {
      big,
      changed: big.replace("\n10.0.0.2 ", "\n10.0.0.9 host2.b.test\n10.0.0.2 "),
      small: "10.0.0.2 host2.a.test\n",
    },
    (name, path) => FileHosts.open({ name, path, reloadMs: 0, logger: nopLogger }, []),
    [
      "host2.a.test", // a listed name
      "www2.a.test", // a listed alias
      "cdn.www.zone3.a.test", // under a listed `.domain` entry
      "missing.example.com", // nothing matches
      "HOST2.A.TEST.", // a listed name, spelled otherwise
    ],
    (h, name) => h.lookup("ip", name).length > 0,
  );
}

function never(): Promise<string[]> {
  return Promise.reject(new Error("the admission bench file has no host names"));
}
