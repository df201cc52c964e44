/**
 * Reading HTTP/1.x heads over a {@link HandshakeReader} under size caps (shared by the proxy and the servers of the
 * Web API and the metrics), pooled reader buffers, and lingering before a close.
 * @module
 */
import { FieldTooLongError, HandshakeReader } from "../bufio.ts";
import { closeQuietly, type Conn } from "../conn.ts";
import { HttpStatusError, latin1Decode } from "./head.ts";

const LF = 0x0a;
const CR = 0x0d;
/** Initial buffer of the readers on both sides (they grow for larger heads, up to the caps). */
export const READ_BUFFER = 4 * 1024;
const MAX_EMPTY_LINES = 4;

/** Size caps for heads: per line and in total. */
export interface HeadLimits {
  maxLineBytes: number;
  maxHeaderBytes: number;
}

/** Reader buffers given back by finished readers ({@link releaseReader}), so a conn does not allocate its own. */
const readerPool: Uint8Array[] = [];
const READER_POOL_MAX = 64;

/** A new reader for one side of a conn, on a reused buffer when one is free. */
export function newReader(conn: Conn): HandshakeReader {
  return new HandshakeReader(conn, readerPool.pop() ?? READ_BUFFER);
}

/** Gives a finished reader's buffer back for the next {@link newReader} (not when it grew, or a read is pending). */
export function releaseReader(r: HandshakeReader): void {
  const b = r.detach();
  if (b && b.length === READ_BUFFER && readerPool.length < READER_POOL_MAX) readerPool.push(b);
}

/**
 * Reads one line (without LF and a trailing CR).
 * @throws {HttpStatusError} `status` (431 by default) when it is longer than `max` bytes
 */
export async function readLine(r: HandshakeReader, max: number, status = 431): Promise<Uint8Array> {
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
