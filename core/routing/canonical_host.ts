/**
 * One canonical spelling of a target host, so that what a rule matches is what gets dialed (README.md,
 * "Security"). The system resolver reads numeric hosts as `inet_aton` does: `127.1`,
 * `2130706433`, `0x7f000001`, `0x7f.0.0.1` and `0177.0.0.1` are all 127.0.0.1; this module reads them the same way
 * and writes the dotted quad. IPv6 is written in RFC 5952 form, an IPv4-mapped IPv6 address as its IPv4; brackets,
 * a trailing dot and case are dropped from names. `0.0.0.0` and `::` connect to this host on Linux: they are
 * dialed (and matched, besides their own spelling) as 127.0.0.1 and ::1.
 * @module
 */
import { formatIP, type IP, parseAnyIP } from "./matcher.ts";

/** A host in the one form rules match and the router dials. */
export interface CanonicalHost {
  /** What rules match: the canonical IP, or the name in lowercase without brackets and trailing dot. */
  readonly host: string;
  /** The address when the host is an IP. */
  readonly ip: IP | null;
  /**
   * What is dialed: `host`, except for this host's wildcard addresses (`0.0.0.0` → `127.0.0.1`, `::` → `::1`) and
   * an IPv6 zone, which is kept (`fe80::1%eth0`).
   */
  readonly dial: string;
  /** The loopback address a wildcard host reaches (matched besides `host`), else undefined. */
  readonly alias?: string;
}

/**
 * Canonicalises a target host (see the module comment).
 * @param raw a host as a client sent it (`127.1`, `[::ffff:127.0.0.1]`, `LOCALHOST.`)
 * @example canonicalHost("0x7f.1").host // "127.0.0.1"
 * @example canonicalHost("0.0.0.0") // { host: "0.0.0.0", dial: "127.0.0.1", alias: "127.0.0.1", ip }
 */
export function canonicalHost(raw: string): CanonicalHost {
  let h = raw.length > 1 && raw[0] === "[" && raw[raw.length - 1] === "]" ? raw.slice(1, -1) : raw;
  if (h.length > 1 && h.endsWith(".")) h = h.slice(0, -1);
  h = h.toLowerCase();
  const ip = parseAnyIP(h);
  if (!ip) return { host: h, ip: null, dial: h };
  const host = formatIP(ip);
  const zone = ip.family === 6 ? h.indexOf("%") : -1;
  const alias = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : undefined;
  return { host, ip, dial: alias ?? (zone >= 0 ? host + h.slice(zone) : host), alias };
}
