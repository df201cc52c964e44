/**
 * Bypass (GOST's target-address rules): a blacklist bypass says "bypass" for a matching target, a whitelist
 * bypass for a target that matches nothing. What "bypass" does depends on where the router uses it: a service
 * bypass rejects the request, a hop bypass ends the chain before the hop, a node bypass filters the node out.
 * Patterns are those of {@link AddressMatcher} (IP, IP:port, IP:min-max, CIDR, IP range, domain, `.domain`,
 * wildcard); a bad pattern throws a {@link ConfigError} naming it, where GOST silently drops or mis-reads it.
 * @module
 */
import { AddressMatcher, type Pattern } from "./matcher.ts";

/**
 * Anything that decides whether a target is bypassed; {@link Bypass} and {@link BypassGroup} implement it.
 * `whitelist` and `network` are read by {@link BypassGroup}; absent means a blacklist for every network.
 * @example const deny: BypassChecker = { contains: (_net, addr) => addr.startsWith("10.") };
 */
export interface BypassChecker {
  /** True means "bypass" (reject, truncate the chain, or skip the node). */
  contains(network: string, addr: string): boolean;
  /**
   * The verdict on one target known by several addresses (its name and an address it resolves to): a pattern
   * matching any of them counts as a match. Absent: {@link bypassesAny} combines `contains` verdicts.
   */
  containsAny?(network: string, addrs: readonly string[]): boolean;
  /** A whitelist: targets that do not match are bypassed. */
  readonly whitelist?: boolean;
  /** The only network it applies to (`tcp`/`udp`); absent = every network. */
  readonly network?: string;
}

/**
 * Options of one bypass (the config's `bypasses[]` entry).
 * @example const o: BypassOptions = { name: "lan", whitelist: false, matchers: ["10.0.0.0/8"], network: "tcp" };
 */
export interface BypassOptions {
  name?: string;
  /** Whitelist mode: a target matching nothing is bypassed (CLI `~` prefix). */
  whitelist?: boolean;
  /** The patterns (strings, or patterns compiled already, as a file's lines are). */
  matchers: (string | Pattern)[];
  /** Only applies to this network; with no matchers it acts on the whole network. */
  network?: "tcp" | "udp";
}

/** `tcp4`, `udp6`, … → `tcp`, `udp`. */
function baseNetwork(network: string): string {
  return network.toLowerCase().replace(/[46]$/, "");
}

/**
 * Tells whether a checker takes part for `network`: a checker with a `network` only applies to that network.
 * @example appliesTo(new Bypass({ matchers: [], network: "udp" }), "tcp") // false
 */
export function appliesTo(checker: BypassChecker, network: string): boolean {
  return !checker.network || baseNetwork(checker.network) === baseNetwork(network);
}

/**
 * One bypass. `contains` is true when the target should be bypassed: in blacklist mode when it matches a pattern,
 * in whitelist mode when it matches none. An empty address is never bypassed (as in GOST). With `network` set,
 * other networks are never bypassed, and an empty matcher list matches every address of that network.
 * @example
 * const b = new Bypass({ matchers: ["10.0.0.0/8", ".example.org", "*.example.com:443"] });
 * b.contains("tcp", "10.1.2.3:80") // true
 * b.contains("tcp", "example.net:80") // false
 * new Bypass({ whitelist: true, matchers: ["example.net"] }).contains("tcp", "example.com:80") // true
 */
export class Bypass implements BypassChecker {
  readonly name?: string;
  readonly whitelist: boolean;
  readonly network?: "tcp" | "udp";
  readonly #matcher: AddressMatcher;
  readonly #all: boolean;

  /**
   * @param matcher the matcher built already (a data file's, core/routing/file_lists.ts: `opts.matchers` are then
   *   not read); absent: `opts.matchers` built now
   * @throws {ConfigError} naming the first pattern that does not parse
   */
  constructor(opts: BypassOptions, matcher?: AddressMatcher) {
    this.name = opts.name;
    this.whitelist = !!opts.whitelist;
    this.network = opts.network;
    this.#matcher = matcher ?? new AddressMatcher(opts.matchers);
    this.#all = !!opts.network && this.#matcher.size === 0;
  }

  contains(network: string, addr: string): boolean {
    if (addr === "" || !appliesTo(this, network)) return false;
    const matched = this.#all || this.#matcher.match(addr);
    return this.whitelist ? !matched : matched;
  }

  containsAny(network: string, addrs: readonly string[]): boolean {
    if (!appliesTo(this, network)) return false;
    const known = addrs.filter((a) => a !== "");
    if (!known.length) return false;
    const matched = this.#all || known.some((a) => this.#matcher.match(a));
    return this.whitelist ? !matched : matched;
  }
}

/**
 * Tells whether one target, known by several addresses (`["www.example.com:443", "10.0.0.5:443"]`: its name and an
 * address it resolves to; or an IP and the loopback address it reaches), is bypassed: a pattern that matches any of
 * them matches the target. So a blacklist rejects a name that resolves into a listed range, and a whitelist that
 * lists a name admits it whatever it resolves to.
 * @example bypassesAny(new Bypass({ matchers: ["127.0.0.0/8"] }), "tcp", ["localhost:80", "127.0.0.1:80"]) // true
 */
export function bypassesAny(checker: BypassChecker, network: string, addrs: readonly string[]): boolean {
  if (addrs.length === 1) return checker.contains(network, addrs[0]);
  if (checker.containsAny) return checker.containsAny(network, addrs);
  // a whitelist bypasses what matches none of its patterns: every address must say so
  return checker.whitelist
    ? addrs.every((a) => checker.contains(network, a))
    : addrs.some((a) => checker.contains(network, a));
}

/**
 * GOST's bypass group (several bypasses on one object): if there are whitelist members and all of them say
 * "bypass", the target is bypassed; otherwise it is bypassed when any blacklist member says so. Members with a
 * `network` that differs from the request's do not vote. A group itself counts as a blacklist when nested.
 * @example
 * const g = new BypassGroup([
 *   new Bypass({ whitelist: true, matchers: [".corp.example"] }),
 *   new Bypass({ matchers: ["10.0.0.0/8"] }),
 * ]);
 * g.contains("tcp", "www.example.com:443") // true: the only whitelist member says bypass
 * g.contains("tcp", "git.corp.example:443") // false
 */
export class BypassGroup implements BypassChecker {
  readonly members: readonly BypassChecker[];

  constructor(members: BypassChecker[]) {
    this.members = [...members];
  }

  contains(network: string, addr: string): boolean {
    return this.containsAny(network, [addr]);
  }

  containsAny(network: string, addrs: readonly string[]): boolean {
    let whitelists = 0, allWhitelistsBypass = true, anyBlacklistBypasses = false;
    for (const m of this.members) {
      if (!appliesTo(m, network)) continue;
      const bypass = bypassesAny(m, network, addrs);
      if (m.whitelist) {
        whitelists++;
        if (!bypass) allWhitelistsBypass = false;
      } else if (bypass) anyBlacklistBypasses = true;
    }
    return (whitelists > 0 && allWhitelistsBypass) || anyBlacklistBypasses;
  }
}

/**
 * The named bypasses as one checker (GOST's group rule), looked up now; undefined when none exists.
 * `reg` is the process' registries (`core/registries.ts`), of which only `bypasses` is read.
 */
export function namedBypass(
  names: string[],
  reg: { readonly bypasses: { get(name: string): BypassChecker | undefined } },
): BypassChecker | undefined {
  const found = names.map((n) => reg.bypasses.get(n)).filter((b) => b !== undefined);
  if (!found.length) return undefined;
  return found.length === 1 ? found[0] : new BypassGroup(found);
}
