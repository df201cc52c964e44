/**
 * Listen addresses shared by listeners. `:8080` (no host) binds dual-stack as GOST does (Go listens on `[::]` for a
 * wildcard): one socket on `::` that takes IPv6 clients and IPv4 ones as IPv4-mapped addresses (Linux's default,
 * `net.ipv6.bindv6only=0`), and the service says `listening on [::]:8080`; a host without IPv6 gets `0.0.0.0`. An
 * explicit host stays as given: `0.0.0.0:8080` is IPv4 only, `[::1]:8080` IPv6 loopback only. IPv4 clients of a
 * dual-stack socket are presented as IPv4 (`127.0.0.1:40000`, as Go prints them), not `[::ffff:127.0.0.1]:40000`.
 * @module
 */
import { splitHostPort } from "../core/conn.ts";
import { ConfigError } from "../core/errors.ts";

/** The host an address without one binds: every interface, IPv6 and IPv4. */
export const DUAL_STACK_HOST = "::";

/** The host a dual-stack bind falls back to when the system has no IPv6. */
export const IPV4_ANY_HOST = "0.0.0.0";

/** A parsed listen address. */
export interface ListenAddr {
  /** What `Deno.listen` takes: the host as given, or {@link DUAL_STACK_HOST} for none. */
  hostname: string;
  /** The port (0: any). */
  port: number;
  /** True when the address named no host (`:8080`): the bind may fall back to IPv4 alone. */
  anyHost: boolean;
}

/** Parses a service `addr` into what `Deno.listen` takes. @throws {ConfigError} on a bad address */
export function parseListenAddr(addr: string): ListenAddr {
  try {
    const { host, port } = splitHostPort(addr);
    return { hostname: host || DUAL_STACK_HOST, port, anyHost: !host };
  } catch {
    throw new ConfigError(`Invalid listen address "${addr}": expected [host]:port`);
  }
}

/** Error codes of a system that cannot open an IPv6 socket (IPv6 disabled or not built in). */
const NO_IPV6 = new Set(["EAFNOSUPPORT", "EADDRNOTAVAIL", "EPROTONOSUPPORT"]);

/** Tells whether `err` says the system has no IPv6 (so `::` cannot be bound). */
export function isNoIPv6Error(err: unknown): boolean {
  if (err instanceof Deno.errors.AddrNotAvailable) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && NO_IPV6.has(code);
}

/**
 * Binds `addr` with `listen`: a dual-stack bind of an address without a host that fails because the system has no
 * IPv6 is retried on {@link IPV4_ANY_HOST}; any other failure (the port in use, …) is thrown as it is.
 * @example const ln = bindListenAddr(parseListenAddr(":8080"), (hostname, port) => Deno.listen({ hostname, port }));
 */
export function bindListenAddr<T>(addr: ListenAddr, listen: (hostname: string, port: number) => T): T {
  try {
    return listen(addr.hostname, addr.port);
  } catch (err) {
    if (!addr.anyHost || !isNoIPv6Error(err)) throw err;
    return listen(IPV4_ANY_HOST, addr.port);
  }
}

const MAPPED = "::ffff:";

/**
 * The address as Go prints it: an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, how a dual-stack socket reports
 * an IPv4 peer) as its IPv4; anything else unchanged (the same object).
 */
export function unmappedAddr<T extends Deno.Addr>(addr: T): T {
  if (addr.transport !== "tcp" && addr.transport !== "udp") return addr;
  const h = addr.hostname;
  if (!h.startsWith(MAPPED) || !/^\d{1,3}(\.\d{1,3}){3}$/.test(h.slice(MAPPED.length))) return addr;
  return { ...addr, hostname: h.slice(MAPPED.length) };
}

/**
 * Presents the addresses of a conn a dual-stack listener accepted from an IPv4 client as IPv4 (see
 * {@link unmappedAddr}). They are own properties in front of the conn's getters: no wrapper on the data path, and an
 * IPv6 client's conn is left alone.
 */
export function unmapConnAddrs<T extends { readonly remoteAddr: Deno.Addr; readonly localAddr: Deno.Addr }>(
  conn: T,
): T {
  const remote = conn.remoteAddr;
  const mapped = unmappedAddr(remote);
  if (mapped === remote) return conn;
  Object.defineProperty(conn, "remoteAddr", { value: mapped });
  Object.defineProperty(conn, "localAddr", { value: unmappedAddr(conn.localAddr) });
  return conn;
}
