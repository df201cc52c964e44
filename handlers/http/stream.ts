/**
 * HTTP/1.x I/O over a {@link HandshakeReader}: reading heads under size caps, streaming bodies by their framing
 * (copying whole buffered chunks, never byte by byte), batching small writes, and lingering before a close.
 * @module
 */
import { FieldTooLongError, HandshakeReader, UnexpectedEofError } from "../../core/bufio.ts";
import { closeQuietly, type Conn, writeFull } from "../../core/conn.ts";
import { type Framing, HttpStatusError, latin1Decode, parseChunkSize } from "./wire.ts";

const LF = 0x0a;
const CR = 0x0d;
const CRLF_BYTES = new Uint8Array([CR, LF]);
/** Initial buffer of the readers on both sides (they grow for larger heads, up to the caps). */
export const READ_BUFFER = 4 * 1024;
const BATCH = 16 * 1024;
const LARGE = 1024 * 1024;
const POOL_MAX = 8;
const pool: Uint8Array<ArrayBuffer>[] = [];
const MAX_EMPTY_LINES = 4;

/** Size caps for heads: per line and in total. */
export interface HeadLimits {
  maxLineBytes: number;
  maxHeaderBytes: number;
}

/** Reader buffers given back by finished readers ({@link releaseReader}), so a conn does not allocate its own. */
const readerPool: Uint8Array[] = [];
const READER_POOL_MAX = 64;

/** A new reader for one side of the proxy, on a reused buffer when one is free. */
export function newReader(conn: Conn): HandshakeReader {
  return new HandshakeReader(conn, readerPool.pop() ?? READ_BUFFER);
}

/** Gives a finished reader's buffer back for the next {@link newReader} (not when it grew, or a read is pending). */
export function releaseReader(r: HandshakeReader): void {
  const b = r.detach();
  if (b && b.length === READ_BUFFER && readerPool.length < READER_POOL_MAX) readerPool.push(b);
}

/** Reads one line (without LF and a trailing CR). */
async function readLine(r: HandshakeReader, max: number, status = 431): Promise<Uint8Array> {
  let line: Uint8Array;
  try {
    line = await r.readUntil(LF, max + 1);
  } catch (err) {
    if (err instanceof FieldTooLongError) throw new HttpStatusError(status, `Line longer than ${max} bytes`);
    throw err;
  }
  return line.length && line[line.length - 1] === CR ? line.subarray(0, line.length - 1) : line;
}

/**
 * Reads a head up to the empty line; leading empty lines are skipped.
 * @returns the lines as latin1 strings, or null when the stream ends before its first byte
 * @throws {HttpStatusError} 431 over the caps, 400 on a bare CR; {@link UnexpectedEofError} when cut short
 */
export async function readHead(r: HandshakeReader, limits: HeadLimits): Promise<string[] | null> {
  if (r.buffered === 0 && (await r.peekByte()) === null) return null;
  return bufferedHead(r, limits) ?? await readHeadByLines(r, limits);
}

/**
 * The fast path of {@link readHead}: when the buffered bytes hold a whole well-formed head (CRLF line ends, no
 * leading empty line, within the caps), it is consumed and decoded in one piece without waiting. Anything else
 * (incomplete, over a cap, bare CR or LF) returns null and is left to the line-by-line path, which gives the exact
 * error.
 */
function bufferedHead(r: HandshakeReader, limits: HeadLimits): string[] | null {
  const b = r.peekBuffered();
  let lineStart = 0;
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c === LF) return null;
    if (c !== CR) continue;
    if (i + 1 >= b.length || b[i + 1] !== LF) return null;
    const len = i - lineStart;
    const left = limits.maxHeaderBytes - lineStart;
    if (left <= 0 || len > Math.min(limits.maxLineBytes, left)) return null;
    if (len === 0) {
      if (lineStart === 0) return null;
      r.discard(i + 2);
      return latin1Decode(b.subarray(0, lineStart - 2)).split("\r\n");
    }
    lineStart = ++i + 1;
  }
  return null;
}

async function readHeadByLines(r: HandshakeReader, limits: HeadLimits): Promise<string[]> {
  const lines: string[] = [];
  let total = 0;
  let empty = 0;
  for (;;) {
    const left = limits.maxHeaderBytes - total;
    if (left <= 0) throw new HttpStatusError(431, `Head larger than ${limits.maxHeaderBytes} bytes`);
    const line = await readLine(r, Math.min(limits.maxLineBytes, left));
    total += line.length + 2;
    if (line.length === 0) {
      if (lines.length) return lines;
      if (++empty > MAX_EMPTY_LINES) throw new HttpStatusError(400, "Too many empty lines before the request line");
      continue;
    }
    if (line.includes(CR)) throw new HttpStatusError(400, "Bare CR in head");
    lines.push(latin1Decode(line));
  }
}

/** Coalesces small writes into one; writes large ones through. */
export class BatchWriter {
  readonly dst: Conn;
  #parts: Uint8Array[] = [];
  #size = 0;
  constructor(dst: Conn) {
    this.dst = dst;
  }
  /** Queues `p` (kept by reference until flushed), flushing once a batch is full. */
  async write(p: Uint8Array): Promise<void> {
    this.#parts.push(p);
    this.#size += p.length;
    if (this.#size >= BATCH) await this.flush();
  }
  async flush(): Promise<void> {
    if (!this.#size) return;
    const parts = this.#parts;
    let buf = parts[0];
    if (parts.length > 1) {
      buf = new Uint8Array(this.#size);
      let off = 0;
      for (const p of parts) {
        buf.set(p, off);
        off += p.length;
      }
    }
    this.#parts = [];
    this.#size = 0;
    await writeFull(this.dst, buf);
  }
}

/** Where a body comes from: a conn and the reader buffering it. */
export interface BodySource {
  readonly conn: Conn;
  readonly reader: HandshakeReader;
}

/** Returns up to `max` bytes: what is buffered, or one read's worth. Flushes `out` before blocking. */
async function readSome(r: HandshakeReader, max: number, out: BatchWriter): Promise<Uint8Array | null> {
  if (r.buffered === 0) {
    await out.flush();
    if ((await r.peekByte()) === null) return null;
  }
  return r.readFull(Math.min(r.buffered, max));
}

/**
 * Bulk transfer, as in core/relay.ts: once a read fills the reader's buffer, read straight from the conn into a
 * pooled 1 MiB buffer (never past `n` bytes) until a read comes back short.
 * @returns bytes copied, or -1 at EOF
 */
async function copyBulk(src: Conn, out: BatchWriter, n: number): Promise<number> {
  await out.flush();
  const buf = pool.pop() ?? new Uint8Array(LARGE);
  let copied = 0;
  try {
    while (copied < n) {
      const want = Math.min(buf.length, n - copied);
      const k = await src.read(want === buf.length ? buf : buf.subarray(0, want));
      if (k === null) return copied ? copied : -1;
      await writeFull(out.dst, buf.subarray(0, k));
      copied += k;
      if (k < want) break;
    }
    return copied;
  } finally {
    if (pool.length < POOL_MAX) pool.push(buf);
  }
}

/** Copies `n` bytes (`Infinity` with `toEof`: until EOF). @throws {UnexpectedEofError} at EOF unless `toEof` */
async function copyN(src: BodySource, out: BatchWriter, n: number, toEof = false): Promise<void> {
  while (n > 0) {
    const p = await readSome(src.reader, n, out);
    if (!p) {
      if (toEof) return;
      throw new UnexpectedEofError();
    }
    await out.write(p);
    n -= p.length;
    if (p.length >= READ_BUFFER && n > READ_BUFFER && src.reader.buffered === 0) {
      const k = await copyBulk(src.conn, out, n);
      if (k < 0) {
        if (toEof) return;
        throw new UnexpectedEofError();
      }
      n -= k;
    }
  }
}

async function copyChunked(src: BodySource, out: BatchWriter, limits: HeadLimits): Promise<void> {
  const r = src.reader;
  for (;;) {
    if (r.buffered === 0) await out.flush();
    const line = await readLine(r, limits.maxLineBytes, 400);
    const size = parseChunkSize(latin1Decode(line));
    await out.write(line);
    await out.write(CRLF_BYTES);
    if (size === 0) break;
    await copyN(src, out, size);
    const crlf = await r.readFull(2);
    if (crlf[0] !== CR || crlf[1] !== LF) throw new HttpStatusError(400, "Missing CRLF after chunk data");
    await out.write(CRLF_BYTES);
  }
  let total = 0;
  for (;;) {
    if (r.buffered === 0) await out.flush();
    const trailer = await readLine(r, limits.maxLineBytes);
    total += trailer.length + 2;
    if (total > limits.maxHeaderBytes) throw new HttpStatusError(431, "Trailers too large");
    await out.write(trailer);
    await out.write(CRLF_BYTES);
    if (trailer.length === 0) break;
  }
}

/**
 * Streams one body from `src` to `out` as it is framed (chunked bodies pass through unchanged), then flushes.
 * @throws {UnexpectedEofError} when the body ends early; {@link HttpStatusError} on broken chunked framing
 */
export async function copyBody(src: BodySource, out: BatchWriter, f: Framing, limits: HeadLimits): Promise<void> {
  if (f.kind === "length") await copyN(src, out, f.length);
  else if (f.kind === "chunked") await copyChunked(src, out, limits);
  else if (f.kind === "close") await copyN(src, out, Infinity, true);
  await out.flush();
}

/**
 * After an error reply: half-closes, discards what the client still sends for up to `ms` (so the reply is not lost
 * to a TCP reset), then closes.
 */
export async function lingerClose(conn: Conn, ms = 500, maxBytes = 4 << 20): Promise<void> {
  await conn.closeWrite().catch(() => {});
  const timer = setTimeout(() => closeQuietly(conn), ms);
  try {
    const buf = new Uint8Array(READ_BUFFER);
    for (let n = 0; n < maxBytes;) {
      const k = await conn.read(buf);
      if (k === null) break;
      n += k;
    }
  } catch {
    // closed by the timer or reset by the peer
  } finally {
    clearTimeout(timer);
    closeQuietly(conn);
  }
}
