/**
 * Content types of served files, as Go's `http.ServeContent` picks them: by the file name's extension (Go's
 * built-in table of `mime.TypeByExtension`, plus common types its system tables usually add; `text/*` types carry
 * `charset=utf-8`), else by sniffing the first 512 bytes (a subset of Go's `http.DetectContentType`: HTML, XML,
 * PDF, PNG, JPEG, GIF, WebP, ZIP, gzip; UTF-8 text without control bytes is `text/plain; charset=utf-8`; anything
 * else `application/octet-stream`). Unlike Go, the host's /etc/mime.types is not read, so a type does not change
 * with the machine.
 * @module
 */

const UTF8 = "; charset=utf-8";

/** Types by lower-case extension. */
const TYPES: Readonly<Record<string, string>> = {
  ".avif": "image/avif",
  ".css": "text/css" + UTF8,
  ".gif": "image/gif",
  ".htm": "text/html" + UTF8,
  ".html": "text/html" + UTF8,
  ".jpeg": "image/jpeg",
  ".jpg": "image/jpeg",
  ".js": "text/javascript" + UTF8,
  ".json": "application/json",
  ".mjs": "text/javascript" + UTF8,
  ".pdf": "application/pdf",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".wasm": "application/wasm",
  ".webp": "image/webp",
  ".xml": "text/xml" + UTF8,
  // common additions of the system tables Go also reads
  ".txt": "text/plain" + UTF8,
  ".md": "text/markdown" + UTF8,
  ".csv": "text/csv" + UTF8,
  ".ico": "image/vnd.microsoft.icon",
  ".mp3": "audio/mpeg",
  ".mp4": "video/mp4",
  ".webm": "video/webm",
  ".ogg": "audio/ogg",
  ".wav": "audio/wav",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".zip": "application/zip",
  ".gz": "application/gzip",
  ".tar": "application/x-tar",
};

/** The type of a file name by its extension, or undefined. */
export function typeByExtension(name: string): string | undefined {
  const dot = name.lastIndexOf(".");
  return dot < 0 ? undefined : TYPES[name.slice(dot).toLowerCase()];
}

const SIGNATURES: readonly [number[], string][] = [
  [[0x25, 0x50, 0x44, 0x46, 0x2d], "application/pdf"], // %PDF-
  [[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "image/png"],
  [[0xff, 0xd8, 0xff], "image/jpeg"],
  [[0x47, 0x49, 0x46, 0x38, 0x37, 0x61], "image/gif"], // GIF87a
  [[0x47, 0x49, 0x46, 0x38, 0x39, 0x61], "image/gif"], // GIF89a
  [[0x50, 0x4b, 0x03, 0x04], "application/zip"],
  [[0x1f, 0x8b, 0x08], "application/x-gzip"],
];

const HTML_TAGS = [
  "<!doctype html",
  "<html",
  "<head",
  "<script",
  "<iframe",
  "<h1",
  "<div",
  "<font",
  "<table",
  "<a",
  "<style",
  "<title",
  "<b",
  "<body",
  "<br",
  "<p",
  "<!--",
];
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Sniffs the type of content from its first bytes (at most 512 are looked at). */
export function sniffType(head: Uint8Array): string {
  const b = head.subarray(0, 512);
  for (const [sig, type] of SIGNATURES) if (sig.every((v, i) => b[i] === v)) return type;
  if (
    b.length >= 12 && String.fromCharCode(...b.subarray(0, 4)) === "RIFF" &&
    String.fromCharCode(...b.subarray(8, 12)) === "WEBP"
  ) return "image/webp";
  let i = 0;
  while (i < b.length && (b[i] === 0x20 || b[i] === 0x09 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x0c)) i++;
  const lead = String.fromCharCode(...b.subarray(i, i + 16)).toLowerCase();
  for (const tag of HTML_TAGS) {
    if (!lead.startsWith(tag)) continue;
    const after = lead.charCodeAt(tag.length);
    if (tag === "<!--" || Number.isNaN(after) || after === 0x20 || after === 0x3e) return "text/html" + UTF8;
  }
  if (lead.startsWith("<?xml")) return "text/xml" + UTF8;
  if (b.some((c) => c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0c && c !== 0x0d && c !== 0x1b)) {
    return "application/octet-stream";
  }
  try {
    // a multi-byte character cut at the 512th byte is still text
    utf8.decode(b.length === 512 ? trimPartial(b) : b);
    return "text/plain" + UTF8;
  } catch {
    return "application/octet-stream";
  }
}

/** `b` without a UTF-8 sequence cut at its end. */
function trimPartial(b: Uint8Array): Uint8Array {
  for (let back = 1; back <= 3 && back <= b.length; back++) {
    const c = b[b.length - back];
    if ((c & 0xc0) === 0xc0) return b.subarray(0, b.length - back); // a lead byte whose sequence was cut
    if ((c & 0xc0) !== 0x80) break;
  }
  return b;
}
