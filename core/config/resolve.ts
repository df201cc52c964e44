/**
 * Assembles the effective config of one process: `-C` sources merged left to right, then the `-L/-F` config,
 * then `-api`/`-metrics`, environment overrides and `-D/-DD`; with nothing given, GOST's default search paths;
 * with nothing found either, the embedded default (an `auto` proxy on 127.0.0.1:8080).
 * @module
 */
import { envIfAllowed } from "../permissions.ts";
import { ConfigError } from "../errors.ts";
import type { Flags } from "./flags.ts";
import { buildConfigFromCmd, type KnownTypes } from "./from_cli.ts";
import { type ConfigSource, type LoadedConfig, loadSource, mergeConfigs, parseConfig } from "./load.ts";
import { parseNodeUrl } from "./node_url.ts";
import { refusedTopLevel } from "./refused_fields.ts";
import type { Config } from "./types.ts";

/** The embedded default config `deno task start` runs with no arguments. */
export const EMBEDDED_DEFAULT = `services:
  - name: service-0
    addr: 127.0.0.1:8080
    handler:
      type: auto
    listener:
      type: tcp
`;

/** The effective config and where it came from. */
export interface ResolvedConfig {
  /** The merged config, flags applied. */
  config: Config;
  /** Maps `services.N` (merged index) to its source and index there, for error lines. */
  origins: Map<string, [ConfigSource, number]>;
  /** The first `-C` file (the API saves there), if any. */
  configFile?: string;
  /** True when the embedded default is used. */
  embeddedDefault: boolean;
  /** Files found on GOST's search path (when no source was given). */
  searchedFile?: string;
  /** Unknown top-level keys per source, for warnings. */
  warnings: string[];
}

/**
 * Parses `-api`/`-metrics` values: `[user:pass@]host:port[?key=value]` (`pathPrefix`, `accesslog`, `allowOrigins` for
 * the API, `path` for the metrics, and the server bounds `readTimeout`, `writeTimeout`, `idleTimeout`, `maxConns`).
 */
export function parseServerFlag(value: string, pathKey: "pathPrefix" | "path"): Record<string, unknown> {
  if (value.startsWith("unix://")) return { addr: value };
  const url = parseNodeUrl(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `x://${value}`);
  const out: Record<string, unknown> = { addr: url.host };
  if (pathKey === "pathPrefix") {
    if (url.query.pathPrefix) out.pathPrefix = url.query.pathPrefix;
    if (url.query.accesslog) out.accesslog = /^(1|true)$/i.test(url.query.accesslog);
  } else if (url.query.path) out.path = url.query.path;
  if (pathKey === "pathPrefix" && url.query.allowOrigins) out.allowOrigins = url.query.allowOrigins;
  for (const k of ["readTimeout", "writeTimeout", "idleTimeout", "maxConns"]) if (url.query[k]) out[k] = url.query[k];
  if (url.user) out.auth = { username: url.user.username, password: url.user.password ?? "" };
  return out;
}

/** GOST's default config locations, in its order. */
export function searchPaths(home = envIfAllowed("HOME") ?? ""): string[] {
  const out: string[] = [];
  for (const dir of ["/etc/gost", home ? `${home}/.gost` : "", "."].filter(Boolean)) {
    for (const ext of ["yaml", "yml", "json"]) out.push(`${dir}/gost.${ext}`);
  }
  return out;
}

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/**
 * Resolves the effective config for parsed flags.
 * @param env environment lookup (`GOST_LOGGER_LEVEL`, `GOST_API`, `GOST_METRICS`)
 * @throws {ConfigError} naming the source, path and line of the first problem
 */
export async function resolveConfig(
  flags: Flags,
  known: KnownTypes,
  env: (k: string) => string | undefined = envIfAllowed,
): Promise<ResolvedConfig> {
  const parts: LoadedConfig[] = [];
  for (const spec of flags.configs) parts.push(await loadSource(spec));
  const nothingGiven = !flags.configs.length && !flags.services.length && !flags.api && !env("GOST_API");
  let searchedFile: string | undefined;
  let embeddedDefault = false;
  if (nothingGiven) {
    searchedFile = searchPaths().find(exists);
    if (searchedFile) parts.push(await loadSource(searchedFile));
    else {
      parts.push(await parseConfig(EMBEDDED_DEFAULT, "embedded default"));
      embeddedDefault = true;
    }
  }
  const { config, origins } = mergeConfigs(parts);
  const cmd = buildConfigFromCmd(flags.services, flags.nodes, known);
  for (const [k, v] of Object.entries(cmd)) {
    const list = ((config as Record<string, unknown[]>)[k] ??= []);
    list.push(...(v as unknown[]));
  }
  const api = flags.api || env("GOST_API");
  if (api) config.api = parseServerFlag(api, "pathPrefix");
  const metrics = flags.metrics || env("GOST_METRICS");
  if (metrics) config.metrics = parseServerFlag(metrics, "path");
  const envLevel = env("GOST_LOGGER_LEVEL");
  if (envLevel) config.log = { ...config.log, level: envLevel };
  if (flags.debug) config.log = { ...config.log, level: "debug" };
  if (flags.trace) config.log = { ...config.log, level: "trace" };
  const names = new Set<string>();
  for (const [i, s] of (config.services ?? []).entries()) {
    if (names.has(s.name)) {
      throw new ConfigError(`services[${i}].name: duplicate service name "${s.name}"`);
    }
    names.add(s.name);
  }
  const refused = refusedTopLevel(config);
  if (refused) throw new ConfigError(`${refused.path.join(".")}: ${refused.message}`);
  const warnings = parts.flatMap((p) =>
    p.unknownKeys.map((k) => `${p.source.name}: unknown top-level key "${k}" ignored`)
  );
  const configFile = flags.configs.find((c) => c !== "-" && !c.trimStart().startsWith("{") && !/^https?:/i.test(c)) ??
    searchedFile;
  return { config, origins, configFile, embeddedDefault, searchedFile, warnings };
}
