/**
 * The WebSocket opening handshake (RFC 6455 §4) as GOST's ws transports run it with gorilla/websocket: the client's
 * `GET <path>` upgrade request and the server's `101 Switching Protocols` with `Sec-WebSocket-Accept`; a request
 * that is not an upgrade gets gorilla's status (400, 405) or the path's 404 and a close (docs/wire.md, "WebSocket").
 * @module
 */
import { closeQuietly, type Conn, writeFull } from "../../core/conn.ts";
import { HandshakeError } from "../../core/errors.ts";
import {
  HeaderList,
  HttpStatusError,
  latin1Encode,
  parseRequestHead,
  parseResponseHead,
} from "../../core/http1/head.ts";
import { type HeadLimits, readHead } from "../../core/http1/reader.ts";
import { HandshakeReader } from "../../core/bufio.ts";
import { WsConn } from "./conn.ts";

/** The GUID of RFC 6455 §1.3. */
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** Caps on a handshake head (request or response). */
export const WS_HEAD_LIMITS: HeadLimits = { maxLineBytes: 8192, maxHeaderBytes: 64 * 1024 };

/** `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`: base64(SHA-1(key + GUID)). */
export async function acceptKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(key + GUID));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

/** A fresh `Sec-WebSocket-Key`: 16 random bytes, base64. */
export function newKey(): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
}

/** True when `key` is the base64 of 16 bytes (gorilla's check). */
function validKey(key: string | undefined): boolean {
  if (!key) return false;
  try {
    return atob(key).length === 16;
  } catch {
    return false;
  }
}

/** What the client side sends. */
export interface ClientHandshake {
  /** `Host` header: GOST's `host` key, else the node's address. */
  host: string;
  /** Request path (GOST's `path`, default `/ws`). */
  path: string;
  /** Extra request headers (GOST's `header`). */
  header: [string, string][];
  /** Read-ahead buffer size of the conn (GOST's `readBufferSize`). */
  bufferSize: number;
}

/**
 * Runs the client handshake over `conn`; the caller bounds it in time (closing `conn` ends it).
 * @throws {HandshakeError} on any answer but a valid 101
 */
export async function clientHandshake(conn: Conn, h: ClientHandshake): Promise<WsConn> {
  const key = newKey();
  const headers = new HeaderList();
  headers.add("Host", h.host);
  headers.add("User-Agent", "Go-http-client/1.1");
  headers.add("Connection", "Upgrade");
  headers.add("Sec-WebSocket-Key", key);
  headers.add("Sec-WebSocket-Version", "13");
  headers.add("Upgrade", "websocket");
  for (const [name, value] of h.header) {
    if (name.toLowerCase() === "host") headers.set("Host", value);
    else headers.add(name, value);
  }
  await writeFull(conn, serialize(`GET ${h.path} HTTP/1.1`, headers));
  const r = new HandshakeReader(conn, 1024);
  const lines = await readHead(r, WS_HEAD_LIMITS);
  if (!lines) throw new HandshakeError("WebSocket handshake: the server closed without an answer");
  const res = parseResponseHead(lines);
  const expect = await acceptKey(key);
  if (
    res.status !== 101 || !res.headers.tokens("upgrade").includes("websocket") ||
    !res.headers.tokens("connection").includes("upgrade") || res.headers.get("sec-websocket-accept") !== expect
  ) {
    throw new HandshakeError(`WebSocket handshake: bad handshake (${res.status} ${res.reason})`.trim());
  }
  if (res.headers.get("sec-websocket-extensions")) {
    throw new HandshakeError("WebSocket handshake: the server chose an extension that was not offered");
  }
  return new WsConn(conn, true, r.takeBuffered(), h.bufferSize);
}

/** How the server side answers. */
export interface ServerHandshake {
  /** The one path upgraded (GOST's `path`): exact, or a subtree when it ends with `/` (Go's ServeMux). */
  path: string;
  /** Extra response headers of the 101 (GOST's `header`). */
  header: [string, string][];
  bufferSize: number;
}

/** A request refused with an HTTP status; the conn has been answered and closed. */
export class UpgradeRefusedError extends HandshakeError {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/**
 * Runs the server handshake over `conn`; the caller bounds it in time.
 * @throws {UpgradeRefusedError} after answering a request that is not a WebSocket upgrade (conn closed)
 */
export async function serverHandshake(conn: Conn, s: ServerHandshake): Promise<WsConn> {
  const r = new HandshakeReader(conn, 1024);
  let status = 400, why = "";
  try {
    const lines = await readHead(r, WS_HEAD_LIMITS);
    if (!lines) throw new HandshakeError("WebSocket handshake: the client closed before a request");
    const req = parseRequestHead(lines);
    const path = req.target.split("?", 1)[0];
    const h = req.headers;
    if (!(s.path.endsWith("/") ? path.startsWith(s.path) : path === s.path)) {
      [status, why] = [404, `path ${JSON.stringify(path.slice(0, 100))} is not ${s.path}`];
    } else if (!h.tokens("connection").includes("upgrade")) {
      why =
        "websocket: the client is not using the websocket protocol: 'upgrade' token not found in 'Connection' header";
    } else if (!h.tokens("upgrade").includes("websocket")) {
      why =
        "websocket: the client is not using the websocket protocol: 'websocket' token not found in 'Upgrade' header";
    } else if (req.method !== "GET") {
      [status, why] = [405, "websocket: the client is not using the websocket protocol: request method is not GET"];
    } else if (!h.tokens("sec-websocket-version").includes("13")) {
      why = "websocket: unsupported version: 13 not found in 'Sec-Websocket-Version' header";
    } else if (!validKey(h.get("sec-websocket-key"))) {
      why = "websocket: not a websocket handshake: 'Sec-WebSocket-Key' header must be Base64 encoded value of 16-byte";
    } else {
      const out = new HeaderList();
      out.add("Upgrade", "websocket");
      out.add("Connection", "Upgrade");
      out.add("Sec-WebSocket-Accept", await acceptKey(h.get("sec-websocket-key")!));
      for (const [name, value] of s.header) out.add(name, value);
      await writeFull(conn, serialize("HTTP/1.1 101 Switching Protocols", out));
      return new WsConn(conn, false, r.takeBuffered(), s.bufferSize);
    }
  } catch (err) {
    if (!(err instanceof HttpStatusError)) throw err;
    [status, why] = [err.status, err.message];
  }
  await refuse(conn, status);
  throw new UpgradeRefusedError(status, `WebSocket upgrade refused (${status}): ${why}`);
}

/** Answers `status` as Go's http.Error does, then closes. */
async function refuse(conn: Conn, status: number): Promise<void> {
  const text = status === 404 ? "404 page not found" : STATUS_TEXT[status] ?? "Bad Request";
  const body = `${text}\n`;
  const h = new HeaderList();
  h.add("Content-Type", "text/plain; charset=utf-8");
  if (status !== 404) h.add("Sec-Websocket-Version", "13");
  h.add("X-Content-Type-Options", "nosniff");
  h.add("Content-Length", String(body.length));
  h.add("Connection", "close");
  const reason = STATUS_TEXT[status] ?? "Bad Request";
  try {
    await writeFull(conn, latin1Encode(head(`HTTP/1.1 ${status} ${reason}`, h) + body));
  } catch {
    // the client is gone
  } finally {
    closeQuietly(conn);
  }
}

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  431: "Request Header Fields Too Large",
  505: "HTTP Version Not Supported",
};

/** A head as text: the start line, the headers and the empty line. */
function head(startLine: string, h: HeaderList): string {
  let s = `${startLine}\r\n`;
  for (const { name, value } of h.entries) s += `${name}: ${value}\r\n`;
  return `${s}\r\n`;
}

function serialize(startLine: string, h: HeaderList): Uint8Array {
  return latin1Encode(head(startLine, h));
}
