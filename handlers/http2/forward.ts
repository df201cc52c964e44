/**
 * A plain request of the HTTP/2 proxy (any method but CONNECT), as GOST's http2 handler forwards it: written to the
 * target as HTTP/1.1 (`:path` in origin form, `:authority` as Host, the proxy's own headers dropped, the body as it
 * streams — with its Content-Length, else chunked), and the HTTP/1.1 answer sent back as HTTP/2 HEADERS and DATA.
 * One upstream conn per request (`Connection: close`). An answer that cannot be read or that switches protocols
 * (HTTP/2 has no upgrade) is a 503, as GOST answers a failed forward.
 * @module
 */
import { HandshakeReader, UnexpectedEofError } from "../../core/bufio.ts";
import { closeQuietly, type Conn, writeFull } from "../../core/conn.ts";
import type { ConnContext } from "../../core/contracts.ts";
import { HandshakeError } from "../../core/errors.ts";
import { type Framing, parseChunkSize, responseFraming } from "../../core/http1/framing.ts";
import { HeaderList, latin1Decode, latin1Encode, parseResponseHead, serializeHead } from "../../core/http1/head.ts";
import { readHead, readLine } from "../../core/http1/reader.ts";
import type { HeaderField } from "../../listeners/h2/hpack.ts";
import { DEFAULT_MAX_HEADER_BYTES, MAX_LINE_BYTES } from "../http/metadata.ts";
import type { ProxyRequest } from "./request.ts";
import type { Http2Metadata } from "./metadata.ts";

const LIMITS = { maxLineBytes: MAX_LINE_BYTES, maxHeaderBytes: DEFAULT_MAX_HEADER_BYTES };
/** Request fields the target never sees: the proxy's and HTTP/1.1's connection-specific ones. */
const DROPPED = new Set([
  "proxy-authorization",
  "proxy-connection",
  "gost-target",
  "x-gost-target",
  "connection",
  "keep-alive",
  "transfer-encoding",
  "upgrade",
  "te",
  "host",
]);
/** Response headers HTTP/2 forbids (RFC 9113 §8.2.2). */
const HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te"]);

/**
 * Forwards one request on `up` and answers the stream; closes `up`.
 * @throws {HandshakeError} when the target's answer is not HTTP/1.x (after answering 503)
 */
export async function forwardPlain(req: ProxyRequest, up: Conn, md: Http2Metadata, ctx: ConnContext): Promise<void> {
  const { stream } = req;
  const h = stream.headers;
  const path = h.find((f) => f.name === ":path")?.value || "/";
  const headers = new HeaderList();
  headers.add("Host", req.authority);
  const cookies: string[] = [];
  for (const f of h) {
    if (f.name.startsWith(":") || DROPPED.has(f.name)) continue;
    if (f.name === "cookie") cookies.push(f.value);
    else headers.add(f.name, f.value);
  }
  if (cookies.length) headers.add("cookie", cookies.join("; "));
  headers.add("Connection", "close");
  // a body framed by its content-length goes as it is; one without (unless there is none at all) goes chunked
  const bodyless = stream.remoteEnded && stream.buffered === 0;
  const chunked = !headers.has("content-length") && !bodyless;
  if (chunked) headers.add("Transfer-Encoding", "chunked");
  const upload = sendBody(req, up, serializeHead(`${req.method} ${path} HTTP/1.1`, headers), chunked)
    .catch((err) => {
      ctx.logger.debug(`${req.method} ${req.addr}: upload: ${err}`);
      closeQuietly(up);
    });
  let answered = false;
  try {
    const r = new HandshakeReader(up, 4096);
    let res;
    for (;;) {
      const lines = await readHead(r, LIMITS);
      if (!lines) throw new UnexpectedEofError();
      res = parseResponseHead(lines);
      if (res.status >= 200 || res.status === 101) break; // 1xx: dropped
    }
    if (res.status === 101) throw new HandshakeError(`http2: ${req.addr} switched protocols, which HTTP/2 cannot`);
    const framing = responseFraming(req.method, res.status, res.headers);
    const out: HeaderField[] = [{ name: ":status", value: String(res.status) }];
    const named = res.headers.tokens("connection");
    for (const e of res.headers.entries) {
      if (HOP.has(e.key) || named.includes(e.key)) continue;
      if (e.key === "content-length" && framing.kind === "chunked") continue;
      out.push({ name: e.key, value: e.value });
    }
    out.push(...md.header);
    answered = true;
    await stream.sendHeaders(out, framing.kind === "none");
    if (framing.kind !== "none") {
      await copyResponseBody(r, framing, req.conn);
      await req.conn.closeWrite();
    }
    ctx.logger.debug(`${req.method} ${req.addr}${path}: ${res.status}`);
  } catch (err) {
    if (!answered) await stream.sendHeaders([{ name: ":status", value: "503" }, ...md.header], true).catch(() => {});
    throw err;
  } finally {
    closeQuietly(up);
    await upload;
  }
}

/** Writes the request head, then the stream's DATA (as chunks with `chunked`, else as it is: Content-Length frames it). */
async function sendBody(req: ProxyRequest, up: Conn, head: Uint8Array, chunked: boolean): Promise<void> {
  await writeFull(up, head);
  if (req.stream.remoteEnded && req.stream.buffered === 0) return;
  const buf = new Uint8Array(64 * 1024);
  for (;;) {
    const n = await req.conn.read(buf);
    if (n === null) break;
    if (!chunked) await writeFull(up, buf.subarray(0, n));
    else {
      await writeFull(up, latin1Encode(`${n.toString(16)}\r\n`));
      await writeFull(up, buf.subarray(0, n));
      await writeFull(up, latin1Encode("\r\n"));
    }
  }
  if (chunked) await writeFull(up, latin1Encode("0\r\n\r\n"));
}

/** Streams an HTTP/1.1 body (by its framing; chunks decoded) to the stream as DATA. */
async function copyResponseBody(r: HandshakeReader, f: Framing, stream: Conn): Promise<void> {
  if (f.kind === "length") return await copyN(r, f.length, stream, false);
  if (f.kind === "close") return await copyN(r, Infinity, stream, true);
  if (f.kind !== "chunked") return;
  for (;;) {
    const size = parseChunkSize(latin1Decode(await readLine(r, LIMITS.maxLineBytes, 502)));
    if (size === 0) break;
    await copyN(r, size, stream, false);
    const crlf = await r.readFull(2);
    if (crlf[0] !== 0x0d || crlf[1] !== 0x0a) throw new HandshakeError("http2: missing CRLF after a chunk");
  }
  // trailers: read and dropped
  let total = 0;
  for (;;) {
    const line = await readLine(r, LIMITS.maxLineBytes, 502);
    total += line.length;
    if (line.length === 0) break;
    if (total > LIMITS.maxHeaderBytes) throw new HandshakeError("http2: trailers too large");
  }
}

/** Copies `n` bytes (to EOF with `toEof`) from the reader to the stream. */
async function copyN(r: HandshakeReader, n: number, stream: Conn, toEof: boolean): Promise<void> {
  while (n > 0) {
    if (r.buffered === 0 && (await r.peekByte()) === null) {
      if (toEof) return;
      throw new UnexpectedEofError();
    }
    const k = Math.min(r.buffered, n);
    const chunk = r.peekBuffered().subarray(0, k);
    await writeFull(stream, chunk);
    r.discard(k);
    n -= k;
  }
}
