/**
 * Pure HTTP/1.x wire codec for the proxy: header lists, request and response heads, body framing, authorities and
 * absolute URIs, and the proxy's own replies. No I/O here (see stream.ts). Heads are latin1 strings so that every
 * byte survives a parse/serialize round trip.
 * @module
 */
import { joinHostPort } from "../../core/conn.ts";
import { HandshakeError } from "../../core/errors.ts";

/**
 * A protocol error the proxy answers with `status` before closing (400, 431, 502, 505 …). Thrown only before any
 * byte of the response to the current request was written.
 */
export class HttpStatusError extends HandshakeError {
  readonly status: number;
  constructor(status: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.status = status;
  }
}

/** Reason phrases of the statuses the proxy itself sends. */
export const STATUS_TEXT: Readonly<Record<number, string>> = {
  200: "OK",
  400: "Bad Request",
  403: "Forbidden",
  405: "Method Not Allowed",
  407: "Proxy Authentication Required",
  431: "Request Header Fields Too Large",
  502: "Bad Gateway",
  503: "Service Unavailable",
  505: "HTTP Version Not Supported",
};

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// deno-lint-ignore no-control-regex
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
const encoder = new TextEncoder();

const asciiDecoder = new TextDecoder();

/** Bytes → string, one char per byte (ASCII, the common case, through the native decoder). */
export function latin1Decode(b: Uint8Array): string {
  let ascii = true;
  for (let i = 0; i < b.length; i++) {
    if (b[i] > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) return asciiDecoder.decode(b);
  let s = "";
  // apply() takes the typed array as an array-like; a spread would walk it through the iterator (10× slower).
  for (let i = 0; i < b.length; i += 8192) {
    s += String.fromCharCode.apply(null, b.subarray(i, i + 8192) as unknown as number[]);
  }
  return s;
}

/** String of chars ≤ 0xFF → bytes (the inverse of {@link latin1Decode}). */
export function latin1Encode(s: string): Uint8Array {
  // deno-lint-ignore no-control-regex
  if (!/[^\x00-\x7f]/.test(s)) return encoder.encode(s);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** One header line; `key` is the lower-cased name. */
export interface Header {
  name: string;
  value: string;
  key: string;
}

/** An ordered, case-insensitive header list that keeps names as sent. */
export class HeaderList {
  readonly entries: Header[];
  constructor(entries: Header[] = []) {
    this.entries = entries;
  }
  /** The first value of `name`. */
  get(name: string): string | undefined {
    const key = name.toLowerCase();
    return this.entries.find((h) => h.key === key)?.value;
  }
  getAll(name: string): string[] {
    const key = name.toLowerCase();
    return this.entries.filter((h) => h.key === key).map((h) => h.value);
  }
  has(name: string): boolean {
    const key = name.toLowerCase();
    return this.entries.some((h) => h.key === key);
  }
  add(name: string, value: string): void {
    this.entries.push({ name, value, key: name.toLowerCase() });
  }
  /** Replaces the first `name` in place (dropping the others), or appends it. */
  set(name: string, value: string): void {
    const key = name.toLowerCase();
    const i = this.entries.findIndex((h) => h.key === key);
    if (i < 0) return this.add(name, value);
    this.entries[i] = { name: this.entries[i].name, value, key };
    for (let j = this.entries.length - 1; j > i; j--) if (this.entries[j].key === key) this.entries.splice(j, 1);
  }
  delete(name: string): void {
    const key = name.toLowerCase();
    for (let j = this.entries.length - 1; j >= 0; j--) if (this.entries[j].key === key) this.entries.splice(j, 1);
  }
  /** The comma-separated tokens of every `name` value, lower-cased. */
  tokens(name: string): string[] {
    const key = name.toLowerCase();
    const out: string[] = [];
    for (const h of this.entries) {
      if (h.key !== key) continue;
      for (const part of h.value.split(",")) {
        const t = part.trim();
        if (t) out.push(t.toLowerCase());
      }
    }
    return out;
  }
}

/** A parsed request head. */
export interface RequestHead {
  method: string;
  target: string;
  /** HTTP/1.`minor`. */
  minor: number;
  headers: HeaderList;
}

/** A parsed response head. */
export interface ResponseHead {
  major: number;
  minor: number;
  status: number;
  reason: string;
  headers: HeaderList;
}

/** `s` from `from`, without leading and trailing spaces and tabs (HTTP's optional whitespace). */
function trimSpaceTab(s: string, from: number): string {
  let a = from, b = s.length;
  while (a < b && (s.charCodeAt(a) === 0x20 || s.charCodeAt(a) === 0x09)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 0x20 || s.charCodeAt(b - 1) === 0x09)) b--;
  return s.slice(a, b);
}

function parseHeaders(lines: string[], status: number): HeaderList {
  const h = new HeaderList();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon) : "";
    if (!TOKEN.test(name)) throw new HttpStatusError(status, `Malformed header line: ${JSON.stringify(line)}`);
    const value = trimSpaceTab(line, colon + 1);
    if (BAD_VALUE.test(value)) throw new HttpStatusError(status, `Invalid character in header "${name}"`);
    h.add(name, value);
  }
  return h;
}

/**
 * Parses a request head (lines without CRLF, ending before the empty line).
 * @throws {HttpStatusError} 400 on a malformed line, 505 on an HTTP major version other than 1
 */
export function parseRequestHead(lines: string[]): RequestHead {
  const parts = lines[0].split(" ");
  if (parts.length !== 3 || !TOKEN.test(parts[0]) || !parts[1] || BAD_VALUE.test(parts[1])) {
    throw new HttpStatusError(400, `Malformed request line: ${JSON.stringify(lines[0].slice(0, 100))}`);
  }
  const v = /^HTTP\/(\d)\.(\d)$/.exec(parts[2]);
  if (!v) throw new HttpStatusError(400, `Malformed HTTP version: ${JSON.stringify(parts[2].slice(0, 20))}`);
  if (v[1] !== "1") throw new HttpStatusError(505, `Unsupported HTTP version "${parts[2]}"`);
  return { method: parts[0], target: parts[1], minor: Number(v[2]), headers: parseHeaders(lines, 400) };
}

/** Parses a response head. @throws {HttpStatusError} 502 when it is malformed */
export function parseResponseHead(lines: string[]): ResponseHead {
  const m = /^HTTP\/(\d)\.(\d) (\d{3})(?: (.*))?$/.exec(lines[0]);
  if (!m) throw new HttpStatusError(502, `Malformed status line from upstream: ${JSON.stringify(lines[0])}`);
  const headers = parseHeaders(lines, 502);
  return { major: Number(m[1]), minor: Number(m[2]), status: Number(m[3]), reason: m[4] ?? "", headers };
}

/** Serializes a start line and headers, ending with the empty line. */
export function serializeHead(startLine: string, headers: HeaderList): Uint8Array {
  let s = startLine + "\r\n";
  for (const h of headers.entries) s += `${h.name}: ${h.value}\r\n`;
  return latin1Encode(s + "\r\n");
}

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

/** A target: `addr` to dial (`host:port`) and `host` for the Host header (no userinfo, port only if given). */
export interface Authority {
  addr: string;
  host: string;
}

/**
 * Parses an authority (`host`, `host:port`, `[v6]:port`, with optional userinfo).
 * @throws {HttpStatusError} 400 when it is not a valid host and port
 */
export function parseAuthority(authority: string, defaultPort: number): Authority {
  const hostPart = authority.slice(authority.lastIndexOf("@") + 1);
  const m = /^(?:\[([0-9A-Fa-f:.]+(?:%[\w.~-]+)?)\]|([\w.~!$&'()*+,;=%-]+))(?::(\d{0,5}))?$/.exec(hostPart);
  const port = m?.[3] ? Number(m[3]) : defaultPort;
  if (!m || port < 1 || port > 65535) throw new HttpStatusError(400, `Invalid host "${authority.slice(0, 100)}"`);
  return { addr: joinHostPort(m[1] ?? m[2], port), host: hostPart };
}

/** Splits an `http://` absolute URI into authority and origin-form path; null for any other form or scheme. */
export function splitAbsoluteUri(target: string): { authority: string; path: string } | null {
  const m = /^http:\/\/([^/?#]*)([^#]*)/i.exec(target);
  if (!m || !m[1]) return null;
  const path = m[2].startsWith("/") ? m[2] : `/${m[2]}`;
  return { authority: m[1], path };
}

/**
 * Builds a reply of the proxy itself, with an empty body unless it is a CONNECT 200.
 * @param base headers every reply carries (Proxy-Agent, configured `header`)
 */
export function buildReply(
  status: number,
  base: readonly [string, string][],
  extra: [string, string][] = [],
): Uint8Array {
  const reason = status === 200 ? "Connection established" : (STATUS_TEXT[status] ?? "Error");
  const h = new HeaderList();
  for (const [k, v] of [...base, ...extra]) h.add(k, v);
  if (status !== 200) {
    h.add("Content-Length", "0");
    h.add("Connection", "close");
  }
  return serializeHead(`HTTP/1.1 ${status} ${reason}`, h);
}
