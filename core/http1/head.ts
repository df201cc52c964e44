/**
 * HTTP/1.x heads, shared by the proxy (both sides) and the servers of the Web API and the metrics: header lists,
 * request and response heads, and their serialization. No I/O here (see reader.ts). Heads are latin1 strings so that
 * every byte survives a parse/serialize round trip.
 * @module
 */
import { HandshakeError } from "../errors.ts";

/**
 * A protocol error answered with `status` before closing (400, 431, 502, 505 …). Thrown only before any
 * byte of the response to the current request was written.
 */
export class HttpStatusError extends HandshakeError {
  readonly status: number;
  constructor(status: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.status = status;
  }
}

/** A header name (an RFC 9110 token). */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A character a header value may not hold (controls but tab). */
// deno-lint-ignore no-control-regex
export const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
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
