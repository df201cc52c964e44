/**
 * HTTP/1.x body framing: how a request or response body is delimited, and chunk-size lines.
 * @module
 */
import { type HeaderList, HttpStatusError } from "./head.ts";

/** How a message body is delimited. */
export type Framing =
  | { kind: "none" }
  | { kind: "length"; length: number }
  | { kind: "chunked" }
  | { kind: "close" };

const NONE: Framing = { kind: "none" };

function contentLength(h: HeaderList, status: number): number | null {
  const values = h.tokens("content-length");
  if (!values.length) return h.has("content-length") ? badLength(status, "") : null;
  for (const v of values) if (v !== values[0] || !/^\d{1,16}$/.test(v)) badLength(status, v);
  const n = Number(values[0]);
  return n <= Number.MAX_SAFE_INTEGER ? n : badLength(status, values[0]);
}

function badLength(status: number, v: string): never {
  throw new HttpStatusError(status, `Invalid Content-Length "${v.slice(0, 40)}"`);
}

/** The framing of a request body. @throws {HttpStatusError} 400 on ambiguous or invalid framing */
export function requestFraming(h: HeaderList): Framing {
  const te = h.tokens("transfer-encoding");
  if (te.length) {
    if (h.has("content-length")) throw new HttpStatusError(400, "Both Transfer-Encoding and Content-Length");
    if (te[te.length - 1] !== "chunked") throw new HttpStatusError(400, `Unsupported Transfer-Encoding "${te}"`);
    return { kind: "chunked" };
  }
  const n = contentLength(h, 400);
  return n ? { kind: "length", length: n } : NONE;
}

/** The framing of a response body to a `method` request. @throws {HttpStatusError} 502 on invalid framing */
export function responseFraming(method: string, status: number, h: HeaderList): Framing {
  if (method === "HEAD" || status < 200 || status === 204 || status === 304) return NONE;
  const te = h.tokens("transfer-encoding");
  if (te.length) return te[te.length - 1] === "chunked" ? { kind: "chunked" } : { kind: "close" };
  const n = contentLength(h, 502);
  if (n === null) return { kind: "close" };
  return n ? { kind: "length", length: n } : NONE;
}

/** Parses a chunk-size line (extensions ignored). @throws {HttpStatusError} 400 when invalid or absurd */
export function parseChunkSize(line: string): number {
  const semi = line.indexOf(";");
  const hex = (semi < 0 ? line : line.slice(0, semi)).replace(/^[ \t]+|[ \t]+$/g, "");
  if (!/^[0-9a-fA-F]{1,13}$/.test(hex)) throw new HttpStatusError(400, `Invalid chunk size "${hex.slice(0, 20)}"`);
  return parseInt(hex, 16);
}
