/**
 * The bytes of GOST's obfs-http (simple-obfs "http" mode, docs/wire.md "obfs-http / obfs-tls"): the client's
 * WebSocket-looking upgrade request, the server's `101 Switching Protocols`, and the `header` metadata map both
 * sides add. After the two heads the conn is the raw stream, no framing.
 * @module
 */
import { ConfigError } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import { latin1Encode } from "../../core/http1/head.ts";

/** Caps on the request the listener reads: its head, and a body a simple-obfs client sends as the first payload. */
export const MAX_REQUEST_HEAD_BYTES = 16 * 1024;
/** The longest request or status line. */
export const MAX_LINE_BYTES = 8 * 1024;
/** The largest `Content-Length` taken as first payload (simple-obfs sends at most 2 KiB). */
export const MAX_REQUEST_BODY_BYTES = 64 * 1024;
/** The largest response head the dialer skips. */
export const MAX_RESPONSE_HEAD_BYTES = 16 * 1024;

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** `sec-websocket-key` → `Sec-Websocket-Key`, as Go canonicalizes header names. */
export function canonicalName(name: string): string {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());
}

/**
 * Reads a header map (`header`, and `obfs.header` on the dialer) as name → value, names canonical as Go sends them.
 * @throws {ConfigError} naming the key when the value is not a map of names to values
 */
export function readHeaderMap(md: Metadata, keys: string[]): Map<string, string> {
  const found = md.find(keys);
  const out = new Map<string, string>();
  if (!found) return out;
  const [key, v] = found;
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new ConfigError(`"${key}" must be a map of header names to values, got ${JSON.stringify(v)}`);
  }
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    // deno-lint-ignore no-control-regex
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(k) || /[\x00-\x1f\x7f]/.test(String(val))) {
      throw new ConfigError(`"${key}": invalid header ${JSON.stringify(k)}: ${JSON.stringify(val)}`);
    }
    out.set(canonicalName(k), String(val));
  }
  return out;
}

/** Header lines sorted by name, as Go's `Header.Write` sends them. */
function lines(h: Map<string, string>): string {
  return [...h].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0).map(([k, v]) => `${k}: ${v}\r\n`).join("");
}

/**
 * The client's request head: `GET <path> HTTP/1.1`, Host, User-Agent (Go's, unless `header` sets one), then the
 * upgrade headers and `header`, sorted, and the empty line. No Content-Length: the payload follows as raw bytes.
 */
export function requestHead(host: string, path: string, header: Map<string, string>): Uint8Array {
  const h = new Map(header);
  const ua = h.get("User-Agent") ?? "Go-http-client/1.1";
  h.delete("User-Agent");
  h.delete("Host");
  h.set("Connection", "Upgrade");
  h.set("Upgrade", "websocket");
  const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  h.set("Sec-Websocket-Key", key);
  return latin1Encode(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: ${ua}\r\n${lines(h)}\r\n`);
}

/** RFC 6455's `Sec-WebSocket-Accept` for a client's key. */
export async function acceptKey(key: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-1", new TextEncoder().encode(key + GUID)));
  return btoa(String.fromCharCode(...d));
}

/** The server's `101 Switching Protocols` head (its `header` entries, Date and the upgrade headers, sorted). */
export function switchingHead(accept: string, header: Map<string, string>): Uint8Array {
  const h = new Map(header);
  h.set("Date", new Date().toUTCString());
  h.set("Connection", "Upgrade");
  h.set("Upgrade", "websocket");
  h.set("Sec-Websocket-Accept", accept);
  return latin1Encode(`HTTP/1.1 101 Switching Protocols\r\n${lines(h)}\r\n`);
}

/** The server's answer to a request that is not a GET with `Upgrade: websocket`. */
export function badRequestHead(header: Map<string, string>): Uint8Array {
  const h = new Map(header);
  h.set("Date", new Date().toUTCString());
  h.set("Content-Length", "0");
  return latin1Encode(`HTTP/1.1 400 Bad Request\r\n${lines(h)}\r\n`);
}
