/**
 * GOST's `header` metadata (a map of header names to values, as the ws/wss transports and the http handler read it)
 * as header lines.
 * @module
 */
import { ConfigError } from "../errors.ts";
import type { Metadata } from "../metadata.ts";
import { BAD_VALUE, TOKEN } from "./head.ts";

/**
 * Reads the first of `keys` that is set as a header map; unset, null or "" is none.
 * @returns the headers in the map's order, names as written
 * @throws {ConfigError} naming the key when the value is not a map, or a name or value is not a valid header
 * @example parseHeaderMap(new Metadata({ header: { "X-A": "1" } }), ["http.header", "header"]) // [["X-A", "1"]]
 */
export function parseHeaderMap(md: Metadata, keys: string[]): [string, string][] {
  const found = md.find(keys);
  if (!found || found[1] === null || found[1] === undefined || found[1] === "") return [];
  const [key, raw] = found;
  if (typeof raw !== "object" || Array.isArray(raw)) {
    throw new ConfigError(`Cannot parse "${key}" as a header map: ${JSON.stringify(raw)}`);
  }
  return Object.entries(raw as Record<string, unknown>).map(([name, v]) => {
    const value = String(v);
    if (!TOKEN.test(name) || BAD_VALUE.test(value)) {
      throw new ConfigError(`Invalid header in "${key}": ${JSON.stringify(name)}: ${JSON.stringify(value)}`);
    }
    return [name, value];
  });
}
