/**
 * Listen-address parsing shared by listeners: `:8080` binds every interface, `[::1]:80` an IPv6 one.
 * @module
 */
import { splitHostPort } from "../core/conn.ts";
import { ConfigError } from "../core/errors.ts";

/** Parses a service `addr` into what `Deno.listen` takes. @throws {ConfigError} on a bad address */
export function parseListenAddr(addr: string): { hostname: string; port: number } {
  try {
    const { host, port } = splitHostPort(addr);
    return { hostname: host || "0.0.0.0", port };
  } catch {
    throw new ConfigError(`Invalid listen address "${addr}": expected [host]:port`);
  }
}
