/**
 * Static host mappings (GOST's `hosts`): a name maps to one or more IPs before any resolver is asked. Lookup
 * order: the exact name, then a `.name` entry, then each parent suffix (`.example.com`, `.com`), then a `.`
 * catch-all; the first entry found wins and is filtered by the requested family. Names are case-insensitive and
 * a trailing dot is ignored (GOST compares them byte for byte); a bad IP throws instead of being dropped.
 * @module
 */
import { ConfigError } from "../errors.ts";
import { formatIP, parseIP, unmapIP } from "./matcher.ts";

/**
 * One mapping of the config's `hosts[].mappings`.
 * @example const m: HostMapping = { ip: "127.0.0.1", hostname: "example.com", aliases: ["www.example.com"] };
 */
export interface HostMapping {
  ip: string;
  hostname: string;
  aliases?: string[];
}

/**
 * What looks names up in a host table: a {@link HostMapper}, or one re-read from a file (core/routing/file_lists.ts).
 * @example const t: HostTable = new HostMapper([{ ip: "127.0.0.1", hostname: "origin.test" }]);
 */
export interface HostTable {
  /** The IPs `host` maps to for `network` (`ip`, `ip4`, `ip6`), or an empty array. */
  lookup(network: string, host: string): string[];
}

function normalizeName(name: string): string {
  const n = name.trim().toLowerCase();
  return n.length > 1 && n.endsWith(".") ? n.slice(0, -1) : n;
}

/**
 * A static host table.
 * @example
 * const h = new HostMapper([
 *   { ip: "127.0.0.1", hostname: "example.com" },
 *   { ip: "2001:db8::1", hostname: ".example.org" },
 * ]);
 * h.lookup("ip", "example.com") // ["127.0.0.1"]
 * h.lookup("ip4", "www.example.org") // []: the entry found has no IPv4 address
 */
export class HostMapper implements HostTable {
  /** Each name's IPs in canonical form ({@link formatIP}): strings, lighter to build and keep than parsed IPs. */
  readonly #table = new Map<string, string[]>();

  /**
   * A table of `mappings`.
   * @throws {ConfigError} naming a mapping with an invalid IP or an empty host name
   */
  constructor(mappings: HostMapping[]) {
    for (const m of mappings) this.#add(m);
  }

  /**
   * A table filled one mapping at a time (as a hosts file's lines are parsed, so that no list of mappings is kept
   * meanwhile); `finish()` hands it over.
   * @example const b = HostMapper.builder(); b.add({ ip: "10.0.0.1", hostname: "db.lan" }); const h = b.finish();
   */
  static builder(): { add(m: HostMapping): void; finish(): HostMapper } {
    const h = new HostMapper([]);
    return { add: (m) => h.#add(m), finish: () => h };
  }

  #add(m: HostMapping): void {
    const parsed = parseIP(m.ip.trim());
    if (!parsed) throw new ConfigError(`Invalid IP "${m.ip}" in hosts mapping for "${m.hostname}"`);
    const ip = formatIP(unmapIP(parsed));
    for (const raw of [m.hostname, ...(m.aliases ?? [])]) {
      const name = normalizeName(raw ?? "");
      if (name === "") throw new ConfigError(`Empty host name in hosts mapping for "${m.ip}"`);
      const list = this.#table.get(name);
      if (!list) this.#table.set(name, [ip]);
      else if (!list.includes(ip)) list.push(ip);
    }
  }

  /** The number of names in the table. */
  get size(): number {
    return this.#table.size;
  }

  #find(host: string): string[] | undefined {
    const exact = this.#table.get(host) ?? this.#table.get("." + host);
    if (exact) return exact;
    for (let i = host.indexOf("."); i >= 0; i = host.indexOf(".", i + 1)) {
      const hit = i > 0 ? this.#table.get(host.slice(i)) : undefined;
      if (hit) return hit;
    }
    return this.#table.get(".");
  }

  /**
   * Looks a name up. `network` `ip4` (or `tcp4`/`udp4`) keeps IPv4 addresses, `ip6` (`tcp6`/`udp6`) IPv6 ones,
   * anything else keeps both, in mapping order.
   * @returns the IPs, or an empty array when the table has nothing for this name and family
   * @example new HostMapper([{ ip: "10.0.0.1", hostname: "." }]).lookup("ip", "anything.test") // ["10.0.0.1"]
   */
  lookup(network: string, host: string): string[] {
    if (this.#table.size === 0 || host === "") return [];
    const ips = this.#find(normalizeName(host));
    if (!ips) return [];
    const family = network.endsWith("4") ? 4 : network.endsWith("6") ? 6 : 0;
    return ips.filter((ip) => family === 0 || (ip.includes(":") ? 6 : 4) === family);
  }
}
