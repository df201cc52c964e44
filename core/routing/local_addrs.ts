/**
 * This process's own listening addresses, as the router's guards see them: the services (from the registries) and
 * the endpoints that are not services (the Web API and metrics servers, set by the process), and whether an IP
 * reaches one of them (a wildcard bind is reached through loopback and every interface IP).
 * @module
 */
import { canonicalHost } from "./canonical_host.ts";

/** A listening endpoint of this process: a service, or the API or metrics server. */
export interface LocalService {
  /** The service's (or server's) name. */
  readonly name: string;
  /** Its bound address, once listening. */
  readonly addr?: Deno.Addr;
  /** How messages name it (default `service <name>`). */
  readonly label?: string;
}

/** How long the interface IPs are kept before they are read again. */
const INTERFACES_TTL_MS = 5_000;
let interfaces: { at: number; ips: Set<string> } | undefined;

/** The IPs of this host's interfaces, canonical (empty when not allowed to ask); read at most every 5 s. */
export function interfaceIPs(): Set<string> {
  const now = performance.now();
  if (interfaces && now - interfaces.at < INTERFACES_TTL_MS) return interfaces.ips;
  let ips: Set<string>;
  try {
    ips = new Set(Deno.networkInterfaces().map((i) => canonicalHost(i.address).host));
  } catch {
    ips = new Set();
  }
  interfaces = { at: now, ips };
  return ips;
}

/** Tells whether a canonical IP is a loopback address (127.0.0.0/8, ::1). */
export function isLoopbackIP(ip: string): boolean {
  return ip.startsWith("127.") || ip === "::1";
}

/** Tells whether a canonical IP reaches this host: loopback, a wildcard (`0.0.0.0`, `::`) or an interface IP. */
export function isLocalIP(ip: string): boolean {
  return isLoopbackIP(ip) || ip === "0.0.0.0" || ip === "::" || interfaceIPs().has(ip);
}

/**
 * The services listening on `port` for `transport`, each with its address. The port is compared first: most targets
 * are no service's, and need no parsing. A service whose listener is gone (its address throws) is skipped.
 */
export function* onPort<T extends LocalService>(
  services: Iterable<T>,
  port: number,
  transport: "tcp" | "udp" = "tcp",
): Generator<[T, Deno.NetAddr]> {
  for (const svc of services) {
    let a: Deno.Addr | undefined;
    try {
      a = svc.addr;
    } catch {
      continue;
    }
    if (a?.transport === transport && a.port === port) yield [svc, a];
  }
}

/**
 * The endpoint of `services` that listens on `host:port` (an IP in any spelling) for `transport`, if any: the same
 * IP, or a wildcard address (`0.0.0.0` for IPv4, `::` for both) and a loopback or interface IP.
 * @example findLocalService(reg.services.values(), "127.1", 8080) // the service on :8080, if any
 */
export function findLocalService<T extends LocalService>(
  services: Iterable<T>,
  host: string,
  port: number,
  transport: "tcp" | "udp" = "tcp",
): T | undefined {
  let h: string | undefined;
  for (const [svc, a] of onPort(services, port, transport)) {
    if (h === undefined) {
      const target = canonicalHost(host);
      if (!target.ip) return undefined;
      h = target.alias ?? target.host;
    }
    const l = canonicalHost(a.hostname).host;
    if (l === h) return svc;
    if (l !== "" && l !== "0.0.0.0" && l !== "::") continue;
    if (l === "0.0.0.0" && h.includes(":")) continue;
    if (isLoopbackIP(h) || interfaceIPs().has(h)) return svc;
  }
  return undefined;
}

/** The part of the process' registries (`Registries` of `core/registries.ts`) that holds its services. */
export interface ServiceRegistries {
  readonly services: { values(): readonly LocalService[] };
  /** The process's endpoints that are not services, when it set them (`ProcessSlots` of `process_slots.ts`). */
  readonly process?: { readonly endpoints?: () => Iterable<LocalService> };
}

/**
 * Every listening endpoint of the process that `reg` belongs to: its services, then its other endpoints.
 * @example findLocalService(processEndpoints(reg), "127.0.0.1", 18080)?.label // "the Web API"
 */
export function processEndpoints(reg: ServiceRegistries): LocalService[] {
  return [...reg.services.values(), ...(reg.process?.endpoints?.() ?? [])];
}
