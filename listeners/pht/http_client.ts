/**
 * The few HTTP/1.1 client pieces the PHT dialer needs over its own conns: a request head, a response head and its
 * body as byte chunks (docs/wire.md, "PHT").
 * @module
 */
import type { HandshakeReader } from "../../core/bufio.ts";
import type { Conn } from "../../core/conn.ts";
import { writeFull } from "../../core/conn.ts";
import { type Framing, parseChunkSize, responseFraming } from "../../core/http1/framing.ts";
import { latin1Encode, parseResponseHead, type ResponseHead } from "../../core/http1/head.ts";
import { newReader, readHead, readLine } from "../../core/http1/reader.ts";

const HEAD_LIMITS = { maxLineBytes: 16 * 1024, maxHeaderBytes: 64 * 1024 };

/** One HTTP conn of the dialer and its reader. */
export interface HttpConn {
  conn: Conn;
  r: HandshakeReader;
}

/** Wraps a conn for requests. */
export function httpConn(conn: Conn): HttpConn {
  return { conn, r: newReader(conn) };
}

/** Sends a request: head (with `headers`) and `body`, in one write. */
export async function sendRequest(
  c: HttpConn,
  method: string,
  target: string,
  host: string,
  headers: readonly [string, string][],
  body?: Uint8Array,
): Promise<void> {
  let head = `${method} ${target} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: Go-http-client/1.1\r\n`;
  for (const [k, v] of headers) head += `${k}: ${v}\r\n`;
  if (body) head += `Content-Length: ${body.length}\r\n`;
  head += "\r\n";
  const h = latin1Encode(head);
  if (!body?.length) return await writeFull(c.conn, h);
  const out = new Uint8Array(h.length + body.length);
  out.set(h);
  out.set(body, h.length);
  await writeFull(c.conn, out);
}

/** A response head and its body framing. */
export interface Response {
  head: ResponseHead;
  framing: Framing;
  /** The server keeps the conn open for another request. */
  keep: boolean;
}

/** Reads a response head. @throws when the conn ends first or the head is malformed */
export async function readResponse(c: HttpConn, method: string): Promise<Response> {
  const lines = await readHead(c.r, HEAD_LIMITS);
  if (lines === null) throw new Error("connection closed before the response");
  const head = parseResponseHead(lines);
  const framing = responseFraming(method, head.status, head.headers);
  const keep = framing.kind !== "close" && head.minor >= 1 && !head.headers.tokens("connection").includes("close");
  return { head, framing, keep };
}

/** The body's bytes, chunk by chunk (`max` bytes at most each), until its end. */
export async function* bodyChunks(c: HttpConn, framing: Framing, max = 256 * 1024): AsyncGenerator<Uint8Array> {
  if (framing.kind === "none") return;
  if (framing.kind === "length") {
    let left = framing.length;
    while (left > 0) {
      const b = await c.r.readFull(Math.min(left, max));
      left -= b.length;
      yield b;
    }
    return;
  }
  if (framing.kind === "chunked") {
    for (;;) {
      const size = parseChunkSize(new TextDecoder().decode(await readLine(c.r, 1024, 502)));
      if (size === 0) break;
      let left = size;
      while (left > 0) {
        const b = await c.r.readFull(Math.min(left, max));
        left -= b.length;
        yield b;
      }
      await readLine(c.r, 2, 502);
    }
    while ((await readLine(c.r, 1024, 502)).length); // trailers
    return;
  }
  // close-delimited: what is buffered, then the conn to EOF
  if (c.r.buffered) yield c.r.takeBuffered();
  const buf = new Uint8Array(64 * 1024);
  for (;;) {
    const n = await c.conn.read(buf);
    if (n === null) return;
    yield buf.slice(0, n);
  }
}

/** The whole (small) body. */
export async function readSmallBody(c: HttpConn, framing: Framing, max: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const b of bodyChunks(c, framing)) {
    n += b.length;
    if (n > max) throw new Error(`response body over ${max} bytes`);
    parts.push(b);
  }
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
