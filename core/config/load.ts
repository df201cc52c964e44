/**
 * Loads config sources (files, stdin, inline JSON, http URLs) as YAML or JSON, validates them, and keeps each
 * source's document so that any error can name the path, the value and the source line. The YAML parser and the
 * schema (with zod) are loaded when the first config is parsed, not with this module (docs/architecture.md, "Module
 * loading").
 * @module
 */
import type { Document, YamlNode } from "../deps/yaml.ts";
import { ConfigError } from "../errors.ts";
import { loadSchema } from "./load_schema.ts";
import { type Config, LIST_KEYS, SINGLE_KEYS } from "./types.ts";

/** Where one config came from, kept for line lookups. */
export interface ConfigSource {
  /** File path, `-`, `inline` or URL. */
  readonly name: string;
  /**
   * The 1-based line where the value at `path` starts in the source text; when the source has no value there, the
   * line of the nearest enclosing value, or undefined when there is none.
   */
  lineOf(path: ConfigPath): number | undefined;
}

/** A validated config with its source. */
export interface LoadedConfig {
  /** The validated config. */
  config: Config;
  /** Where it came from. */
  source: ConfigSource;
  /** Top-level keys gost.ts does not know (warned about, then ignored as GOST does). */
  unknownKeys: string[];
}

/** A path into a config object: `["services", 0, "handler", "type"]`. */
export type ConfigPath = readonly (string | number)[];

/** Formats a path as `services[0].handler.type`. */
export function formatPath(path: ConfigPath): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out ? `.${p}` : p;
  return out || "(root)";
}

/** The 1-based line where `path` starts in `source` (see {@link ConfigSource.lineOf}), or undefined. */
export function lineOf(source: ConfigSource, path: ConfigPath): number | undefined {
  return source.lineOf(path);
}

/** A source over a parsed YAML/JSON document: `linePos` maps a text offset to its line (yaml's `LineCounter`). */
function documentSource(
  name: string,
  doc: Document,
  linePos: (offset: number) => { line: number },
): ConfigSource {
  return {
    name,
    lineOf(path) {
      for (let n = path.length; n >= 0; n--) {
        const node = doc.getIn(path.slice(0, n), true) as YamlNode | undefined;
        const range = (node as { range?: [number, number, number] } | undefined)?.range;
        if (range) return linePos(range[0]).line;
      }
      return undefined;
    },
  };
}

/** A config error located in a source: `FILE: services[0].handler.type at line 7: …`. */
export function locatedError(source: ConfigSource | undefined, path: ConfigPath, message: string): ConfigError {
  const line = source ? lineOf(source, path) : undefined;
  const where = `${source ? `${source.name}: ` : ""}${formatPath(path)}${line ? ` at line ${line}` : ""}`;
  return new ConfigError(`${where}: ${message}`);
}

function valueAt(obj: unknown, path: ConfigPath): unknown {
  let v = obj;
  for (const p of path) v = (v as Record<string | number, unknown> | undefined)?.[p];
  return v;
}

/**
 * Parses and validates config text (YAML or JSON). The first call loads the YAML parser and the schema.
 * @param text the config text
 * @param name the source's name for messages
 * @throws {ConfigError} naming the source, path, value and line of every problem
 */
export async function parseConfig(text: string, name: string): Promise<LoadedConfig> {
  const [{ LineCounter, parseDocument }, { ConfigSchema }] = await Promise.all([
    import("../deps/yaml.ts"),
    loadSchema(),
  ]);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const source = documentSource(name, doc, (offset) => lines.linePos(offset));
  if (doc.errors.length) {
    const e = doc.errors[0];
    const pos = e.linePos?.[0] ?? (e.pos ? lines.linePos(e.pos[0]) : undefined);
    throw new ConfigError(
      `${name}${pos ? ` at line ${pos.line}, column ${pos.col}` : ""}: ${e.message.split("\n")[0]}`,
    );
  }
  const raw = doc.toJS({ maxAliasCount: 100 }) ?? {};
  if (typeof raw !== "object" || Array.isArray(raw)) {
    throw new ConfigError(`${name}: the config must be a mapping of keys (services, chains, …)`);
  }
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const msgs = parsed.error.issues.slice(0, 10).map((issue) => {
      const path = issue.path as (string | number)[];
      const value = valueAt(raw, path);
      const shown = value === undefined ? "" : ` (got ${JSON.stringify(value)?.slice(0, 80)})`;
      return locatedError(source, path, `${issue.message}${shown}`).message;
    });
    throw new ConfigError(msgs.join("\n"));
  }
  const known = new Set<string>([...LIST_KEYS, ...SINGLE_KEYS]);
  const unknownKeys = Object.keys(raw).filter((k) => !known.has(k));
  return { config: parsed.data, source, unknownKeys };
}

const MAX_REMOTE_BYTES = 10 * 1024 * 1024;
const REMOTE_TIMEOUT_MS = 30_000;

async function readStdin(): Promise<string> {
  const chunks: Uint8Array[] = [];
  for await (const c of Deno.stdin.readable) chunks.push(c);
  return new TextDecoder().decode(await new Blob(chunks as BlobPart[]).arrayBuffer());
}

async function fetchRemote(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(REMOTE_TIMEOUT_MS) });
  if (!res.ok) throw new ConfigError(`${url}: HTTP ${res.status}`);
  const body = new Uint8Array(await res.arrayBuffer());
  if (body.length > MAX_REMOTE_BYTES) throw new ConfigError(`${url}: larger than 10 MiB`);
  return new TextDecoder().decode(body);
}

/**
 * Loads one `-C` source: a file path, `-` (stdin), inline JSON (`{…}`) or an http(s) URL.
 * @throws {ConfigError} when it cannot be read or is invalid
 */
export async function loadSource(spec: string): Promise<LoadedConfig> {
  let text: string;
  try {
    if (spec === "-") text = await readStdin();
    else if (spec.trimStart().startsWith("{")) return await parseConfig(spec, "inline");
    else if (/^https?:\/\//i.test(spec)) text = await fetchRemote(spec);
    else text = await Deno.readTextFile(spec);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const why = err instanceof Deno.errors.NotFound ? "no such file" : (err as Error).message;
    throw new ConfigError(`Cannot read config "${spec}": ${why}`);
  }
  return parseConfig(text, spec);
}

/**
 * Merges configs left to right as GOST does: lists concatenate, `tls/log/profiling/api/metrics` are replaced.
 * @returns the merged config and, per list key, the source and original index of each item
 */
export function mergeConfigs(parts: LoadedConfig[]): { config: Config; origins: Map<string, [ConfigSource, number]> } {
  const config: Record<string, unknown> = {};
  const origins = new Map<string, [ConfigSource, number]>();
  for (const part of parts) {
    const c = part.config as Record<string, unknown>;
    for (const key of LIST_KEYS) {
      const items = c[key] as unknown[] | undefined;
      if (!items?.length) continue;
      const list = (config[key] ??= []) as unknown[];
      items.forEach((item, i) => {
        origins.set(`${key}.${list.length}`, [part.source, i]);
        list.push(item);
      });
    }
    for (const key of SINGLE_KEYS) if (c[key] !== undefined) config[key] = c[key];
    for (const key of part.unknownKeys) config[key] = c[key];
  }
  return { config: config as Config, origins };
}
