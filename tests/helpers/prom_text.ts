/**
 * A strict parser of the Prometheus text exposition format 0.0.4, for tests: it rejects anything a scraper could
 * misread — bad metric or label names, bad escapes, duplicate or reserved labels, trailing commas, a TYPE after
 * samples, a family split into several groups, duplicate series, and histograms whose buckets are not sorted,
 * not cumulative, miss `+Inf`, or disagree with `_count`.
 * @module
 */

/** One sample line. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** One metric family. */
export interface Family {
  name: string;
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  help?: string;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

function fail(line: number, msg: string): never {
  throw new SyntaxError(`line ${line}: ${msg}`);
}

function parseFloatStrict(s: string, line: number): number {
  if (s === "+Inf" || s === "Inf") return Infinity;
  if (s === "-Inf") return -Infinity;
  if (s === "NaN") return NaN;
  if (!/^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(s)) fail(line, `invalid value "${s}"`);
  return Number(s);
}

function unescapeHelp(s: string, line: number): string {
  return s.replace(/\\(.?)/g, (_, c: string) => {
    if (c === "\\") return "\\";
    if (c === "n") return "\n";
    fail(line, `invalid escape "\\${c}" in HELP`);
  });
}

/** Parses `{a="x",b="y"}` starting at `i`; returns the labels and the index after `}`. */
function parseLabels(text: string, i: number, line: number): [Record<string, string>, number] {
  const labels: Record<string, string> = {};
  i++; // {
  if (text[i] === "}") return [labels, i + 1];
  for (;;) {
    const m = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(text.slice(i));
    if (!m) fail(line, `invalid label name at column ${i + 1}`);
    const name = m[0];
    if (name.startsWith("__")) fail(line, `reserved label name "${name}"`);
    if (name in labels) fail(line, `duplicate label "${name}"`);
    i += name.length;
    if (text[i] !== "=" || text[i + 1] !== '"') fail(line, `expected =" after label "${name}"`);
    i += 2;
    let value = "";
    for (;;) {
      const c = text[i];
      if (c === undefined) fail(line, "unterminated label value");
      if (c === '"') break;
      if (c === "\\") {
        const e = text[i + 1];
        if (e === "\\") value += "\\";
        else if (e === '"') value += '"';
        else if (e === "n") value += "\n";
        else fail(line, `invalid escape "\\${e ?? ""}" in label value`);
        i += 2;
        continue;
      }
      value += c;
      i++;
    }
    labels[name] = value;
    i++; // closing quote
    if (text[i] === "}") return [labels, i + 1];
    if (text[i] !== ",") fail(line, `expected , or } after label "${name}"`);
    i++;
    if (text[i] === "}") fail(line, "trailing comma in label set");
  }
}

function seriesKey(name: string, labels: Record<string, string>, skip?: string): string {
  const keys = Object.keys(labels).filter((k) => k !== skip).sort();
  return name + "{" + keys.map((k) => `${k}=${JSON.stringify(labels[k])}`).join(",") + "}";
}

/** The family a sample name belongs to, given its declared type. */
function familyOf(name: string, families: Map<string, Family>): string {
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length);
      const f = families.get(base);
      if (f && (f.type === "histogram" || (f.type === "summary" && suffix !== "_bucket"))) return base;
    }
  }
  return name;
}

function checkHistogram(f: Family): void {
  const groups = new Map<string, { le: number[]; counts: number[]; count?: number; sum?: number }>();
  const group = (labels: Record<string, string>) => {
    const k = seriesKey("", labels, "le");
    let g = groups.get(k);
    if (!g) groups.set(k, g = { le: [], counts: [] });
    return g;
  };
  for (const s of f.samples) {
    if (s.name === `${f.name}_bucket`) {
      if (!("le" in s.labels)) throw new SyntaxError(`${f.name}: bucket without le`);
      const le = parseFloatStrict(s.labels.le, 0);
      const g = group(s.labels);
      if (g.le.length && !(le > g.le[g.le.length - 1])) throw new SyntaxError(`${f.name}: le not increasing`);
      if (g.counts.length && s.value < g.counts[g.counts.length - 1]) {
        throw new SyntaxError(`${f.name}: bucket counts not cumulative`);
      }
      g.le.push(le);
      g.counts.push(s.value);
    } else if (s.name === `${f.name}_count`) {
      if ("le" in s.labels) throw new SyntaxError(`${f.name}_count with le`);
      group(s.labels).count = s.value;
    } else if (s.name === `${f.name}_sum`) {
      if ("le" in s.labels) throw new SyntaxError(`${f.name}_sum with le`);
      group(s.labels).sum = s.value;
    } else {
      throw new SyntaxError(`${f.name}: unexpected sample ${s.name} in a histogram`);
    }
  }
  for (const [k, g] of groups) {
    if (g.le.at(-1) !== Infinity) throw new SyntaxError(`${f.name}${k}: no +Inf bucket`);
    if (g.count === undefined || g.sum === undefined) throw new SyntaxError(`${f.name}${k}: missing _count or _sum`);
    if (g.counts.at(-1) !== g.count) throw new SyntaxError(`${f.name}${k}: +Inf bucket ≠ _count`);
  }
}

/**
 * Parses an exposition.
 * @throws {SyntaxError} naming the line of the first problem
 */
export function parsePromText(text: string): Map<string, Family> {
  if (text.length && !text.endsWith("\n")) throw new SyntaxError("the exposition must end with a newline");
  const families = new Map<string, Family>();
  const closed = new Set<string>();
  const seen = new Set<string>();
  let currentFamily = "";
  const enter = (name: string, line: number): Family => {
    if (name !== currentFamily) {
      if (closed.has(name)) fail(line, `metric family ${name} appears in more than one group`);
      if (currentFamily) closed.add(currentFamily);
      currentFamily = name;
    }
    let f = families.get(name);
    if (!f) families.set(name, f = { name, type: "untyped", samples: [] });
    return f;
  };
  const lines = text.split("\n");
  lines.pop();
  for (const [idx, raw] of lines.entries()) {
    const line = idx + 1;
    if (raw.trim() === "") continue;
    if (raw.startsWith("#")) {
      const m = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(raw);
      if (!m) continue; // a comment
      const [, kw, name, rest = ""] = m;
      if (!METRIC_NAME.test(name)) fail(line, `invalid metric name "${name}"`);
      const f = enter(name, line);
      if (kw === "HELP") {
        if (f.help !== undefined) fail(line, `second HELP for ${name}`);
        f.help = unescapeHelp(rest, line);
      } else {
        if (!TYPES.has(rest)) fail(line, `invalid type "${rest}"`);
        if (f.samples.length) fail(line, `TYPE for ${name} after its samples`);
        if ((f as { typed?: boolean }).typed) fail(line, `second TYPE for ${name}`);
        (f as { typed?: boolean }).typed = true;
        f.type = rest as Family["type"];
      }
      continue;
    }
    const nm = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(raw);
    if (!nm) fail(line, "invalid metric name");
    const name = nm[0];
    let i = name.length;
    let labels: Record<string, string> = {};
    if (raw[i] === "{") [labels, i] = parseLabels(raw, i, line);
    const rest = raw.slice(i);
    const vm = /^[ \t]+(\S+)(?:[ \t]+(-?\d+))?$/.exec(rest);
    if (!vm) fail(line, `invalid sample "${raw}"`);
    const value = parseFloatStrict(vm[1], line);
    const f = enter(familyOf(name, families), line);
    if (f.type === "counter" && !(value >= 0)) fail(line, `counter ${name} has a negative or NaN value`);
    if (f.type !== "histogram" && f.type !== "summary" && "le" in labels && f.type !== "untyped") {
      fail(line, `le label on a ${f.type}`);
    }
    const key = seriesKey(name, labels);
    if (seen.has(key)) fail(line, `duplicate series ${key}`);
    seen.add(key);
    if (!LABEL_NAME.test(Object.keys(labels)[0] ?? "x")) fail(line, "invalid label");
    f.samples.push({ name, labels, value });
  }
  for (const f of families.values()) if (f.type === "histogram") checkHistogram(f);
  return families;
}

/**
 * The value of the one sample named `name` whose labels include `labels`.
 * @throws {Error} when there is no such sample or more than one
 */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string>): number {
  const found: Sample[] = [];
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) found.push(s);
    }
  }
  if (found.length !== 1) throw new Error(`${found.length} samples match ${name} ${JSON.stringify(labels)}`);
  return found[0].value;
}
