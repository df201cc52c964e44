/**
 * Free-form options of every component (`metadata:` in the config, query keys on the CLI), with GOST's rules:
 * keys are case-insensitive, getters accept alias keys, durations accept `"500ms" | "15s" | "2m"` or bare seconds.
 * Unlike GOST, a value that does not parse is an error naming the key, never a silent zero.
 * @module
 */
import { ConfigError } from "./errors.ts";

/** Raw metadata as it comes from YAML/JSON/URL queries. */
export type MetadataRecord = Record<string, unknown>;

const durationUnits: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parses a Go duration (`1h2m3.5s`, `500ms`) or a bare number of seconds into milliseconds.
 * @throws {ConfigError} naming `key` when the value does not parse
 * @example parseDuration("1m30s") // 90000
 */
export function parseDuration(value: unknown, key = "duration"): number {
  if (typeof value === "number" && Number.isFinite(value)) return value * 1000;
  const s = String(value).trim();
  if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let sign = 1, i = 0, total = 0;
  if (s.startsWith("-")) {
    sign = -1;
    i = 1;
  }
  if (i >= s.length) throw new ConfigError(`Cannot parse "${key}" as a duration: "${s}"`);
  while (i < s.length) {
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m) throw new ConfigError(`Cannot parse "${key}" as a duration: "${s}"`);
    total += Number(m[1]) * durationUnits[m[2]];
    i = re.lastIndex;
  }
  return sign * total;
}

/**
 * Case-insensitive metadata with typed getters. Each getter takes the preferred key first, then aliases.
 * @example
 * const md = new Metadata({ readTimeout: "5s", UDP: "true" });
 * md.duration(["readTimeout", "timeout"], 15_000); // 5000
 * md.bool("udp"); // true
 */
export class Metadata {
  readonly #map = new Map<string, unknown>();
  /** Every key (lower case) a getter, `has` or `find` was asked for: what the owner reads. */
  readonly #asked = new Set<string>();

  /** Metadata over `record`; keys are matched case-insensitively. */
  constructor(record: MetadataRecord = {}) {
    for (const [k, v] of Object.entries(record)) this.#map.set(k.toLowerCase(), v);
  }

  /** Tells whether any of the keys is set. */
  has(...keys: string[]): boolean {
    for (const k of keys) this.#asked.add(k.toLowerCase());
    return keys.some((k) => this.#map.has(k.toLowerCase()));
  }

  /**
   * Tells whether the key (any case) was asked for by a getter, `has` or `find`: whether whoever holds this
   * metadata reads that key.
   * @example const md = new Metadata({ a: 1 }); md.int("A"); md.asked("a") // true
   */
  asked(key: string): boolean {
    return this.#asked.has(key.toLowerCase());
  }

  /** The keys that are set, in lower case, with their values. */
  entries(): [string, unknown][] {
    return [...this.#map];
  }

  /** The raw value of the first key set, with the key that matched. */
  find(keys: string | string[]): [string, unknown] | undefined {
    const list = typeof keys === "string" ? [keys] : keys;
    for (const k of list) this.#asked.add(k.toLowerCase());
    for (const k of list) {
      const lk = k.toLowerCase();
      if (this.#map.has(lk)) return [k, this.#map.get(lk)];
    }
    return undefined;
  }

  /**
   * Refuses GOST keys the owner does not act on: the first one set throws, naming it, its value and why.
   * @param refused each refused key (any spelling in one entry: `["probeResistance", "probe_resist"]`) and the reason
   * @throws {ConfigError} `<owner>: <key>=<value> is not supported by gost.ts yet: <reason>`
   * @example md.refuse("handler http", [[["udp"], "UDP over the HTTP proxy is not implemented"]])
   */
  refuse(owner: string, refused: readonly (readonly [readonly string[], string])[]): void {
    for (const [keys, why] of refused) {
      const hit = this.find([...keys]);
      if (!hit || hit[1] === undefined || hit[1] === null || hit[1] === "" || hit[1] === false || hit[1] === "false") {
        continue;
      }
      throw new ConfigError(
        `${owner}: ${hit[0]}=${JSON.stringify(hit[1])?.slice(0, 100)} is not supported by gost.ts yet: ${why}`,
      );
    }
  }

  /** Sets a value (used when composing metadata). */
  set(key: string, value: unknown): void {
    this.#map.set(key.toLowerCase(), value);
  }

  /** A string value, or `def`. */
  string(keys: string | string[], def = ""): string {
    const f = this.find(keys);
    if (!f || f[1] === null || f[1] === undefined) return def;
    return typeof f[1] === "object" ? JSON.stringify(f[1]) : String(f[1]);
  }

  /** A boolean from `true/false/1/0/yes/no/on/off`, or `def`. @throws {ConfigError} on other values */
  bool(keys: string | string[], def = false): boolean {
    const f = this.find(keys);
    if (!f || f[1] === null || f[1] === undefined || f[1] === "") return def;
    if (typeof f[1] === "boolean") return f[1];
    const s = String(f[1]).toLowerCase();
    if (["true", "1", "yes", "on"].includes(s)) return true;
    if (["false", "0", "no", "off"].includes(s)) return false;
    throw new ConfigError(`Cannot parse "${f[0]}" as a boolean: "${f[1]}"`);
  }

  /** An integer, or `def`. @throws {ConfigError} on a non-integer or a value outside [min, max] */
  int(keys: string | string[], def = 0, min = -Infinity, max = Infinity): number {
    const f = this.find(keys);
    if (!f || f[1] === null || f[1] === undefined || f[1] === "") return def;
    const n = typeof f[1] === "number" ? f[1] : Number(String(f[1]).trim());
    if (!Number.isInteger(n)) throw new ConfigError(`Cannot parse "${f[0]}" as an integer: "${f[1]}"`);
    if (n < min || n > max) throw new ConfigError(`"${f[0]}" must be between ${min} and ${max}, got ${n}`);
    return n;
  }

  /** A duration in milliseconds, or `defMs`. @throws {ConfigError} on a value that does not parse */
  duration(keys: string | string[], defMs = 0): number {
    const f = this.find(keys);
    if (!f || f[1] === null || f[1] === undefined || f[1] === "") return defMs;
    return parseDuration(f[1], f[0]);
  }

  /** A list of strings from a YAML/JSON list or a comma-separated string. */
  strings(keys: string | string[]): string[] {
    const f = this.find(keys);
    if (!f || f[1] === null || f[1] === undefined || f[1] === "") return [];
    if (Array.isArray(f[1])) return f[1].map(String);
    return String(f[1]).split(",").map((s) => s.trim()).filter(Boolean);
  }

  /** A plain record copy (original key case is not kept). */
  toRecord(): MetadataRecord {
    return Object.fromEntries(this.#map);
  }
}
