/**
 * HTTP/1.x I/O over a {@link HandshakeReader}: streaming bodies by their framing (copying whole buffered chunks,
 * never byte by byte) and batching small writes. Reading heads, reader buffers and lingering before a close live in
 * core/http1/reader.ts and are re-exported here.
 * @module
 */
import { type HandshakeReader, UnexpectedEofError } from "../../core/bufio.ts";
import { type Conn, writeFull } from "../../core/conn.ts";
import { type HeadLimits, READ_BUFFER, readLine } from "../../core/http1/reader.ts";
import { type Framing, HttpStatusError, latin1Decode, parseChunkSize } from "./wire.ts";

export {
  type HeadLimits,
  lingerClose,
  newReader,
  READ_BUFFER,
  readHead,
  releaseReader,
} from "../../core/http1/reader.ts";

const LF = 0x0a;
const CR = 0x0d;
const CRLF_BYTES = new Uint8Array([CR, LF]);
const BATCH = 16 * 1024;
const LARGE = 1024 * 1024;
const POOL_MAX = 8;
const pool: Uint8Array<ArrayBuffer>[] = [];

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
