/**
 * Address matchers shared by bypass and admission: IP literals (v4 and v6), `IP:port` and `IP:min-max`, CIDR
 * blocks, inclusive IP ranges `a-b`, exact domains, `.domain` (the domain and every subdomain) and globs
 * (`*.example.com`, `*.example.com:80`), all case-insensitive. Unlike GOST, a pattern that does not parse throws
 * a {@link ConfigError} naming it instead of silently matching nothing (or every port), and IPs are compared in
 * canonical form (`2001:db8:0::1` equals `2001:db8::1`; `::ffff:10.0.0.1` equals `10.0.0.1`), numeric hosts read as
 * the system resolver reads them (`127.1`, `0x7f000001` and `0177.0.0.1` are 127.0.0.1: {@link parseInetAton}).
 * @module
 */
import { ConfigError } from "../errors.ts";
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6Bare, unmapIPv4 } from "../ip.ts";

/**
 * A parsed IP address: 4 bytes for IPv4, 16 for IPv6.
 * @example const ip: IP = { family: 4, bytes: new Uint8Array([127, 0, 0, 1]) };
 */
export interface IP {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
}

/**
 * Parses an IPv4 (dotted quad, no leading zeros) or IPv6 literal (no brackets, no zone).
 * @param s the literal
 * @returns the address, or null when `s` is not an IP literal
 * @example parseIP("::1")?.family // 6
 */
export function parseIP(s: string): IP | null {
  if (s.includes(":")) {
    const b = parseIPv6Bare(s);
    return b ? { family: 6, bytes: b } : null;
  }
  const b = parseIPv4(s);
  return b ? { family: 4, bytes: b } : null;
}

/** The largest value of the last part of an `inet_aton` address with 1, 2, 3 or 4 parts. */
const LAST_PART_MAX = [0xffffffff, 0xffffff, 0xffff, 0xff];

/** One `inet_aton` part: `0x` hex, `0` octal, or decimal; NaN when it is none of them. */
function atonPart(p: string): number {
  if (/^0x[0-9a-f]+$/i.test(p)) return parseInt(p.slice(2), 16);
  if (/^0[0-7]*$/.test(p)) return parseInt(p, 8);
  if (/^[1-9][0-9]*$/.test(p)) return Number(p);
  return NaN;
}

/**
 * Parses an IPv4 address as glibc's `inet_aton` (and so `getaddrinfo` and `Deno.connect`) does: 1 to 4 parts
 * separated by dots, each decimal, octal (leading `0`) or hex (`0x`); every part but the last is one byte, the last
 * fills the remaining bytes (`127.1` = 127.0.0.1, `2130706433` = 127.0.0.1).
 * @param s the host, without brackets or a trailing dot
 * @returns the 4 bytes, or null when `s` is not such an address
 * @example parseInetAton("0x7f.1") // Uint8Array [127, 0, 0, 1]
 */
export function parseInetAton(s: string): Uint8Array | null {
  if (s.length === 0 || s.length > 64) return null;
  const parts = s.split(".");
  if (parts.length > 4) return null;
  const values: number[] = [];
  for (const p of parts) {
    const v = atonPart(p);
    if (!Number.isFinite(v)) return null;
    values.push(v);
  }
  const last = values.length - 1;
  for (let i = 0; i < last; i++) if (values[i] > 0xff) return null;
  if (values[last] > LAST_PART_MAX[last]) return null;
  let n = values[last];
  for (let i = 0; i < last; i++) n += values[i] * 2 ** (8 * (3 - i));
  return new Uint8Array([n >>> 24 & 0xff, n >>> 16 & 0xff, n >>> 8 & 0xff, n & 0xff]);
}

/**
 * Parses any spelling of an IP the system resolver accepts as numeric: strict IPv6 (a `%zone` dropped) or an
 * `inet_aton` IPv4. IPv4-mapped IPv6 comes back as IPv4.
 * @returns the address, or null for a name
 * @example formatIP(parseAnyIP("::FFFF:127.0.0.1")!) // "127.0.0.1"
 */
export function parseAnyIP(host: string): IP | null {
  if (host.includes(":")) {
    const pct = host.indexOf("%");
    const ip = parseIP(pct >= 0 ? host.slice(0, pct) : host);
    return ip ? unmapIP(ip) : null;
  }
  // a name starts with a letter far more often than not: only a digit can start an inet_aton address
  const c = host.charCodeAt(0);
  if (!(c >= 48 && c <= 57)) return null;
  const strict = parseIP(host);
  if (strict) return strict;
  const bytes = parseInetAton(host);
  return bytes ? { family: 4, bytes } : null;
}

/**
 * Turns an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) into its IPv4 form; other addresses are returned as is.
 * @example formatIP(unmapIP(parseIP("::ffff:10.0.0.1")!)) // "10.0.0.1"
 */
export function unmapIP(ip: IP): IP {
  const v4 = ip.family === 6 ? unmapIPv4(ip.bytes) : null;
  return v4 ? { family: 4, bytes: v4 } : ip;
}

/**
 * Formats an address canonically: dotted quad, or RFC 5952 IPv6 (lowercase, longest zero run compressed).
 * @example formatIP(parseIP("2001:DB8:0:0::1")!) // "2001:db8::1"
 */
export function formatIP(ip: IP): string {
  if (ip.family === 4) return formatIPv4(ip.bytes);
  const v4 = unmapIPv4(ip.bytes);
  return v4 ? `::ffff:${formatIPv4(v4)}` : formatIPv6(ip.bytes);
}

/**
 * Canonicalises an IP literal (unmapping IPv4-mapped IPv6, dropping a `%zone`), or returns null for non-IPs.
 * @example canonicalIP("::FFFF:127.0.0.1") // "127.0.0.1"
 */
export function canonicalIP(s: string): string | null {
  const pct = s.indexOf("%");
  const ip = parseIP(pct >= 0 && s.includes(":") ? s.slice(0, pct) : s);
  return ip ? formatIP(unmapIP(ip)) : null;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/**
 * An inclusive port range; a single port is `n-n`.
 * @example new PortRange(8000, 8080).contains(8000) // true
 */
export class PortRange {
  readonly min: number;
  readonly max: number;
  constructor(min: number, max: number) {
    this.min = min;
    this.max = max;
  }
  /**
   * Parses `80` or `8000-8080`.
   * @throws {ConfigError} when the range does not parse, a port exceeds 65535 or min > max
   * @example PortRange.parse("80-90").contains(85) // true
   */
  static parse(s: string, pattern = s): PortRange {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(s);
    const min = m ? Number(m[1]) : NaN;
    const max = m ? Number(m[2] ?? m[1]) : NaN;
    if (!m || min > 65535 || max > 65535 || min > max) {
      throw new ConfigError(`Invalid port or port range "${s}" in matcher "${pattern}"`);
    }
    return new PortRange(min, max);
  }
  /** Tells whether `port` lies in the range, both ends included. */
  contains(port: number): boolean {
    return port >= this.min && port <= this.max;
  }
}

/**
 * Splits an address to match (`host:port`, `[v6]:port`, bare `v6`, or a bare host) leniently, as GOST does: a
 * missing or non-numeric port is 0. The host is lowercased, a trailing dot dropped and IPs canonicalised (every
 * numeric spelling the system resolver accepts: {@link parseAnyIP}).
 * @example splitAddr("[2001:DB8::1]:443") // { host: "2001:db8::1", port: 443, ip: {...} }
 */
export function splitAddr(addr: string): { host: string; port: number; ip: IP | null } {
  let host = addr, port = "";
  const br = /^\[([^\]]*)\](?::(.*))?$/.exec(addr);
  if (br) [host, port] = [br[1], br[2] ?? ""];
  else {
    const i = addr.indexOf(":");
    if (i >= 0 && i === addr.lastIndexOf(":")) [host, port] = [addr.slice(0, i), addr.slice(i + 1)];
  }
  host = host.toLowerCase();
  if (host.endsWith(".") && host.length > 1) host = host.slice(0, -1);
  const ip = parseAnyIP(host);
  return { host: ip ? formatIP(ip) : host, port: /^\d{1,5}$/.test(port) ? Number(port) : 0, ip };
}

/**
 * The kinds of matcher pattern.
 * @example compilePattern(".example.org").kind satisfies PatternKind // "domain"
 */
export type PatternKind = "ip" | "cidr" | "range" | "domain" | "wildcard";

/**
 * One compiled pattern. `ports` is null when any port matches.
 * @example const p: Pattern = compilePattern("*.example.com:80"); // { kind: "wildcard", re, ports: 80-80 }
 */
export type Pattern =
  | { kind: "ip"; source: string; ip: IP; key: string; ports: PortRange | null }
  | { kind: "domain"; source: string; key: string; ports: PortRange | null }
  | { kind: "cidr"; source: string; ip: IP; bits: number }
  | { kind: "range"; source: string; min: IP; max: IP }
  | { kind: "wildcard"; source: string; re: RegExp; ports: PortRange | null; suffix?: string };

const domainRe = /^\.?(?:[\p{L}\p{N}_-]+\.)*[\p{L}\p{N}_-]+\.?$/u;

/** Splits a pattern into host and optional port range, strictly. */
function splitPattern(p: string): { host: string; ports: PortRange | null } {
  const br = /^\[([^\]]*)\](?::(.*))?$/.exec(p);
  if (br) return { host: br[1], ports: br[2] === undefined ? null : PortRange.parse(br[2], p) };
  const i = p.indexOf(":");
  if (i >= 0 && i === p.lastIndexOf(":")) return { host: p.slice(0, i), ports: PortRange.parse(p.slice(i + 1), p) };
  return { host: p, ports: null };
}

const syntaxChars = /[.*+?^${}()|[\]\\\/]/g;

function globToRegExp(glob: string, source: string): RegExp {
  let re = "", depth = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*") re += ".*";
    else if (c === "?") re += ".";
    else if (c === "\\" && i + 1 < glob.length) re += glob[++i].replace(syntaxChars, "\\$&");
    else if (c === "[") {
      const end = glob.indexOf("]", i + 2);
      if (end < 0) throw new ConfigError(`Invalid wildcard matcher "${source}": unterminated [`);
      let body = glob.slice(i + 1, end);
      const neg = body[0] === "!" || body[0] === "^";
      if (neg) body = body.slice(1);
      re += `[${neg ? "^" : ""}${body.replace(/[\\\]^]/g, "\\$&")}]`;
      i = end;
    } else if (c === "{") {
      depth++;
      re += "(?:";
    } else if (c === "}" && depth > 0) {
      depth--;
      re += ")";
    } else if (c === "," && depth > 0) re += "|";
    else re += c.replace(syntaxChars, "\\$&");
  }
  if (depth > 0) throw new ConfigError(`Invalid wildcard matcher "${source}": unterminated {`);
  return new RegExp(`^${re}$`, "u");
}

/**
 * Compiles one matcher pattern, classified as GOST does: CIDR (`a/n`), glob (`*`, `?`, `[ab]`, `{a,b}`), IP range
 * (`a-b`), then IP or domain with an optional `:port` or `:min-max` (IPv6 with a port in brackets).
 * @throws {ConfigError} naming the pattern when it does not parse
 * @example compilePattern("10.0.0.0/8").kind // "cidr"
 */
export function compilePattern(pattern: string): Pattern {
  const p = pattern.trim().toLowerCase();
  const bad = (why: string) => new ConfigError(`Invalid matcher "${pattern}": ${why}`);
  if (p === "") throw bad("empty pattern");
  if (/[\s\/@]/.test(p) && !/^[^\s@\/]+\/\d{1,3}$/.test(p)) throw bad("unexpected character");
  if (p.includes("/")) {
    const [addr, len] = p.split("/");
    const ip = parseIP(addr);
    const bits = Number(len);
    if (!ip) throw bad("not an IP prefix");
    if (bits > (ip.family === 4 ? 32 : 128)) throw bad("prefix length out of range");
    const u = unmapIP(ip);
    const shift = ip.family === 6 && u.family === 4 ? 96 : 0;
    if (bits < shift) return { kind: "cidr", source: pattern, ip, bits };
    return { kind: "cidr", source: pattern, ip: u, bits: bits - shift };
  }
  if (/[*?{]/.test(p) || (p.includes("[") && !/^\[[^\]]*\](?::[^:]*)?$/.test(p))) {
    const { host, ports } = splitPattern(p);
    if (host === "") throw bad("empty host");
    return { kind: "wildcard", source: pattern, re: globToRegExp(host, pattern), ports, suffix: globSuffix(host) };
  }
  const dash = p.indexOf("-");
  if (dash > 0) {
    const a = parseIP(p.slice(0, dash));
    if (a) {
      const b = parseIP(p.slice(dash + 1));
      if (!b) throw bad("the end of the IP range is not an IP");
      const [min, max] = [unmapIP(a), unmapIP(b)];
      if (min.family !== max.family) throw bad("the IP range mixes IPv4 and IPv6");
      if (compareBytes(min.bytes, max.bytes) > 0) throw bad("the IP range starts after it ends");
      return { kind: "range", source: pattern, min, max };
    }
  }
  const { host, ports } = splitPattern(p);
  const ip = parseAnyIP(host);
  if (ip) return { kind: "ip", source: pattern, ip, key: formatIP(ip), ports };
  if (!domainRe.test(host) || host === ".") throw bad("not an IP, CIDR, IP range, domain or wildcard");
  const key = host.length > 1 && host.endsWith(".") ? host.slice(0, -1) : host;
  return { kind: "domain", source: pattern, key, ports };
}

/**
 * The labels every host a glob matches must end with, after a dot: the literal tail after the glob's last special
 * character, from its first dot on (`*.cdn.example.com` → `cdn.example.com`); undefined when there is none.
 */
function globSuffix(glob: string): string | undefined {
  if (glob.includes("\\")) return undefined;
  const tail = glob.slice(Math.max(...[..."*?[]{}"].map((c) => glob.lastIndexOf(c))) + 1);
  const dot = tail.indexOf(".");
  const suffix = dot >= 0 ? tail.slice(dot + 1) : "";
  return suffix && !suffix.endsWith(".") ? suffix : undefined;
}

function maskKey(bytes: Uint8Array, bits: number): string {
  let s = "";
  for (let i = 0; i < bytes.length && bits > 0; i++, bits -= 8) {
    const b = bits >= 8 ? bytes[i] : bytes[i] & (0xff << (8 - bits));
    s += b.toString(16).padStart(2, "0");
  }
  return s;
}

/**
 * IP ranges of one family sorted by their first address, with the largest last address of each prefix of that order:
 * an address lies in some range when the last range starting at or before it has a prefix maximum at or after it
 * (one binary search). Addresses are compared as fixed-length hex strings.
 */
interface RangeIndex {
  mins: string[];
  maxUpTo: string[];
}

/** A range's ends as {@link hexKey}s. */
interface KeyedRange {
  family: 4 | 6;
  min: string;
  max: string;
}

function buildRangeIndex(keyed: KeyedRange[]): RangeIndex {
  keyed.sort((a, b) => (a.min < b.min ? -1 : a.min > b.min ? 1 : 0));
  const mins: string[] = [], maxUpTo: string[] = [];
  let top = "";
  for (const r of keyed) {
    if (r.max > top) top = r.max;
    mins.push(r.min);
    maxUpTo.push(top);
  }
  return { mins, maxUpTo };
}

function inRanges(index: RangeIndex, key: string): boolean {
  let lo = 0, hi = index.mins.length - 1, at = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (index.mins[mid] <= key) {
      at = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return at >= 0 && index.maxUpTo[at] >= key;
}

function hexKey(bytes: Uint8Array): string {
  return maskKey(bytes, bytes.length * 8);
}

/**
 * A set of patterns matched against `host[:port]` addresses. Exact IPs and domains are looked up in a map, CIDRs
 * by one set per prefix length, ranges by a binary search over them sorted (all fast for long lists), wildcards by
 * their literal suffix, then a scan of the rest. A domain matches an exact pattern, a `.domain` pattern for itself or
 * any parent, or a glob; an address without a port has port 0. {@link AddressMatcher.builder} fills one a pattern
 * at a time.
 * @example
 * const m = new AddressMatcher(["10.0.0.0/8", ".example.org", "*.example.com:443"]);
 * m.match("www.example.org:80") // true
 * m.match("a.example.com:80") // false
 */
export class AddressMatcher {
  readonly #exact = new Map<string, (PortRange | null)[]>();
  readonly #cidrs = new Map<number, Set<string>>();
  readonly #ranges: KeyedRange[] = [];
  readonly #wildcards: { re: RegExp; ports: PortRange | null }[] = [];
  /** Globs by the labels a matching host ends with (`globSuffix`): a lookup tests only the ones its name can match. */
  readonly #wildcardsBySuffix = new Map<string, { re: RegExp; ports: PortRange | null }[]>();
  /** The ranges of each family, indexed once all patterns are in. */
  readonly #rangeIndex = new Map<4 | 6, RangeIndex>();
  #size = 0;

  /**
   * @param patterns the matcher strings, or already compiled patterns
   * @throws {ConfigError} naming the first pattern that does not parse
   */
  constructor(patterns: (string | Pattern)[]) {
    for (const raw of patterns) this.#add(raw);
    this.#seal();
  }

  /**
   * A matcher filled one pattern at a time (as a data file's lines are parsed, so that no list of patterns is kept
   * meanwhile); `finish()` indexes it and hands it over.
   * @example const b = AddressMatcher.builder(); b.add("10.0.0.0/8"); const m = b.finish();
   */
  static builder(): { add(p: string | Pattern): void; finish(): AddressMatcher } {
    const m = new AddressMatcher([]);
    return {
      add: (p) => m.#add(p),
      finish: () => {
        m.#seal();
        return m;
      },
    };
  }

  /** The number of patterns. */
  get size(): number {
    return this.#size;
  }

  #seal(): void {
    for (const family of [4, 6] as const) {
      const of = this.#ranges.filter((r) => r.family === family);
      if (of.length) this.#rangeIndex.set(family, buildRangeIndex(of));
    }
    this.#ranges.length = 0; // indexed: the list is not needed any more
  }

  #add(raw: string | Pattern): void {
    const p = typeof raw === "string" ? compilePattern(raw) : raw;
    this.#size++;
    switch (p.kind) {
      case "ip":
      case "domain": {
        const list = this.#exact.get(p.key) ?? [];
        list.push(p.ports);
        this.#exact.set(p.key, list);
        break;
      }
      case "cidr": {
        const k = p.ip.family * 1000 + p.bits;
        if (!this.#cidrs.has(k)) this.#cidrs.set(k, new Set());
        this.#cidrs.get(k)!.add(maskKey(p.ip.bytes, p.bits));
        break;
      }
      case "range":
        this.#ranges.push({ family: p.min.family, min: hexKey(p.min.bytes), max: hexKey(p.max.bytes) });
        break;
      case "wildcard": {
        if (!p.suffix) {
          this.#wildcards.push(p);
          break;
        }
        const list = this.#wildcardsBySuffix.get(p.suffix) ?? [];
        list.push(p);
        this.#wildcardsBySuffix.set(p.suffix, list);
      }
    }
  }

  /**
   * Tells whether an IP (split already: `host` is its canonical form, {@link formatIP}) matches an IP (with any
   * port), CIDR or range pattern; globs are not tried (admission has none).
   * @example new AddressMatcher(["10.0.0.0/8"]).matchIP(parseIP("10.1.2.3")!, "10.1.2.3") // true
   */
  matchIP(ip: IP, host: string): boolean {
    return this.#size > 0 && (this.#exactHit(host, 0) || this.#inNets(ip));
  }

  #inNets(ip: IP): boolean {
    for (const [k, set] of this.#cidrs) {
      if (Math.floor(k / 1000) === ip.family && set.has(maskKey(ip.bytes, k % 1000))) return true;
    }
    const ranges = this.#rangeIndex.get(ip.family);
    return !!ranges && inRanges(ranges, hexKey(ip.bytes));
  }

  #exactHit(key: string, port: number): boolean {
    const list = this.#exact.get(key);
    return !!list && list.some((r) => r === null || r.contains(port));
  }

  /**
   * Tells whether `addr` (`host:port`, `[v6]:port` or a bare host) matches any pattern.
   * @example new AddressMatcher(["192.168.1.1:80"]).match("192.168.1.1:80") // true
   */
  match(addr: string): boolean {
    if (this.#size === 0 || addr === "") return false;
    const { host, port, ip } = splitAddr(addr);
    if (this.#exactHit(host, port)) return true;
    if (ip) {
      if (this.#inNets(ip)) return true;
    } else {
      if (this.#exactHit("." + host, port)) return true;
      for (let i = host.indexOf("."); i >= 0; i = host.indexOf(".", i + 1)) {
        if (i > 0 && this.#exactHit(host.slice(i), port)) return true;
      }
    }
    const test = (w: { re: RegExp; ports: PortRange | null }) =>
      w.re.test(host) && (w.ports === null || w.ports.contains(port));
    if (this.#wildcardsBySuffix.size) {
      for (let i = host.indexOf("."); i >= 0; i = host.indexOf(".", i + 1)) {
        const list = this.#wildcardsBySuffix.get(host.slice(i + 1));
        if (list?.some(test)) return true;
      }
    }
    return this.#wildcards.some(test);
  }
}
