/**
 * The system resolver (`getaddrinfo`: /etc/hosts, then DNS, as `Deno.connect` itself would resolve a name), asked
 * once per direct dial so that the router matches its rules on the addresses it then dials, with no second lookup
 * in between (no DNS rebinding gap). `Deno.resolveDns` does not read /etc/hosts; `node:dns` `lookup` does, and
 * costs about 0.06 ms for a name in /etc/hosts.
 * @module
 */
import { LookupError } from "../errors.ts";
import { canonicalHost } from "./canonical_host.ts";

type Lookup = typeof import("node:dns/promises").lookup;
/** `node:dns` is loaded on the first name a direct dial resolves: a process that only dials IPs never loads it. */
let loaded: Promise<Lookup> | undefined;

/**
 * Resolves `host` to its addresses in the resolver's order (RFC 6724 as configured in gai.conf), canonical.
 * @param family 4 or 6 for one family, 0 for both
 * @returns the addresses; undefined when Deno's permissions do not let this process resolve the name (an
 *   `--allow-net` list of names: Deno then checks each dial against that list itself)
 * @throws {LookupError} naming the host when it does not resolve
 * @example await systemLookup("localhost") // ["127.0.0.1"] (or ["::1", "127.0.0.1"])
 */
export async function systemLookup(host: string, family: 0 | 4 | 6 = 0): Promise<string[] | undefined> {
  let found: { address: string }[];
  try {
    const lookup = await (loaded ??= import("node:dns/promises").then((m) => m.lookup));
    found = await lookup(host, { all: true, verbatim: true, family });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "EPERM" || err instanceof Deno.errors.NotCapable) return undefined;
    // worded as Deno.connect words it; a LookupError, so handlers answer their protocol's host-unreachable code
    const why = code === "ENOTFOUND" ? "name or service not known" : (err as Error).message ?? String(err);
    throw new LookupError(`failed to lookup address information for ${host}: ${why}`, { cause: err });
  }
  const ips = [...new Set(found.map((a) => canonicalHost(a.address).host))];
  if (!ips.length) throw new LookupError(`failed to lookup address information for ${host}: no addresses`);
  return ips;
}
