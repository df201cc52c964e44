// Module state check (issue 11, "No hidden globals"): every top-level mutable binding of core/, handlers/ and
// listeners/ (a `let`/`var`, or a `const` holding an empty Map, Set, WeakMap, WeakSet or a pool) must be listed in
// docs/architecture.md, section "Module state", with its reason; a listed binding that no longer exists fails too.
// Run by `deno task layers` (check.ts).
import { stripComments } from "./check.ts";

/** One top-level mutable binding found in a source file. */
export interface StateBinding {
  readonly file: string;
  readonly name: string;
  readonly line: number;
}

const LET = /^(?:export\s+)?(?:let|var)\s+([\w$]+)/;
// an empty collection (a filled one is a lookup table), or anything called a pool, or an array of pools
const COLLECTION =
  /^(?:export\s+)?const\s+([\w$]+)(?:\s*:[^=]+)?\s*=\s*(?:new\s+(?:Map|Set|WeakMap|WeakSet)\b(?:<.*>)?\s*\(\s*\)\s*;?\s*$|.*\bnew\s+\w*Pool\b)/;

/** The top-level mutable bindings of one source file (column-0 declarations, comments ignored). */
export function findModuleState(file: string, source: string): StateBinding[] {
  const out: StateBinding[] = [];
  stripComments(source).split("\n").forEach((text, i) => {
    const m = LET.exec(text) ?? COLLECTION.exec(text);
    if (m) out.push({ file, name: m[1], line: i + 1 });
  });
  return out;
}

/** One row of the documented list: a file and the bindings it may hold. */
export interface StateEntry {
  readonly file: string;
  readonly names: readonly string[];
}

/**
 * Reads the table under "## Module state" in docs/architecture.md: rows whose first cell is a backquoted path and
 * whose second cell lists backquoted binding names.
 */
export function parseStateList(markdown: string): StateEntry[] {
  const start = markdown.indexOf("\n## Module state");
  if (start < 0) return [];
  const end = markdown.indexOf("\n## ", start + 1);
  const section = markdown.slice(start, end < 0 ? undefined : end);
  const out: StateEntry[] = [];
  for (const row of section.split("\n")) {
    const cells = row.split("|").map((c) => c.trim());
    const file = /^`([^`]+\.ts)`$/.exec(cells[1] ?? "")?.[1];
    if (!file) continue;
    const names = [...(cells[2] ?? "").matchAll(/`([\w$]+)`/g)].map((m) => m[1]);
    out.push({ file, names });
  }
  return out;
}

/** What the comparison found: bindings nobody listed, and listed names that no file declares. */
export interface StateReport {
  readonly unlisted: StateBinding[];
  readonly stale: { file: string; name: string }[];
}

/** Compares the bindings found with the documented list. */
export function compareState(found: readonly StateBinding[], listed: readonly StateEntry[]): StateReport {
  const allowed = new Set(listed.flatMap((e) => e.names.map((n) => `${e.file}#${n}`)));
  const seen = new Set(found.map((b) => `${b.file}#${b.name}`));
  return {
    unlisted: found.filter((b) => !allowed.has(`${b.file}#${b.name}`)),
    stale: listed.flatMap((e) =>
      e.names.filter((n) => !seen.has(`${e.file}#${n}`)).map((name) => ({ file: e.file, name }))
    ),
  };
}

/** The report's lines for `deno task layers`, empty when it is clean. */
export function formatStateReport(r: StateReport): string[] {
  const lines: string[] = [];
  if (r.unlisted.length) {
    lines.push(`module state not listed in docs/architecture.md ("Module state"): ${r.unlisted.length}`);
    for (const b of r.unlisted) lines.push(`  ${b.file}:${b.line} ${b.name}`);
  }
  if (r.stale.length) {
    lines.push(`listed module state that no file declares: ${r.stale.length}`);
    for (const s of r.stale) lines.push(`  ${s.file} ${s.name}`);
  }
  return lines;
}
