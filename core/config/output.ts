/**
 * Prints a config as `-O yaml|json` does: empty fields omitted, metadata keys sorted (as Go marshals maps).
 * @module
 */
import { writeYaml } from "./yaml_writer.ts";
import type { Config } from "./types.ts";

function clean(v: unknown, sortKeys: boolean): unknown {
  if (Array.isArray(v)) return v.map((x) => clean(x, false));
  if (v && typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined && x !== null && x !== "")
      .map(([k, x]) => [k, clean(x, k === "metadata")] as const);
    if (sortKeys) entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries);
  }
  return v;
}

/**
 * Serialises a config.
 * @param format `yaml` or `json`
 * @example formatConfig({ services: [] }, "json")
 */
export function formatConfig(config: Config, format: "yaml" | "json"): string {
  const c = clean(config, false);
  return format === "json" ? JSON.stringify(c, null, 2) + "\n" : writeYaml(c);
}
