/**
 * Bypass (GOST's target-address rules): a blacklist bypass says "bypass" for a matching target, a whitelist
 * bypass for a target that matches nothing. What "bypass" does depends on where the router uses it: a service
 * bypass rejects the request, a hop bypass ends the chain before the hop, a node bypass filters the node out.
 * Patterns are those of {@link AddressMatcher} (IP, IP:port, IP:min-max, CIDR, IP range, domain, `.domain`,
 * wildcard); a bad pattern throws a {@link ConfigError} naming it, where GOST silently drops or mis-reads it.
 * @module
 */
import { AddressMatcher } from "./matcher.ts";

/**
 * Anything that decides whether a target is bypassed; {@link Bypass} and {@link BypassGroup} implement it.
 * `whitelist` and `network` are read by {@link BypassGroup}; absent means a blacklist for every network.
 * @example const deny: BypassChecker = { contains: (_net, addr) => addr.startsWith("10.") };
 */
export interface BypassChecker {
  /** True means "bypass" (reject, truncate the chain, or skip the node). */
  contains(network: string, addr: string): boolean;
  readonly whitelist?: boolean;
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
  matchers: string[];
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

  /** @throws {ConfigError} naming the first pattern that does not parse */
  constructor(opts: BypassOptions) {
    this.name = opts.name;
    this.whitelist = !!opts.whitelist;
    this.network = opts.network;
    this.#matcher = new AddressMatcher(opts.matchers);
    this.#all = !!opts.network && opts.matchers.length === 0;
  }

  contains(network: string, addr: string): boolean {
    if (addr === "" || !appliesTo(this, network)) return false;
    const matched = this.#all || this.#matcher.match(addr);
    return this.whitelist ? !matched : matched;
  }
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
    let whitelists = 0, allWhitelistsBypass = true, anyBlacklistBypasses = false;
    for (const m of this.members) {
      if (!appliesTo(m, network)) continue;
      const bypass = m.contains(network, addr);
      if (m.whitelist) {
        whitelists++;
        if (!bypass) allWhitelistsBypass = false;
      } else if (bypass) anyBlacklistBypasses = true;
    }
    return (whitelists > 0 && allWhitelistsBypass) || anyBlacklistBypasses;
  }
}
