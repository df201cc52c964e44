/**
 * Reading HTTP/1.1 requests on the server side over any {@link Conn} (the Web API, the `api` handler, the metrics):
 * the head through the bounded head reader, the body by Content-Length or chunked under a cap, into a fetch
 * `Request`. Keep-alive as HTTP/1.1 (and `Connection: keep-alive` on 1.0).
 * @module
 */
import { concatBytes } from "../bytes.ts";
import { FieldTooLongError, type HandshakeReader } from "../bufio.ts";
import { addrString, type Conn, writeFull } from "../conn.ts";
import { parseChunkSize, requestFraming } from "./framing.ts";
import { HttpStatusError, latin1Decode, latin1Encode, parseRequestHead } from "./head.ts";
import { readHead } from "./reader.ts";

/** Caps on one request. */
export interface RequestLimits {
  maxLineBytes: number;
  maxHeaderBytes: number;
  /** The largest body read; over it the request is answered 413. */
  maxBodyBytes: number;
}

/** A request read off the conn. */
export interface IncomingRequest {
  request: Request;
  /** Whether the conn may carry another request after the response. */
  keepAlive: boolean;
  method: string;
}

/** The body is over {@link RequestLimits.maxBodyBytes}: answer 413 and close. */
export class BodyTooLargeError extends HttpStatusError {
  constructor(max: number) {
    super(413, `request body: larger than ${max} bytes`);
  }
}

const LF = 0x0a;

async function readChunked(r: HandshakeReader, limits: RequestLimits): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  const line = async () => {
    try {
      const b = await r.readUntil(LF, limits.maxLineBytes);
      return latin1Decode(b.length && b[b.length - 1] === 0x0d ? b.subarray(0, b.length - 1) : b);
    } catch (err) {
      if (err instanceof FieldTooLongError) throw new HttpStatusError(400, "chunk line too long");
      throw err;
    }
  };
  for (;;) {
    const n = parseChunkSize(await line());
    if (n === 0) break;
    size += n;
    if (size > limits.maxBodyBytes) throw new BodyTooLargeError(limits.maxBodyBytes);
    parts.push(await r.readFull(n));
    if ((await line()) !== "") throw new HttpStatusError(400, "Missing CRLF after chunk data");
  }
  let trailers = 0;
  for (let t = await line(); t !== ""; t = await line()) {
    trailers += t.length;
    if (trailers > limits.maxHeaderBytes) throw new HttpStatusError(431, "Trailers too large");
  }
  return concatBytes(parts, size);
}

/**
 * Reads the next request.
 * @param r the conn's reader
 * @param conn the conn (for `100 Continue` and the Host fallback)
 * @returns the request, or null when the client closed before sending one
 * @throws {HttpStatusError} on a malformed request (400/431/505) or a body over the cap (413)
 */
export async function readRequest(r: HandshakeReader, conn: Conn, limits: RequestLimits): Promise<
  IncomingRequest | null
> {
  const lines = await readHead(r, limits);
  if (!lines) return null;
  const head = parseRequestHead(lines);
  const framing = requestFraming(head.headers);
  const conn_ = head.headers.tokens("connection");
  const keepAlive = head.minor >= 1 ? !conn_.includes("close") : conn_.includes("keep-alive");
  if (framing.kind === "length" && framing.length > limits.maxBodyBytes) {
    throw new BodyTooLargeError(limits.maxBodyBytes);
  }
  if (framing.kind !== "none" && head.headers.tokens("expect").includes("100-continue")) {
    await writeFull(conn, latin1Encode("HTTP/1.1 100 Continue\r\n\r\n"));
  }
  let body: Uint8Array | undefined;
  if (framing.kind === "length") body = await r.readFull(framing.length);
  else if (framing.kind === "chunked") body = await readChunked(r, limits);
  const host = head.headers.get("host") || addrString(conn.localAddr) || "localhost";
  let url: string;
  if (/^https?:\/\//i.test(head.target)) url = head.target;
  else if (head.target.startsWith("/")) url = `http://${host}${head.target}`;
  else throw new HttpStatusError(400, `Unsupported request target "${head.target.slice(0, 100)}"`);
  const headers = new Headers();
  for (const h of head.headers.entries) {
    if (h.key === "transfer-encoding" || h.key === "connection" || h.key === "keep-alive") continue;
    try {
      headers.append(h.name, h.value);
    } catch {
      throw new HttpStatusError(400, `Invalid header "${h.name}"`);
    }
  }
  let request: Request;
  try {
    request = new Request(url, {
      method: head.method,
      headers,
      body: body && head.method !== "GET" && head.method !== "HEAD" ? body as Uint8Array<ArrayBuffer> : undefined,
    });
  } catch (err) {
    throw new HttpStatusError(400, `Invalid request: ${(err as Error).message}`);
  }
  return { request, keepAlive, method: head.method };
}
