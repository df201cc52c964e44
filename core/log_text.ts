/**
 * GOST's `text` log format: the line Go's `log/slog` TextHandler writes with GOST's attribute rewrite
 * (go-gost/x logger), e.g.
 *
 * ```
 * time=2024-05-01T10:00:00.123+02:00 level=info msg="127.0.0.1:5000 <> 127.0.0.1:8080" kind=service service=s
 * ```
 *
 * `time`, `level` and `msg` first, then the logger's fields in the order they were added (a repeated key keeps its
 * first place and takes the last value), each `key=value` separated by one space. A key or value is quoted as Go's
 * `strconv.Quote` does when it is empty or holds a space, `"`, `=`, a control or other non-printing character;
 * a backslash alone does not need quotes. Numbers print as Go prints them (`1.5`, `1e+21`), objects as `fmt`'s
 * `%+v` does (`map[a:1 b:2]`, `[x y]`).
 * @module
 */

/** A string that never needs quotes: printable ASCII without space, `"` and `=`. */
const BARE = /^[\x21\x23-\x3c\x3e-\x7e]+$/;
/** A character that makes slog quote: space, `"`, `=`, ASCII controls, Unicode spaces and non-printing characters. */
const NEEDS_QUOTE = /[\s"=]|[^\p{L}\p{M}\p{N}\p{P}\p{S}\x20]/u;

/** Tells whether slog's text handler quotes `s`. */
export function needsQuoting(s: string): boolean {
  if (BARE.test(s)) return false;
  return s === "" || NEEDS_QUOTE.test(s);
}

/** Go's `unicode.IsPrint` for one code point (letters, marks, numbers, punctuation, symbols, ASCII space). */
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/** `s` as Go's `strconv.Quote` writes it. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case "\\":
        out += "\\\\";
        continue;
      case "\x07":
        out += "\\a";
        continue;
      case "\b":
        out += "\\b";
        continue;
      case "\f":
        out += "\\f";
        continue;
      case "\n":
        out += "\\n";
        continue;
      case "\r":
        out += "\\r";
        continue;
      case "\t":
        out += "\\t";
        continue;
      case "\v":
        out += "\\v";
        continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) out += "\\ufffd"; // a lone surrogate is no character: UTF-8 makes it U+FFFD
    else if (PRINTABLE.test(ch)) out += ch;
    else if (c < 0x80) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else if (c < 0x10000) out += `\\u${c.toString(16).padStart(4, "0")}`;
    else out += `\\U${c.toString(16).padStart(8, "0")}`;
  }
  return out + '"';
}

/** A number as Go prints it: integers in full, other values as `strconv.FormatFloat(v, 'g', -1, 64)`. */
export function goNumber(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  if (Number.isInteger(v) && Math.abs(v) < 1e21) return Object.is(v, -0) ? "0" : String(v);
  const [mant, e] = v.toExponential().split("e");
  const exp = Number(e);
  if (exp < -4 || exp >= 21) return `${mant}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  return String(v);
}

/** A value as `fmt.Sprintf("%+v")` prints it, unquoted. */
function goValue(v: unknown, depth = 0): string {
  switch (typeof v) {
    case "string":
      return v;
    case "number":
      return goNumber(v);
    case "bigint":
    case "boolean":
      return String(v);
    case "undefined":
      return "<nil>";
  }
  if (v === null) return "<nil>";
  if (v instanceof Error) return v.message;
  if (v instanceof Date) return v.toISOString();
  if (depth > 4) return "...";
  if (Array.isArray(v)) return `[${v.map((x) => goValue(x, depth + 1)).join(" ")}]`;
  if (typeof v === "object") {
    const keys = Object.keys(v as object).sort();
    return `map[${keys.map((k) => `${k}:${goValue((v as Record<string, unknown>)[k], depth + 1)}`).join(" ")}]`;
  }
  return String(v);
}

/** One key or value of a text line, quoted when slog would quote it. */
export function textToken(v: unknown): string {
  const s = goValue(v);
  return needsQuoting(s) ? goQuote(s) : s;
}

/**
 * One text line, newline included.
 * @param fields the merged fields, in order; undefined values are left out (as the JSON format leaves them out)
 */
export function textLine(time: string, level: string, msg: string, fields: Record<string, unknown>): string {
  let line = `time=${time} level=${level} msg=${textToken(msg)}`;
  for (const k in fields) {
    const v = fields[k];
    if (v === undefined || typeof v === "function" || typeof v === "symbol") continue;
    line += ` ${textToken(k)}=${textToken(v)}`;
  }
  return line + "\n";
}
