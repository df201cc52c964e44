/**
 * The file handler's request paths: from the raw request target to a path inside the served directory, refusing
 * everything that could leave it or that names no file (docs/wire.md, "File server"). The raw target is checked
 * before any normalization — a URL parser would resolve `..` and `%2e%2e` away and hide the attempt:
 *
 * - a backslash, raw or `%5c` (a Windows separator), a NUL byte (`%00`) or another control character, and any `.`
 *   or `..` segment, raw or percent-encoded (`%2e%2e`, `.%2e`): refused (403) and logged;
 * - a `%` not followed by two hex digits, or bytes that are not UTF-8 once decoded: 400;
 * - decoding happens once: a double-encoded `%252e%252e` is the literal name `%2e%2e` (not found: 404).
 *
 * Where Go's `http.FileServer` (GOST's) cleans such a path and serves what it lands on inside the directory, this
 * refuses the request outright. Symlinks are checked where the file is opened (handler.ts): the real path must stay
 * inside the directory.
 * @module
 */

/** Why a target was refused, and the status answered. */
export interface PathRefusal {
  status: 400 | 403;
  reason: string;
}

/** A request target taken apart: the decoded path segments and whether the path ended with `/`. */
export interface RequestPath {
  /** The URL path as sent (not decoded), for redirects and logs. */
  raw: string;
  /** The query string as sent, without `?` (`""` when none). */
  query: string;
  /** The decoded segments, none empty. */
  segments: string[];
  /** The path ended with `/`. */
  slash: boolean;
}

// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

function decodeSegment(seg: string): string | PathRefusal {
  if (!seg.includes("%")) return seg;
  const bytes: number[] = [];
  for (let i = 0; i < seg.length; i++) {
    const c = seg.charCodeAt(i);
    if (c !== 0x25) {
      bytes.push(c);
      continue;
    }
    const hex = seg.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return { status: 400, reason: `bad percent-encoding in ${JSON.stringify(seg)}` };
    bytes.push(parseInt(hex, 16));
    i += 2;
  }
  try {
    return utf8.decode(new Uint8Array(bytes));
  } catch {
    return { status: 400, reason: `path segment ${JSON.stringify(seg)} is not UTF-8` };
  }
}

/**
 * Takes a request target apart (origin-form `/a/b?q`, or absolute-form `http://host/a/b?q`).
 * @returns the path, or the refusal
 * @example parseRequestPath("/docs/a%20b.txt").segments // ["docs", "a b.txt"]
 * @example parseRequestPath("/%2e%2e/etc/passwd") // { status: 403, reason: "dot segment …" }
 */
export function parseRequestPath(target: string): RequestPath | PathRefusal {
  let t = target;
  const abs = /^https?:\/\/[^/?#]*/i.exec(t);
  if (abs) t = t.slice(abs[0].length) || "/";
  if (!t.startsWith("/")) return { status: 400, reason: `not a path: ${JSON.stringify(target.slice(0, 100))}` };
  const hash = t.indexOf("#");
  if (hash >= 0) t = t.slice(0, hash);
  const q = t.indexOf("?");
  const raw = q < 0 ? t : t.slice(0, q);
  const query = q < 0 ? "" : t.slice(q + 1);
  if (raw.includes("\\")) return { status: 403, reason: "backslash in the path" };
  const segments: string[] = [];
  for (const seg of raw.split("/")) {
    if (seg === "") continue;
    const d = decodeSegment(seg);
    if (typeof d !== "string") return d;
    if (d === "." || d === "..") return { status: 403, reason: `dot segment ${JSON.stringify(seg)} (path traversal)` };
    if (d.includes("/") || d.includes("\\")) {
      return { status: 403, reason: `encoded separator in ${JSON.stringify(seg)}` };
    }
    if (CONTROL.test(d)) return { status: 403, reason: `control character (NUL) in ${JSON.stringify(seg)}` };
    segments.push(d);
  }
  return { raw, query, segments, slash: raw.endsWith("/") };
}

/** Tells whether `p` is inside (or is) the directory `root` (both real, absolute paths). */
export function inside(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith("/") ? root : `${root}/`);
}
