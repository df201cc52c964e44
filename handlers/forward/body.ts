/**
 * HTTP/1.x bodies as data, for the reverse proxy's body rewrites: reading a body out of its framing (Content-Length,
 * chunked, to the end of the stream) piece by piece or up to a cap, and GOST's decompress → rewrite → recompress of
 * `gzip`, `deflate` and `br` bodies (`node:zlib`, loaded on first use). Bodies that are not rewritten are streamed
 * as framed (handlers/http/stream.ts `copyBody`), never through here.
 * @module
 */
import type { HandshakeReader } from "../../core/bufio.ts";
import { UnexpectedEofError } from "../../core/errors.ts";
import { readLine } from "../../core/http1/reader.ts";
import { latin1Decode } from "../../core/http1/head.ts";
import { type Framing, parseChunkSize } from "../../core/http1/framing.ts";
import { HttpStatusError } from "../../core/http1/head.ts";

/** The most a piece of a body read at once. */
const PIECE = 64 * 1024;

/** Caps on the lines of a chunked body. */
export interface BodyLimits {
  maxLineBytes: number;
  maxHeaderBytes: number;
}

async function some(r: HandshakeReader, max: number): Promise<Uint8Array | null> {
  if (r.buffered === 0 && (await r.peekByte()) === null) return null;
  return r.readFull(Math.min(r.buffered, max));
}

/**
 * The body's data, piece by piece (chunked framing removed, trailers read and dropped).
 * @throws {UnexpectedEofError} when a framed body ends early; {@link HttpStatusError} on broken chunked framing
 */
export async function* bodyPieces(r: HandshakeReader, f: Framing, limits: BodyLimits): AsyncGenerator<Uint8Array> {
  if (f.kind === "none") return;
  if (f.kind === "close") {
    for (let p = await some(r, PIECE); p; p = await some(r, PIECE)) yield p;
    return;
  }
  if (f.kind === "length") {
    for (let left = f.length; left > 0;) {
      const p = await some(r, Math.min(left, PIECE));
      if (!p) throw new UnexpectedEofError("body cut short");
      left -= p.length;
      yield p;
    }
    return;
  }
  for (;;) {
    const size = parseChunkSize(latin1Decode(await readLine(r, limits.maxLineBytes, 400)));
    if (size === 0) break;
    for (let left = size; left > 0;) {
      const p = await some(r, Math.min(left, PIECE));
      if (!p) throw new UnexpectedEofError("chunked body cut short");
      left -= p.length;
      yield p;
    }
    if ((await readLine(r, limits.maxLineBytes, 400)).length !== 0) {
      throw new HttpStatusError(400, "Missing CRLF after chunk data");
    }
  }
  let total = 0;
  for (let t = await readLine(r, limits.maxLineBytes); t.length; t = await readLine(r, limits.maxLineBytes)) {
    total += t.length + 2;
    if (total > limits.maxHeaderBytes) throw new HttpStatusError(431, "Trailers too large");
  }
}

/** A body read up to a cap: whole, or the part read before the cap and the pieces still to come. */
export type BoundedBody =
  | { whole: true; data: Uint8Array }
  | { whole: false; head: Uint8Array; rest: AsyncGenerator<Uint8Array> };

/** Reads a body whole when it fits in `max` bytes; else what was read and the rest of it, to be passed on. */
export async function readBounded(
  r: HandshakeReader,
  f: Framing,
  limits: BodyLimits,
  max: number,
): Promise<BoundedBody> {
  const pieces = bodyPieces(r, f, limits);
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { value, done } = await pieces.next();
    if (done) break;
    parts.push(value);
    size += value.length;
    if (size > max) return { whole: false, head: join(parts, size), rest: pieces };
  }
  return { whole: true, data: join(parts, size) };
}

/** Joins pieces. */
export function join(parts: Uint8Array[], size = parts.reduce((n, p) => n + p.length, 0)): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** The encodings whose bodies are decompressed, rewritten and compressed again (GOST's, but `zstd`). */
export const CODINGS = ["gzip", "deflate", "br"] as const;
/** One of {@link CODINGS}, or `identity` (none). */
export type Coding = typeof CODINGS[number] | "identity";

/** The coding of a `Content-Encoding` value, or undefined for one that cannot be rewritten (zstd, several). */
export function codingOf(value: string | undefined): Coding | undefined {
  const v = (value ?? "").trim().toLowerCase();
  if (v === "" || v === "identity") return "identity";
  return (CODINGS as readonly string[]).includes(v) ? v as Coding : undefined;
}

/** Decompresses `data` of `coding`. @throws when it is not valid data of that coding */
export async function decode(data: Uint8Array, coding: Coding): Promise<Uint8Array> {
  if (coding === "identity") return data;
  const z = await import("node:zlib");
  const out = coding === "gzip"
    ? z.gunzipSync(data)
    : coding === "deflate"
    ? z.inflateSync(data)
    : z.brotliDecompressSync(data);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** Compresses `data` with `coding`. */
export async function encode(data: Uint8Array, coding: Coding): Promise<Uint8Array> {
  if (coding === "identity") return data;
  const z = await import("node:zlib");
  const out = coding === "gzip"
    ? z.gzipSync(data)
    : coding === "deflate"
    ? z.deflateSync(data)
    : z.brotliCompressSync(data);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
