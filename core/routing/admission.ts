/**
 * Admission (GOST's client source-address rules), checked when a connection is accepted: a blacklist admission
 * denies matching clients, a whitelist admission admits only matching ones. Matchers are IPs, CIDRs, IP ranges or
 * host names; host names are resolved to IPs once, when the admission is created ({@link Admission.create}).
 * IPv4-mapped IPv6 clients (`::ffff:10.0.0.1`, as a dual-stack listener reports them) match IPv4 rules.
 * @module
 */
import { ConfigError, errorMessage } from "../errors.ts";
import { AddressMatcher, compilePattern, type Pattern, splitAddr } from "./matcher.ts";

/**
 * Anything that admits or denies a client address; {@link Admission} and {@link AdmissionGroup} implement it.
 * @example const all: AdmissionChecker = { admit: () => true };
 */
export interface AdmissionChecker {
  /** True when the client (`host:port` or `host`) may connect. */
  admit(addr: string): boolean;
}

/**
 * Options of one admission (the config's `admissions[]` entry).
 * @example const o: AdmissionOptions = { whitelist: true, matchers: ["192.168.0.0/16", "10.0.0.1"] };
 */
export interface AdmissionOptions {
  name?: string;
  /** Whitelist mode: only matching clients are admitted (CLI `~` prefix). */
  whitelist?: boolean;
  /** IPs, CIDRs and IP ranges (strings, or patterns compiled already, as a file's lines are). */
  matchers: (string | Pattern)[];
}

/**
 * Options of {@link Admission.create}: host-name matchers are resolved with `resolve`.
 * @example await Admission.create({ matchers: ["gw.lan"], resolve: (h) => resolver.resolve("ip", h) })
 */
export interface AdmissionCreateOptions extends AdmissionOptions {
  /** The matchers: IPs, CIDRs, IP ranges or host names. */
  matchers: string[];
  /** Resolves a host name to IPs (default: `Deno.resolveDns` A and AAAA). */
  resolve?: (host: string) => Promise<string[]>;
}

/** Resolves A and AAAA with `Deno.resolveDns`; fails only when both fail. */
async function systemResolve(host: string): Promise<string[]> {
  const [a, aaaa] = await Promise.allSettled([Deno.resolveDns(host, "A"), Deno.resolveDns(host, "AAAA")]);
  if (a.status === "rejected" && aaaa.status === "rejected") throw a.reason;
  return [...(a.status === "fulfilled" ? a.value : []), ...(aaaa.status === "fulfilled" ? aaaa.value : [])];
}

/**
 * Checks that a matcher is an IP (without a port), CIDR or IP range, and compiles it.
 * @throws {ConfigError} naming a matcher that is none of them
 * @example compileAdmission("10.0.0.1").kind // "ip"
 */
export function compileAdmission(pattern: string | Pattern): Pattern {
  const p = typeof pattern === "string" ? compilePattern(pattern) : pattern;
  if (p.kind === "cidr" || p.kind === "range" || (p.kind === "ip" && p.ports === null)) return p;
  throw new ConfigError(`Invalid admission matcher "${p.source}": expected an IP, CIDR, IP range or host name`);
}

/**
 * Compiles one admission matcher: an IP, CIDR or IP range is its pattern, a host name (to resolve) is returned as
 * the name to look up.
 * @throws {ConfigError} naming a matcher that is none of them
 * @example admissionPattern("10.0.0.0/8").kind // "cidr"; admissionPattern("gw.lan") // "gw.lan"
 */
export function admissionPattern(m: string): Pattern | string {
  const p = compilePattern(m);
  if (p.kind === "domain" && p.ports === null && !p.key.startsWith(".")) return p.key;
  return compileAdmission(p);
}

/**
 * One admission matcher as the matchers an {@link Admission} takes: an IP, CIDR or IP range is itself, a host name
 * its IPs (resolved now).
 * @param resolve resolves a host name (default: `Deno.resolveDns` A and AAAA)
 * @throws {ConfigError} naming a matcher that does not parse or a host name that does not resolve
 * @example await resolveAdmissionMatcher("localhost") // ["127.0.0.1", "::1"]
 */
export async function resolveAdmissionMatcher(
  m: string,
  resolve: (host: string) => Promise<string[]> = systemResolve,
): Promise<string[]> {
  const p = admissionPattern(m);
  if (typeof p !== "string") return [m];
  let ips: string[];
  try {
    ips = await resolve(p);
  } catch (err) {
    throw new ConfigError(`Cannot resolve admission matcher "${m}": ${errorMessage(err)}`, { cause: err });
  }
  if (ips.length === 0) throw new ConfigError(`Cannot resolve admission matcher "${m}": no addresses`);
  return ips;
}

/**
 * One admission. Build it with {@link Admission.create} when matchers may contain host names; the constructor
 * accepts IPs, CIDRs and IP ranges only. An empty client address is admitted (as in GOST); a client that is not
 * an IP (a unix socket path) matches nothing.
 * @example
 * const a = new Admission({ matchers: ["192.168.0.0/16"] });
 * a.admit("192.168.1.5:40000") // false: blacklisted
 * const w = await Admission.create({ whitelist: true, matchers: ["localhost"] });
 * w.admit("127.0.0.1:40000") // true
 */
export class Admission implements AdmissionChecker {
  readonly name?: string;
  readonly whitelist: boolean;
  readonly #matcher: AddressMatcher;

  /**
   * @param matcher the matcher built already (a data file's, core/routing/file_lists.ts: `opts.matchers` are then
   *   not read); absent: `opts.matchers` built now
   * @throws {ConfigError} naming a pattern that is not an IP, CIDR or IP range (host names need `create`)
   */
  constructor(opts: AdmissionOptions, matcher?: AddressMatcher) {
    this.name = opts.name;
    this.whitelist = !!opts.whitelist;
    this.#matcher = matcher ?? new AddressMatcher(opts.matchers.map(compileAdmission));
  }

  /**
   * Creates an admission, resolving host-name matchers to their IPs first (once; GOST re-resolves on reload).
   * @throws {ConfigError} naming a matcher that does not parse or a host name that does not resolve
   * @example const a = await Admission.create({ matchers: ["10.0.0.0/8", "localhost"] });
   */
  static async create(opts: AdmissionCreateOptions): Promise<Admission> {
    const matchers = await Promise.all(opts.matchers.map((m) => resolveAdmissionMatcher(m, opts.resolve)));
    return new Admission({ name: opts.name, whitelist: opts.whitelist, matchers: matchers.flat() });
  }

  admit(addr: string): boolean {
    if (addr === "") return true;
    const { ip, host } = splitAddr(addr);
    const matched = ip !== null && this.#matcher.matchIP(ip, host);
    return this.whitelist ? matched : !matched;
  }
}

/**
 * Several admissions on one service: any member denying is enough to deny.
 * @example new AdmissionGroup([allowLan, denyBadHost]).admit("192.168.1.5:1234")
 */
export class AdmissionGroup implements AdmissionChecker {
  readonly members: readonly AdmissionChecker[];
  constructor(members: AdmissionChecker[]) {
    this.members = [...members];
  }
  admit(addr: string): boolean {
    return this.members.every((m) => m.admit(addr));
  }
}
