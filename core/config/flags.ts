/**
 * Command-line flags with Go `flag` semantics, as GOST parses them: `-L x` or `-L=x` (also with `--`), repeatable
 * `-L/-F/-C`, booleans `-D`, `-DD`, `-V` (`-D=false` allowed), parsing stops at the first non-flag argument, and an
 * unknown flag is `flag provided but not defined: -x`.
 * @module
 */
import { ConfigError } from "../errors.ts";

/** The parsed flags. */
export interface Flags {
  /** `-L` URLs, in order. */
  services: string[];
  /** `-F` URLs, in order (one hop each). */
  nodes: string[];
  /** `-C` sources, in order. */
  configs: string[];
  /** `-O`: `yaml`, `json`, or empty. */
  output: string;
  /** `-D`: debug logging. */
  debug: boolean;
  /** `-DD`: trace logging. */
  trace: boolean;
  /** `-V`: print the version. */
  version: boolean;
  /** `-api` address, or empty. */
  api: string;
  /** `-metrics` address, or empty. */
  metrics: string;
  /** `-h`: print the usage. */
  help: boolean;
}

/** A usage error (exit code 2, as Go's flag package). */
export class FlagError extends ConfigError {}

const LISTS = { L: "services", F: "nodes", C: "configs" } as const;
const STRINGS = { O: "output", api: "api", metrics: "metrics" } as const;
const BOOLS = { D: "debug", DD: "trace", V: "version" } as const;

/** The usage text, in the shape of Go's flag package. */
export const USAGE = `Usage of gost:
  -C value
    	configuration file (repeatable; - for stdin, inline JSON or http(s) URL)
  -D	log level debug
  -DD
    	log level trace
  -F value
    	forward address, can make a forward chain (repeatable)
  -L value
    	listen address, can listen on multiple ports (repeatable)
  -O string
    	output format, one of yaml|json format
  -V	print version
  -api string
    	api service address
  -metrics string
    	metric service address
`;

/**
 * Parses argv (one process group, without `--` separators).
 * @throws {FlagError} on an unknown flag, a missing value or a bad boolean
 */
export function parseFlags(argv: string[]): Flags {
  const f: Flags = {
    services: [],
    nodes: [],
    configs: [],
    output: "",
    debug: false,
    trace: false,
    version: false,
    api: "",
    metrics: "",
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg.length < 2 || arg[0] !== "-") break;
    if (arg === "--") break;
    const body = arg.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const inline = eq >= 0 ? body.slice(eq + 1) : undefined;
    if (name === "h" || name === "help") {
      f.help = true;
      continue;
    }
    if (name in BOOLS) {
      const key = BOOLS[name as keyof typeof BOOLS];
      if (inline === undefined) f[key] = true;
      else if (/^(1|t|true|TRUE|True)$/.test(inline)) f[key] = true;
      else if (/^(0|f|false|FALSE|False)$/.test(inline)) f[key] = false;
      else throw new FlagError(`invalid boolean value "${inline}" for -${name}: parse error`);
      continue;
    }
    const isList = name in LISTS;
    if (!isList && !(name in STRINGS)) throw new FlagError(`flag provided but not defined: -${name}`);
    let value = inline;
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new FlagError(`flag needs an argument: -${name}`);
      value = argv[++i];
    }
    if (isList) f[LISTS[name as keyof typeof LISTS]].push(value);
    else f[STRINGS[name as keyof typeof STRINGS]] = value;
  }
  if (f.output && f.output !== "yaml" && f.output !== "json") {
    throw new FlagError(`invalid value "${f.output}" for -O: supported are yaml, json`);
  }
  return f;
}

/** Splits argv into process groups at each bare `--`. */
export function splitGroups(argv: string[]): string[][] {
  const groups: string[][] = [[]];
  for (const a of argv) {
    if (a === "--") groups.push([]);
    else groups[groups.length - 1].push(a);
  }
  return groups;
}
