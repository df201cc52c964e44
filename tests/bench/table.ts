/**
 * The bench's result rows and the Markdown table they print as (also parsed back by the smoke test).
 * @module
 */

/** One benchmark line: our figure, the peer's, and the target. */
export interface Row {
  /** What is measured, with its unit and the peer's name. */
  name: string;
  ours: number;
  peer: number;
  /** `ratio >= value` (throughput, rate) or `ours < value` (memory, in the row's unit). */
  target: { kind: "ratio-min"; value: number } | { kind: "ours-max"; value: number; unit: string };
}

/** `ours / peer`. */
export function ratio(r: Row): number {
  return r.ours / r.peer;
}

/** Whether the row meets its target. */
export function meetsTarget(r: Row): boolean {
  return r.target.kind === "ratio-min" ? ratio(r) >= r.target.value : r.ours < r.target.value;
}

function num(x: number): string {
  if (!Number.isFinite(x)) return "n/a";
  const a = Math.abs(x);
  return x.toFixed(a >= 1000 ? 0 : a >= 100 ? 1 : a >= 0.1 || a === 0 ? 2 : 3);
}

/** The header of the results table. */
export const HEADER = ["benchmark", "ours", "peer", "ratio", "target", "ok"];

/** Formats rows as a Markdown table. */
export function formatTable(rows: Row[]): string {
  const cells = rows.map((r) => [
    r.name,
    num(r.ours),
    num(r.peer),
    num(ratio(r)),
    r.target.kind === "ratio-min" ? `ratio ≥ ${r.target.value}` : `ours < ${r.target.value} ${r.target.unit}`,
    meetsTarget(r) ? "yes" : "NO",
  ]);
  return markdown([HEADER, ...cells]);
}

/** Formats a header row and data rows as a Markdown table with aligned columns (numbers right-aligned). */
export function markdown(table: string[][]): string {
  const widths = table[0].map((_, i) => Math.max(3, ...table.map((row) => [...row[i]].length)));
  const numeric = table[0].map((_, i) => table.slice(1).every((row) => /^-?[\d.]+$|^n\/a$/.test(row[i])));
  const pad = (s: string, i: number) =>
    numeric[i] ? " ".repeat(widths[i] - [...s].length) + s : s + " ".repeat(widths[i] - [...s].length);
  const line = (row: string[]) => `| ${row.map(pad).join(" | ")} |`;
  const rule = `|${widths.map((w, i) => (numeric[i] ? "-".repeat(w + 1) + ":" : "-".repeat(w + 2))).join("|")}|`;
  return [line(table[0]), rule, ...table.slice(1).map(line)].join("\n");
}

/** Parses a Markdown table printed by {@link formatTable} (or {@link markdown}) back into rows of cells. */
export function parseTable(text: string, firstHeader: string): string[][] {
  const lines = text.split("\n").map((l) => l.trim());
  const start = lines.findIndex((l) => l.startsWith("|") && l.slice(1).trim().startsWith(firstHeader));
  if (start < 0) return [];
  const rows: string[][] = [];
  for (const l of lines.slice(start + 2)) {
    if (!l.startsWith("|")) break;
    rows.push(l.slice(1, -1).split("|").map((c) => c.trim()));
  }
  return rows;
}
