/**
 * A hop's nodes from a file (`hops: [{name, file: {path}, reload}]`, README.md, "Data sources: file and reload"): as
 * GOST reads it, the file is a JSON list of node configs, in the config's own keys (`name`, `addr`, `connector`,
 * `dialer`, `metadata`, …). The nodes are merged after the hop's inline `nodes`; a node that does not build is warned
 * about naming the file and the line it starts on, and the others apply.
 * @module
 */
import { errorMessage } from "../errors.ts";
import type { ChainNode } from "../routing/chain.ts";
import { FileSource, type LineProblem } from "../routing/file_source.ts";
import type { Logger } from "../log.ts";
import type { NodeConfig } from "./types.ts";

/**
 * The 1-based line each element of a top-level JSON array starts on (the text is valid JSON).
 * @example elementLines('[\n {"addr": ":1"},\n {"addr": ":2"}\n]') // [2, 3]
 */
export function elementLines(text: string): number[] {
  const out: number[] = [];
  let depth = 0, line = 1, inString = false, expectValue = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\n") line++;
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r" || c === "\n") continue;
    if (depth === 1 && expectValue && c !== "]") {
      out.push(line);
      expectValue = false;
    }
    if (c === '"') inString = true;
    else if (c === "[" || c === "{") {
      depth++;
      if (depth === 1) expectValue = true;
    } else if (c === "]" || c === "}") depth--;
    else if (c === "," && depth === 1) expectValue = true;
  }
  return out;
}

/** A node config of a node file, with the line it starts on. */
export interface NodeFileEntry {
  /** The node's config. */
  cfg: NodeConfig;
  /** Its index in the list. */
  index: number;
  /** The 1-based line it starts on. */
  line: number;
}

/**
 * Parses a node file's text: a JSON list of node configs.
 * @throws {Error} when the text is not JSON or not a list (no node of it can apply)
 * @example parseNodeList('[{"name": "n1", "addr": "127.0.0.1:8080"}]') // { entries: [{ cfg: {...}, index: 0, line: 1 }], problems: [] }
 */
export function parseNodeList(text: string): { entries: NodeFileEntry[]; problems: LineProblem[] } {
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch (err) {
    throw new Error(`not a JSON list of nodes: ${errorMessage(err)}`);
  }
  if (!Array.isArray(list)) throw new Error(`not a JSON list of nodes: got ${typeof list}`);
  const lines = elementLines(text);
  const entries: NodeFileEntry[] = [];
  const problems: LineProblem[] = [];
  list.forEach((v, index) => {
    const line = lines[index] ?? 1;
    if (v === null) return; // GOST skips null entries
    if (typeof v !== "object" || Array.isArray(v)) {
      problems.push({ line, message: `node ${index}: expected a node config object, got ${JSON.stringify(v)}` });
    } else if (typeof (v as NodeConfig).addr !== "string" || !(v as NodeConfig).addr) {
      problems.push({ line, message: `node ${index}: addr is required` });
    } else entries.push({ cfg: v as NodeConfig, index, line });
  });
  return { entries, problems };
}

/** Options of {@link openNodeFile}. */
export interface NodeFileOptions {
  /** The hop's name, for messages. */
  hop: string;
  /** The file. */
  path: string;
  /** Re-read period in ms; 0 reads once. */
  reloadMs: number;
  logger: Logger;
  /** Builds one node of the file (its errors become warnings naming its line). */
  build: (cfg: NodeConfig, index: number) => Promise<ChainNode>;
}

/**
 * Reads a hop's node file and starts its reload timer; the source's value is the file's nodes. A reload that finds
 * no JSON list keeps the last nodes.
 * @throws {Error} when the file cannot be read at start or is not a JSON list
 */
export function openNodeFile(opts: NodeFileOptions): Promise<FileSource<ChainNode[]>> {
  return FileSource.open<ChainNode[]>({
    owner: `hop ${opts.hop}`,
    kind: "hop",
    path: opts.path,
    unit: "node(s)",
    reloadMs: opts.reloadMs,
    logger: opts.logger,
    parse: async (text) => {
      const parsed = parseNodeList(text);
      const problems = [...parsed.problems];
      const nodes: ChainNode[] = [];
      for (const e of parsed.entries) {
        try {
          nodes.push(await opts.build({ name: e.cfg.name || `${opts.hop}-file-${e.index}`, ...e.cfg }, e.index));
        } catch (err) {
          problems.push({ line: e.line, message: `node ${e.cfg.name ?? e.index}: ${errorMessage(err)}` });
        }
      }
      problems.sort((a, b) => a.line - b.line);
      return { value: nodes, count: nodes.length, problems };
    },
  });
}
