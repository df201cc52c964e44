/**
 * The `pht`/`phts` listener: GOST's plain-HTTP tunnel server (docs/wire.md, "PHT"). An HTTP/1.1 server (TLS for
 * `phts`) with three paths: `authorizePath` hands out a token, `pushPath` takes the client's bytes as one base64
 * line per POST, `pullPath` streams the handler's bytes back as base64 lines of a chunked response. Each token is a
 * session: a conn for `accept()`.
 *
 * Bounded: `backlog` sessions wait for `accept()` (more get 429, as GOST); each direction buffers at most
 * {@link SESSION_BUFFER}; a push body over {@link MAX_PUSH_BODY} gets 413; a session without a pull for
 * `pullTimeout` is dropped with a log line; heads are capped and timed; garbage gets a 400 and a log line.
 * @module
 */
import { acceptTcp } from "../../core/accept.ts";
import { addrString, closeQuietly, type Conn, writeFull } from "../../core/conn.ts";
import { after } from "../../core/deadline.ts";
import { ConfigError, errorMessage, isBenignEnd } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import { type Listener, ListenerClosedError, type ListenerOptions } from "../../core/contracts.ts";
import type { HandshakeReader } from "../../core/bufio.ts";
import { HttpStatusError, latin1Encode, parseRequestHead, type RequestHead } from "../../core/http1/head.ts";
import { parseChunkSize, requestFraming } from "../../core/http1/framing.ts";
import { newReader, readHead, readLine, releaseReader } from "../../core/http1/reader.ts";
import { STATUS_TEXT } from "../../core/http1/status.ts";
import { bindListenAddr, parseListenAddr, unmapConnAddrs } from "../addr.ts";
import type { SecureContext } from "node:tls";
import { PhtSession } from "./session.ts";
import {
  decodeLine,
  DEFAULT_AUTHORIZE_PATH,
  DEFAULT_PULL_PATH,
  DEFAULT_PUSH_PATH,
  encodeLines,
  HEARTBEAT_MS,
  MAX_PUSH_BODY,
  newToken,
  pathKey,
  validToken,
} from "./wire.ts";

/** GOST's default `backlog`: sessions waiting for `accept()`. */
export const DEFAULT_BACKLOG = 128;
/** A session with no pull streaming for this long is dropped (ours; GOST keeps it forever). */
export const DEFAULT_PULL_TIMEOUT_MS = 30_000;
/** A push waits this long for the handler to read (GOST: 30 s write deadline, then 410). */
const PUSH_WAIT_MS = 30_000;
/** Time for a request head (GOST: ReadHeaderTimeout 30 s). */
const HEAD_TIMEOUT_MS = 30_000;
/** Keep-alive conns idle this long between requests are closed. */
const IDLE_TIMEOUT_MS = 90_000;
/** A pull chunk the client does not take within this is its end. */
const WRITE_TIMEOUT_MS = 30_000;
/** Raw bytes per pull chunk (many lines). */
const PULL_CHUNK_RAW = 512 * 1024;
/** Ended tokens remembered (answered 403) at most this many and this long. */
const TOMBSTONES = 65_536;
const TOMBSTONE_MS = 10 * 60_000;
/** HTTP conns open at once; more are closed at accept. */
const MAX_HTTP_CONNS = 16_384;
const HEAD_LIMITS = { maxLineBytes: 16 * 1024, maxHeaderBytes: 64 * 1024 };

/** Options of {@link PhtListener} beyond the listener's. */
export interface PhtListenerInit {
  /** `phts`: TLS on every HTTP conn. */
  tls: boolean;
}

/** The PHT listener (server side of `pht` and `phts`). */
export class PhtListener implements Listener {
  readonly #opts: ListenerOptions;
  readonly #tls: boolean;
  #ln: Deno.TcpListener | null = null;
  #context: SecureContext | null = null;
  #handshakeMs = 10_000;
  #authorizePath = DEFAULT_AUTHORIZE_PATH;
  #pushPath = DEFAULT_PUSH_PATH;
  #pullPath = DEFAULT_PULL_PATH;
  #backlog = DEFAULT_BACKLOG;
  #pullTimeoutMs = DEFAULT_PULL_TIMEOUT_MS;
  #closed = false;
  readonly #sessions = new Map<string, PhtSession>();
  readonly #tombstones = new Map<string, number>();
  readonly #ready: PhtSession[] = [];
  readonly #conns = new Set<Conn>();
  #wake: (() => void) | null = null;
  #acceptError: unknown = null;
  #sweeper: ReturnType<typeof setInterval> | undefined;

  constructor(opts: ListenerOptions, init: PhtListenerInit) {
    this.#opts = opts;
    this.#tls = init.tls;
  }

  /** Reads GOST's keys (paths, backlog) and `pullTimeout`, loads TLS for `phts`, binds and starts serving. */
  async init(md: Metadata): Promise<void> {
    this.#authorizePath = pathKey(md, "authorizePath", DEFAULT_AUTHORIZE_PATH);
    this.#pushPath = pathKey(md, "pushPath", DEFAULT_PUSH_PATH);
    this.#pullPath = pathKey(md, "pullPath", DEFAULT_PULL_PATH);
    const paths = new Set([this.#authorizePath, this.#pushPath, this.#pullPath]);
    if (paths.size !== 3) {
      throw new ConfigError(
        `authorizePath=${this.#authorizePath}, pushPath=${this.#pushPath}, pullPath=${this.#pullPath}: ` +
          "the three pht paths must differ",
      );
    }
    const backlog = md.int("backlog", 0);
    this.#backlog = backlog > 0 ? backlog : DEFAULT_BACKLOG;
    this.#pullTimeoutMs = md.duration("pullTimeout", DEFAULT_PULL_TIMEOUT_MS);
    if (this.#pullTimeoutMs <= 0) {
      throw new ConfigError(`pullTimeout=${this.#pullTimeoutMs}ms: expected a positive duration`);
    }
    if (this.#tls) {
      const { loadServerTls, serverSecureContext, DEFAULT_HANDSHAKE_TIMEOUT_MS } = await import("../tls/options.ts");
      this.#handshakeMs = md.duration("handshakeTimeout", DEFAULT_HANDSHAKE_TIMEOUT_MS);
      const m = await loadServerTls(this.#opts.tls, md);
      this.#context = await serverSecureContext(m);
    }
    this.#ln = bindListenAddr(
      parseListenAddr(this.#opts.addr),
      (hostname, port) => Deno.listen({ hostname, port, transport: "tcp" }),
    );
    const sweepMs = Math.max(50, Math.min(1000, this.#pullTimeoutMs / 4));
    this.#sweeper = setInterval(() => this.#sweep(), sweepMs);
    Deno.unrefTimer(this.#sweeper as unknown as number);
    this.#acceptLoop();
  }

  get addr(): Deno.Addr {
    if (!this.#ln) throw new Error("listener not initialised");
    return this.#ln.addr;
  }

  async accept(): Promise<Conn> {
    for (;;) {
      if (this.#closed || !this.#ln) throw new ListenerClosedError();
      const s = this.#ready.shift();
      if (s) {
        if (s.ended) continue;
        return s;
      }
      if (this.#acceptError !== null) {
        const err = this.#acceptError;
        this.#acceptError = null;
        throw err;
      }
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweeper);
    closeQuietly(this.#ln);
    for (const s of [...this.#sessions.values()]) s.end("listener closed");
    for (const c of this.#conns) closeQuietly(c);
    this.#conns.clear();
    this.#ready.length = 0;
    this.#notify();
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  async #acceptLoop(): Promise<void> {
    const ln = this.#ln!;
    try {
      while (!this.#closed) {
        const tcp = unmapConnAddrs(await acceptTcp(ln));
        if (this.#closed || this.#conns.size >= MAX_HTTP_CONNS) {
          if (!this.#closed) this.#opts.logger.warn(`pht: ${MAX_HTTP_CONNS} HTTP conns open, new one closed`);
          closeQuietly(tcp);
          continue;
        }
        this.#conns.add(tcp);
        this.#serve(tcp).catch(() => {}).finally(() => {
          this.#conns.delete(tcp);
          closeQuietly(tcp);
        });
      }
    } catch (err) {
      if (!this.#closed) {
        this.#acceptError = err;
        this.#notify();
      }
    }
  }

  /** One HTTP conn: TLS for phts, then requests until it ends. */
  async #serve(tcp: Conn): Promise<void> {
    let conn = tcp;
    const remote = addrString(tcp.remoteAddr);
    if (this.#tls) {
      const { nodeTlsServer } = await import("../tls/handshake.ts");
      try {
        conn = await nodeTlsServer(tcp, { secureContext: this.#context! }, this.#handshakeMs);
      } catch (err) {
        const msg = `pht: TLS handshake failed: ${errorMessage(err)}`;
        if (isBenignEnd(err)) this.#opts.logger.debug(msg, { remote });
        else this.#opts.logger.info(msg, { remote });
        return;
      }
      this.#conns.add(conn);
    }
    const r = newReader(conn);
    try {
      let first = true;
      for (;;) {
        const cancel = after(first ? HEAD_TIMEOUT_MS : IDLE_TIMEOUT_MS, () => closeQuietly(conn));
        let head: RequestHead;
        try {
          const lines = await readHead(r, HEAD_LIMITS);
          if (lines === null) return;
          head = parseRequestHead(lines);
        } finally {
          cancel();
        }
        first = false;
        const keep = await this.#request(conn, r, head, tcp.remoteAddr);
        if (!keep) return;
      }
    } catch (err) {
      if (err instanceof HttpStatusError) {
        this.#opts.logger.info(`pht: bad request: ${err.message}`, { remote });
        await reply(conn, err.status, "", false).catch(() => {});
      } else if (!this.#closed && !isBenignEnd(err)) {
        this.#opts.logger.debug(`pht: conn ended: ${errorMessage(err)}`, { remote });
      }
    } finally {
      if (conn !== tcp) this.#conns.delete(conn);
      closeQuietly(conn);
      releaseReader(r);
    }
  }

  /** Serves one request; true when the conn may carry another. */
  async #request(conn: Conn, r: HandshakeReader, head: RequestHead, remote: Deno.Addr): Promise<boolean> {
    const { path, query } = splitTarget(head.target);
    const framing = requestFraming(head.headers);
    const keep = head.minor >= 1 && !head.headers.tokens("connection").includes("close");
    if (path === this.#pushPath) {
      if (head.method !== "POST") return await this.#discardAndReply(conn, r, framing, 400, keep);
      const body = await readBody(r, framing);
      return await this.#push(conn, query.get("token") ?? "", body, remote, keep);
    }
    const drained = await readBody(r, framing); // GET bodies are read and dropped
    void drained;
    if (path === this.#pullPath) {
      if (head.method !== "GET") return await reply(conn, 400, "", keep);
      return await this.#pull(conn, r, query.get("token") ?? "", remote, head.minor);
    }
    if (path === this.#authorizePath) {
      const s = this.#create(newToken(), remote);
      if (!s) {
        this.#opts.logger.warn(`pht: connection queue is full, client ${addrString(remote)} discarded`);
        return await reply(conn, 429, "", keep);
      }
      return await reply(conn, 200, `token=${s.token}`, keep);
    }
    return await reply(conn, 404, "404 page not found\n", keep);
  }

  async #discardAndReply(
    conn: Conn,
    r: HandshakeReader,
    framing: ReturnType<typeof requestFraming>,
    status: number,
    keep: boolean,
  ): Promise<boolean> {
    await readBody(r, framing);
    return await reply(conn, status, "", keep);
  }

  /** The session of `token`: an existing one, a new one (GOST creates it on first use), or a status to answer. */
  #lookup(token: string, remote: Deno.Addr): PhtSession | number {
    if (!validToken(token) || this.#tombstones.has(token)) return 403;
    return this.#sessions.get(token) ?? this.#create(token, remote) ?? 429;
  }

  async #push(conn: Conn, token: string, body: Uint8Array, remote: Deno.Addr, keep: boolean): Promise<boolean> {
    const s = this.#lookup(token, remote);
    if (typeof s === "number") return await reply(conn, s, "", keep);
    // GOST reads the first line of the body: its base64 is the data; an empty body or line is the client's end
    let end = body.indexOf(0x0a);
    if (end < 0) end = body.length;
    const line = body.subarray(0, end);
    if (line.length === 0 || (line.length === 1 && line[0] === 0x0d)) {
      s.pushEnd();
      return await reply(conn, 200, "", keep);
    }
    let data: Uint8Array;
    try {
      data = decodeLine(line);
    } catch {
      this.#opts.logger.info(`pht: push body of session ${token} is not base64: session closed`, {
        remote: addrString(remote),
      });
      s.end("bad push body");
      return await reply(conn, 400, "", keep);
    }
    if (!(await s.pushData(data, PUSH_WAIT_MS))) {
      if (!s.ended) {
        this.#opts.logger.info(`pht: session ${token} not read for ${PUSH_WAIT_MS / 1000}s: closed`);
        s.end("push not read");
      }
      return await reply(conn, 410, "", keep);
    }
    return await reply(conn, 200, "", keep);
  }

  /** Streams one pull; true when it ended cleanly and the conn may carry another request. */
  async #pull(conn: Conn, r: HandshakeReader, token: string, remote: Deno.Addr, minor: number): Promise<boolean> {
    const s = this.#lookup(token, remote);
    if (typeof s === "number") return await reply(conn, s, "", minor >= 1);
    const chunked = minor >= 1;
    await writeFull(
      conn,
      latin1Encode(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nX-Accel-Buffering: no\r\n" +
          `${chunked ? "Transfer-Encoding: chunked\r\n" : "Connection: close\r\n"}` +
          `Date: ${new Date().toUTCString()}\r\n\r\n`,
      ),
    );
    s.pulls++;
    let gone = false;
    const goneP = r.readAhead().then(() => {
      gone = true;
    }, () => {
      gone = true;
    });
    let drained = false;
    try {
      while (!gone) {
        const b = await s.pullData(PULL_CHUNK_RAW, HEARTBEAT_MS, goneP);
        if (gone) break;
        if (b === null) {
          drained = true;
          break;
        }
        const payload = b.length ? encodeLines(b) : HEARTBEAT;
        const cancel = after(WRITE_TIMEOUT_MS, () => closeQuietly(conn));
        try {
          await writeFull(conn, chunked ? chunk(payload) : payload);
        } finally {
          cancel();
        }
      }
      if (drained && chunked) await writeFull(conn, LAST_CHUNK);
      return drained && chunked;
    } finally {
      s.pulls--;
      s.lastPull = Date.now();
      if (drained) s.settle();
      else if (gone && s.upEnded) s.end("closed by the client");
    }
  }

  /** A new session for `token`, queued for `accept()`; null when `backlog` sessions are already waiting. */
  #create(token: string, remote: Deno.Addr): PhtSession | null {
    if (this.#closed || this.#ready.length >= this.#backlog) return null;
    const s = new PhtSession(token, this.#ln!.addr, remote, (ended) => this.#ended(ended));
    this.#sessions.set(token, s);
    this.#ready.push(s);
    this.#notify();
    return s;
  }

  #ended(s: PhtSession): void {
    if (this.#sessions.get(s.token) === s) this.#sessions.delete(s.token);
    this.#tombstones.set(s.token, Date.now());
    if (this.#tombstones.size > TOMBSTONES) {
      const oldest = this.#tombstones.keys().next().value;
      if (oldest !== undefined) this.#tombstones.delete(oldest);
    }
  }

  /** Drops sessions nobody pulls and forgets old tombstones. */
  #sweep(): void {
    const now = Date.now();
    for (const s of this.#sessions.values()) {
      if (s.pulls === 0 && now - s.lastPull > this.#pullTimeoutMs) {
        this.#opts.logger.info(
          `pht: session ${s.token} not pulled for ${this.#pullTimeoutMs} ms: dropped (${s.pending} bytes unsent)`,
          { remote: addrString(s.remoteAddr) },
        );
        s.end("no pull");
      }
    }
    for (const [t, at] of this.#tombstones) {
      if (now - at < TOMBSTONE_MS) break;
      this.#tombstones.delete(t);
    }
  }
}

const HEARTBEAT = new Uint8Array([0x0a]);
const LAST_CHUNK = latin1Encode("0\r\n\r\n");

function chunk(payload: Uint8Array): Uint8Array {
  const head = latin1Encode(`${payload.length.toString(16)}\r\n`);
  const out = new Uint8Array(head.length + payload.length + 2);
  out.set(head);
  out.set(payload, head.length);
  out[out.length - 2] = 0x0d;
  out[out.length - 1] = 0x0a;
  return out;
}

/** The path and query of a request target (origin or absolute form). */
function splitTarget(target: string): { path: string; query: URLSearchParams } {
  let t = target;
  if (/^https?:\/\//i.test(t)) {
    const slash = t.indexOf("/", t.indexOf("//") + 2);
    t = slash < 0 ? "/" : t.slice(slash);
  }
  const q = t.indexOf("?");
  return q < 0
    ? { path: t, query: new URLSearchParams() }
    : { path: t.slice(0, q), query: new URLSearchParams(t.slice(q + 1)) };
}

/**
 * A request body, whole, up to {@link MAX_PUSH_BODY}.
 * @throws {HttpStatusError} 413 when larger, 400 on bad chunking
 */
async function readBody(r: HandshakeReader, framing: ReturnType<typeof requestFraming>): Promise<Uint8Array> {
  if (framing.kind === "none") return new Uint8Array(0);
  if (framing.kind === "length") {
    if (framing.length > MAX_PUSH_BODY) throw new HttpStatusError(413, `Body of ${framing.length} bytes`);
    return await r.readFull(framing.length);
  }
  if (framing.kind !== "chunked") throw new HttpStatusError(400, "Unsupported body framing");
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const size = parseChunkSize(new TextDecoder().decode(await readLine(r, 1024, 400)));
    if (size === 0) break;
    total += size;
    if (total > MAX_PUSH_BODY) throw new HttpStatusError(413, `Body over ${MAX_PUSH_BODY} bytes`);
    parts.push(await r.readFull(size));
    await readLine(r, 2, 400);
  }
  for (;;) { // trailers
    const line = await readLine(r, 1024, 400);
    if (line.length === 0) break;
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Writes a small response; returns `keep` (the conn may go on). */
async function reply(conn: Conn, status: number, body: string, keep: boolean): Promise<boolean> {
  const b = latin1Encode(body);
  const head = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? ""}\r\nContent-Length: ${b.length}\r\n` +
    (body ? "Content-Type: text/plain; charset=utf-8\r\n" : "") +
    `${keep ? "" : "Connection: close\r\n"}Date: ${new Date().toUTCString()}\r\n\r\n`;
  const h = latin1Encode(head);
  const out = new Uint8Array(h.length + b.length);
  out.set(h);
  out.set(b, h.length);
  await writeFull(conn, out);
  return keep;
}
