/**
 * HTTP Range requests (RFC 9110 §14) as Go's `http.ServeContent` reads them (`parseRange`): `bytes=` followed by
 * comma-separated `first-last`, `first-` and `-suffix` ranges; a range that starts past the end is dropped, and when
 * all are dropped the answer is 416 with a `Content-Range` of `*` and the size; ranges whose total exceeds the file are
 * ignored (the whole file is sent); one range is a 206 with `Content-Range`, several a `multipart/byteranges` 206.
 * @module
 */

/** One byte range: `start` and `length`. */
export interface ByteRange {
  start: number;
  length: number;
}

/** The outcome of parsing a Range header against a file of `size` bytes. */
export type RangeResult =
  | { kind: "none" }
  | { kind: "ranges"; ranges: ByteRange[] }
  | { kind: "unsatisfiable"; message: string };

const DIGITS = /^\d{1,15}$/;

/**
 * Parses a Range header value (Go's `parseRange`).
 * @example parseRange("bytes=0-99", 1000) // { kind: "ranges", ranges: [{ start: 0, length: 100 }] }
 */
export function parseRange(value: string | undefined, size: number): RangeResult {
  if (!value) return { kind: "none" };
  const bad = (message: string): RangeResult => ({ kind: "unsatisfiable", message });
  if (!value.startsWith("bytes=")) return bad("invalid range");
  const ranges: ByteRange[] = [];
  let noOverlap = false;
  for (const part of value.slice(6).split(",")) {
    const ra = part.trim();
    if (!ra) continue;
    const dash = ra.indexOf("-");
    if (dash < 0) return bad("invalid range");
    const first = ra.slice(0, dash).trim();
    const last = ra.slice(dash + 1).trim();
    if (first === "") {
      if (!DIGITS.test(last)) return bad("invalid range");
      const n = Math.min(Number(last), size);
      ranges.push({ start: size - n, length: n });
      continue;
    }
    if (!DIGITS.test(first)) return bad("invalid range");
    const start = Number(first);
    if (start >= size) {
      noOverlap = true;
      continue;
    }
    if (last === "") {
      ranges.push({ start, length: size - start });
      continue;
    }
    if (!DIGITS.test(last)) return bad("invalid range");
    let end = Number(last);
    if (start > end) return bad("invalid range");
    if (end >= size) end = size - 1;
    ranges.push({ start, length: end - start + 1 });
  }
  if (noOverlap && ranges.length === 0) return bad("invalid range: failed to overlap");
  if (ranges.reduce((n, r) => n + r.length, 0) > size) return { kind: "none" };
  return ranges.length ? { kind: "ranges", ranges } : { kind: "none" };
}

/** `bytes first-last/size`. */
export function contentRange(r: ByteRange, size: number): string {
  return `bytes ${r.start}-${r.start + r.length - 1}/${size}`;
}

/** The head of one part of a `multipart/byteranges` body (its CRLF before the boundary included). */
export function partHead(boundary: string, first: boolean, type: string, r: ByteRange, size: number): string {
  return `${first ? "" : "\r\n"}--${boundary}\r\nContent-Range: ${contentRange(r, size)}\r\n` +
    `Content-Type: ${type}\r\n\r\n`;
}

/** The end of a `multipart/byteranges` body. */
export function multipartEnd(boundary: string): string {
  return `\r\n--${boundary}--\r\n`;
}

/** A random boundary (as Go's `multipart.Writer`: 30 random bytes in hex). */
export function newBoundary(): string {
  const b = crypto.getRandomValues(new Uint8Array(30));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
