/**
 * Telling the protocol of a forwarded conn from its first bytes (GOST's x/internal/util/sniffing `Sniff`), without
 * losing them: `redis` by the first byte (`* + - : $`), `tls` by a handshake record header (0x16, version 3.1 to
 * 3.4), `http` by a method prefix, `ssh` by `SSH-2`; anything else — or a stream that ends, or stays quiet past
 * `sniffing.timeout` — is unknown and forwarded raw. The bytes read (and a read still pending at the timeout) are
 * returned first by the conn {@link sniff} hands back.
 * @module
 */
import { type Conn, ConnWrapper } from "../../core/conn.ts";
import { looksLikeTls } from "../../core/tls_client_hello.ts";

/** What sniffing found: a protocol a node filter can name, or `""`. */
export type SniffedProtocol = "http" | "tls" | "ssh" | "redis" | "";

/** GOST's HTTP prefixes (of the first 5 bytes), HTTP/2's preface included. */
const HTTP_PREFIXES = ["GET ", "POST", "PUT ", "DELET", "OPTIO", "PATCH", "HEAD ", "CONNE", "TRACE", "PRI *"];
const REDIS_FIRST = new Set([0x2a, 0x2b, 0x2d, 0x3a, 0x24]); // * + - : $
/** How many bytes sniffing looks at. */
const SNIFF_BYTES = 5;
/** The sniff buffer: what one read may bring (the head of a request). */
const SNIFF_BUFFER = 4 * 1024;

/** The protocol of a stream's first bytes (at most 5 are looked at). */
export function classify(head: Uint8Array): SniffedProtocol {
  if (head.length === 0) return "";
  if (REDIS_FIRST.has(head[0])) return "redis";
  if (head.length < SNIFF_BYTES) return "";
  if (looksLikeTls(head)) return "tls";
  const s = String.fromCharCode(...head.subarray(0, SNIFF_BYTES));
  if (HTTP_PREFIXES.some((p) => s.startsWith(p))) return "http";
  if (s === "SSH-2") return "ssh";
  return "";
}

/** A conn that returns the sniffed bytes first, then the result of a read sniffing left pending, then reads on. */
export class SniffedConn extends ConnWrapper {
  #prefix: Uint8Array | null;
  #pending: Promise<number | null> | null;
  readonly #buf: Uint8Array;
  readonly #at: number;
  #eof: boolean;

  /**
   * @param buf the sniff buffer: bytes `[0, at)` were read; a pending read fills it from `at`
   * @param eof the stream ended during sniffing
   */
  constructor(inner: Conn, buf: Uint8Array, at: number, pending: Promise<number | null> | null, eof: boolean) {
    super(inner);
    this.#buf = buf;
    this.#at = at;
    this.#prefix = at ? buf.subarray(0, at) : null;
    this.#pending = pending;
    this.#eof = eof;
  }

  override async read(p: Uint8Array): Promise<number | null> {
    const pre = this.#prefix;
    if (pre) {
      const n = Math.min(p.length, pre.length);
      p.set(pre.subarray(0, n));
      this.#prefix = n < pre.length ? pre.subarray(n) : null;
      return n;
    }
    if (this.#pending) {
      const k = await this.#pending;
      this.#pending = null;
      if (k === null) return null;
      this.#prefix = this.#buf.subarray(this.#at, this.#at + k);
      return this.read(p);
    }
    if (this.#eof) return null;
    return this.inner.read(p);
  }
}

/**
 * Reads until 5 bytes came (or the stream ends, or `timeoutMs` passes) and classifies them.
 * @param timeoutMs 0: no bound (GOST's default `sniffing.timeout`)
 * @returns the protocol and the conn to go on with (the sniffed bytes first)
 */
export async function sniff(conn: Conn, timeoutMs: number): Promise<{ protocol: SniffedProtocol; conn: Conn }> {
  const buf = new Uint8Array(SNIFF_BUFFER);
  let at = 0;
  let pending: Promise<number | null> | null = null;
  let eof = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = timeoutMs > 0
    ? new Promise<"timeout">((resolve) => timer = setTimeout(() => resolve("timeout"), timeoutMs))
    : undefined;
  try {
    while (at < SNIFF_BYTES && !(at > 0 && REDIS_FIRST.has(buf[0]))) {
      const read: Promise<number | null> = pending ??= conn.read(buf.subarray(at));
      // a read that fails after the timeout is the relay's to see; never an unhandled rejection
      read.catch(() => {});
      const got = expired ? await Promise.race([read, expired]) : await read;
      if (got === "timeout") break;
      pending = null;
      if (got === null) {
        eof = true;
        break;
      }
      at += got;
    }
  } finally {
    clearTimeout(timer);
  }
  return { protocol: classify(buf.subarray(0, at)), conn: new SniffedConn(conn, buf, at, pending, eof) };
}
