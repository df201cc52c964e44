/**
 * A YAML writer for plain data (what `-O yaml` and a saved config hold: objects, arrays, strings, numbers,
 * booleans), so that printing or saving a config does not load the `yaml` package (docs/architecture.md, "Module
 * loading"). Its output matches the `yaml` package's `stringify(v, { indent: 2, lineWidth: 0 })` for such data,
 * except that it quotes some strings that package leaves plain (YAML 1.1 booleans such as `yes`, numbers with `_`,
 * sexagesimal and date forms, multi-line text): the result reads back the same under YAML 1.1 and 1.2 parsers,
 * GOST's go-yaml included.
 * @module
 */

/** Strings a YAML 1.2 core or YAML 1.1 parser would read as something other than that string. */
const NOT_A_STRING = new RegExp(
  "^(?:" + [
    "~|null|Null|NULL",
    "true|True|TRUE|false|False|FALSE",
    "y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF",
    "[-+]?[0-9][0-9_]*", // ints, octal-looking, with underscores
    "[-+]?0[box][0-9a-fA-F_]+",
    "[-+]?(?:\\.[0-9_]+|[0-9][0-9_]*(?:\\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?", // floats
    "[-+]?\\.(?:inf|Inf|INF)|\\.(?:nan|NaN|NAN)",
    "[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\\.[0-9_]*)?", // sexagesimal (1.1)
    "[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt ].*)?", // timestamps (1.1)
    "=|<<",
  ].join("|") + ")$",
);
/** Characters that cannot start a plain scalar. */
const INDICATOR_START = /^[,\[\]{}#&*!|>'"%@`]/;
/** `-`, `?` and `:` start a plain scalar only when a non-space follows. */
const DASH_START = /^[-?:](?:\s|$)/;
/** Anything outside printable ASCII and ordinary Unicode text, or a YAML line break. */
// deno-lint-ignore no-control-regex -- control characters are what it finds
const UNPRINTABLE = /[\x00-\x1f\x7f\x85\u2028\u2029\ufeff]/;

/** Whether `s` can be written unquoted and read back as the same string. */
function plainSafe(s: string): boolean {
  return s !== "" && s.trim() === s && !UNPRINTABLE.test(s) && !INDICATOR_START.test(s) && !DASH_START.test(s) &&
    !s.includes(": ") && !s.includes(" #") && !s.endsWith(":") && !NOT_A_STRING.test(s);
}

/**
 * `s` double-quoted. JSON's escapes are YAML's; JSON leaves DEL and the Unicode line breaks raw, which a YAML
 * double-quoted scalar would not keep (it is not printable, or folds them), so those are escaped too.
 */
function quoted(s: string): string {
  return JSON.stringify(s).replace(
    /[\x7f\x85\u2028\u2029\ufeff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** One scalar, or an empty collection, on one line. */
function scalar(v: unknown): string {
  if (typeof v === "string") return plainSafe(v) ? v : quoted(v);
  if (typeof v === "number") {
    if (Number.isNaN(v)) return ".nan";
    if (!Number.isFinite(v)) return v > 0 ? ".inf" : "-.inf";
    return String(v);
  }
  if (typeof v === "boolean") return String(v);
  if (v === null || v === undefined) return "null";
  if (typeof v === "bigint") return String(v);
  if (Array.isArray(v)) return "[]";
  if (typeof v === "object") return "{}";
  throw new TypeError(`cannot write a ${typeof v} as YAML`);
}

/** Whether `v` is written as an indented block (a non-empty array or object). */
function isBlock(v: unknown): v is Record<string, unknown> | unknown[] {
  return Array.isArray(v) ? v.length > 0 : !!v && typeof v === "object" && Object.keys(v).length > 0;
}

/** A non-empty array or object as lines that start with `indent`. */
function block(v: Record<string, unknown> | unknown[], indent: string): string {
  let out = "";
  if (Array.isArray(v)) {
    for (const item of v) {
      // An item that is a block starts on the dash's line: its first line's indent becomes the dash.
      out += isBlock(item)
        ? indent + "- " + block(item, indent + "  ").slice(indent.length + 2)
        : `${indent}- ${scalar(item)}\n`;
    }
    return out;
  }
  for (const [key, value] of Object.entries(v)) {
    if (value === undefined) continue;
    out += isBlock(value)
      ? `${indent}${scalar(key)}:\n${block(value, indent + "  ")}`
      : `${indent}${scalar(key)}: ${scalar(value)}\n`;
  }
  return out;
}

/**
 * Writes `value` (plain data) as a YAML document.
 * @example writeYaml({ services: [{ name: "s", addr: ":8080" }] }) // "services:\n  - name: s\n    addr: :8080\n"
 */
export function writeYaml(value: unknown): string {
  return isBlock(value) ? block(value, "") : scalar(value) + "\n";
}
