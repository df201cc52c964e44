/**
 * The HTTP side of a sniffing forward handler (GOST's x/internal/util/forwarder `HandleHTTP`): each request on the
 * client conn is routed by its Host and path to a forwarder node (route.ts), with the node's `http` settings applied
 * — Basic auth (401 `WWW-Authenticate: Basic`), the Host header, request headers (an empty value deletes), URL path
 * rewrites, body rewrites (body.ts, rewrite.ts), response headers, `failCodes` — and its `tls` (the node is dialed
 * with TLS). A kept-alive client conn keeps its upstream conn while the next request goes to the same host and the
 * node still takes it; a request for another host (or one the node's filter no longer takes) closes it and goes to
 * the node that takes it, as GOST re-dials on a host change. GOST's answers: no node takes the request → 502, the
 * node cannot be reached or sends no valid response → 503; the client conn is then closed. Without
 * `http.keepalive=true` every response carries `Connection: close` and ends the conn (GOST's default). HTTP/1.0
 * clients are served as GOST does: the request goes out as HTTP/1.1 (`Connection: close` unless the client asked for
 * keep-alive), the response comes back as HTTP/1.0 (a chunked body unframed, then the conn closed). Upgrades (101,
 * WebSocket) are relayed raw once the node switched (docs/wire.md, "Reverse proxy").
 * @module
 */
import type { HandshakeReader } from "../../core/bufio.ts";
import { closeQuietly, type Conn, writeFull } from "../../core/conn.ts";
import { withDeadline } from "../../core/deadline.ts";
import { DialError, errorMessage, TimeoutError, UnexpectedEofError } from "../../core/errors.ts";
import type { ConnContext, Node, NodeHttpSettings } from "../../core/contracts.ts";
import { parseBasicCredentials } from "../../core/routing/auth.ts";
import { relay } from "../../core/relay.ts";
import { STATUS_TEXT } from "../../core/http1/status.ts";
import {
  BatchWriter,
  type BodySource,
  copyBody,
  lingerClose,
  newReader,
  readHead,
  releaseReader,
} from "../http/stream.ts";
import { isWebSocketUpgrade } from "../http/forward.ts";
import {
  type Framing,
  HeaderList,
  HttpStatusError,
  latin1Encode,
  parseRequestHead,
  parseResponseHead,
  requestFraming,
  type RequestHead,
  responseFraming,
  type ResponseHead,
  serializeHead,
} from "../http/wire.ts";
import { bodyPieces, codingOf, decode, encode, readBounded } from "./body.ts";
import type { ForwardMetadata } from "./metadata.ts";
import { mediaType, rewriteBody, rewritePath, rulesFor } from "./rewrite.ts";
import { hostOnly, nodeMatches, type NodeRouter, NoNodeError } from "./route.ts";

/** What the HTTP side needs of its handler. */
export interface ReverseHttpOptions {
  readonly md: ForwardMetadata;
  readonly nodes: NodeRouter;
}

/** The upstream conn a client conn keeps between its requests. */
interface Upstream {
  node: Node;
  conn: Conn;
  reader: HandshakeReader;
  addr: string;
  /** The client's Host (host part) it was dialed for. */
  host: string;
}

/** How a body goes out. */
type Outgoing =
  | { kind: "framed"; framing: Framing }
  | { kind: "bytes"; data: Uint8Array }
  | { kind: "chunked"; head: Uint8Array; rest: AsyncIterable<Uint8Array> }
  | { kind: "unframed"; pieces: AsyncIterable<Uint8Array> };

const CRLF = latin1Encode("\r\n");
const LAST_CHUNK = latin1Encode("0\r\n\r\n");
const CONTINUE = latin1Encode("HTTP/1.1 100 Continue\r\n\r\n");

/** Serves the HTTP requests of one sniffed client conn (the handler closes the conn afterwards). */
export async function serveHttp(conn: Conn, ctx: ConnContext, opts: ReverseHttpOptions): Promise<void> {
  const s = new ReverseSession(conn, ctx, opts);
  try {
    await s.run();
  } finally {
    s.close();
  }
}

class ReverseSession {
  readonly conn: Conn;
  readonly reader: HandshakeReader;
  readonly ctx: ConnContext;
  readonly md: ForwardMetadata;
  readonly nodes: NodeRouter;
  #up: Upstream | null = null;
  readonly #onAbort = () => this.#closeUp();

  constructor(conn: Conn, ctx: ConnContext, opts: ReverseHttpOptions) {
    this.conn = conn;
    this.reader = newReader(conn);
    this.ctx = ctx;
    this.md = opts.md;
    this.nodes = opts.nodes;
    ctx.signal.addEventListener("abort", this.#onAbort, { once: true });
  }

  async run(): Promise<void> {
    for (let first = true;; first = false) {
      // kept alive: the next request's first byte is waited for as long as the client keeps the conn (GOST)
      if (!first && this.reader.buffered === 0 && (await this.reader.peekByte()) === null) return;
      let req: RequestHead, framing: Framing;
      try {
        const lines = await withDeadline(this.conn, this.md.readTimeoutMs, () => readHead(this.reader, this.md));
        if (!lines) return;
        req = parseRequestHead(lines);
        framing = requestFraming(req.headers);
      } catch (err) {
        if (err instanceof HttpStatusError) {
          this.ctx.logger.warn(`request refused (${err.status}): ${errorMessage(err)}`);
          return await this.#fail(err.status);
        }
        if (err instanceof TimeoutError || err instanceof UnexpectedEofError) {
          return this.ctx.logger.debug(`request head: ${errorMessage(err)}`);
        }
        throw err;
      }
      if (!(await this.#exchange(req, framing))) return;
    }
  }

  /** Forwards one request and its response; whether the client conn carries another. */
  async #exchange(req: RequestHead, framing: Framing): Promise<boolean> {
    const started = Date.now();
    const target = splitTarget(req.target);
    if (!target || req.method === "CONNECT") {
      this.ctx.logger.warn(`request refused: ${req.method} ${req.target.slice(0, 100)} is not a request for a path`);
      await this.#fail(req.method === "CONNECT" ? 405 : 400);
      return false;
    }
    const hostHeader = req.headers.get("host") ?? target.authority ?? "";
    const host = hostOnly(hostHeader);
    const route = { host: hostHeader, protocol: "http" as const, path: target.path };
    if (this.#up && (this.#up.host !== host || !nodeMatches(this.#up.node, route))) this.#closeUp();
    if (!this.#up) {
      try {
        const r = await this.nodes.reach(route, this.ctx, 80);
        this.#up = { node: r.node, conn: r.conn, reader: newReader(r.conn), addr: r.addr, host };
        this.ctx.logger.info(`${this.ctx.src} <-> ${r.addr} (${r.node.name}, host ${hostHeader || "(none)"})`);
      } catch (err) {
        if (err instanceof NoNodeError) {
          this.ctx.logger.warn(`node for host ${hostHeader || "(none)"}${target.path} not found: 502`);
          await this.#fail(502);
          return false;
        }
        if (err instanceof DialError) {
          this.ctx.logger.warn(`${hostHeader}: ${errorMessage(err)}: 503`);
          await this.#fail(503);
          return false;
        }
        throw err;
      }
    }
    const up = this.#up;
    const http = up.node.route?.http;
    if (http?.auth) {
      const cred = parseBasicCredentials(req.headers.get("authorization"));
      const id = cred ? http.auth.authenticate(cred.username, cred.password) : null;
      if (id === null) {
        this.ctx.logger.warn(
          `node ${up.node.name}(${up.addr}) 401 unauthorized${cred ? ` (user "${cred.username}")` : ""}`,
        );
        await this.#fail(401, [["WWW-Authenticate", "Basic"]]);
        return false;
      }
      this.ctx.clientId = id;
    }
    const { head, body } = await this.#request(req, framing, target, http);
    const res = await this.#respond(req, up, head, body, http);
    const status = res.status;
    this.ctx.logger.info(
      `${req.method} ${hostHeader}${req.target.startsWith("/") ? req.target : target.path} ${status} ` +
        `${up.node.name}@${up.addr} ${Date.now() - started}ms`,
    );
    return res.keep;
  }

  /** The request as it goes to the node: head rewritten, body as it will be sent. */
  async #request(
    req: RequestHead,
    framing: Framing,
    target: Target,
    http: NodeHttpSettings | undefined,
  ): Promise<{ head: Uint8Array; body: Outgoing }> {
    const h = new HeaderList(req.headers.entries.map((e) => ({ ...e })));
    let path = target.path;
    let query = target.query;
    if (http) {
      if (http.host) h.set("Host", http.host);
      for (const [k, v] of http.requestHeader) v === "" ? h.delete(k) : h.set(k, v);
      const rw = rewritePath(http.rewriteURL, path);
      if (rw) {
        path = rw.path;
        if (rw.query !== undefined) query = rw.query;
      }
    }
    if (req.minor === 0) {
      // GOST: the request goes out as HTTP/1.1, kept alive only when the HTTP/1.0 client asked for it
      if (h.tokens("connection").includes("keep-alive")) h.delete("Connection");
      else h.set("Connection", "close");
    }
    let body: Outgoing = { kind: "framed", framing };
    const rules = http ? rulesFor(http.rewriteRequestBody, mediaType(h.get("content-type"))) : [];
    if (rules.length && framing.kind !== "none") {
      if (h.tokens("expect").includes("100-continue")) {
        // the body is needed before the node sees the request: the client is told to send it now
        await writeFull(this.conn, CONTINUE);
        h.delete("Expect");
      }
      body = await this.#rewritten(this.reader, framing, h, rules, true);
    }
    const uri = path === "*" ? "*" : path + (query !== undefined ? `?${query}` : "");
    return { head: serializeHead(`${req.method} ${uri} HTTP/1.1`, h), body };
  }

  /**
   * A body rewritten by `rules` (its headers updated): read whole when it fits the rules' cap, decoded and encoded
   * again when it is compressed; passed on unchanged when it is larger, compressed otherwise, or not UTF-8.
   */
  async #rewritten(
    src: HandshakeReader,
    framing: Framing,
    h: HeaderList,
    rules: ReturnType<typeof rulesFor>,
    request: boolean,
  ): Promise<Outgoing> {
    const what = request ? "request body" : "response body";
    const coding = codingOf(h.get("content-encoding"));
    const max = Math.max(...rules.map((r) => r.maxBytes));
    if (!coding || (framing.kind === "length" && framing.length > max)) {
      this.ctx.logger.debug(`${what} not rewritten: ${coding ? `over ${max} bytes` : "its Content-Encoding"}`);
      return { kind: "framed", framing };
    }
    const b = await readBounded(src, framing, this.md, max);
    if (!b.whole) {
      this.ctx.logger.debug(`${what} not rewritten: over ${max} bytes`);
      h.delete("Content-Length");
      h.set("Transfer-Encoding", "chunked");
      return { kind: "chunked", head: b.head, rest: b.rest };
    }
    let out: Uint8Array | undefined;
    try {
      const text = rewriteBody(rules, await decode(b.data, coding));
      out = text && await encode(text, coding);
    } catch (err) {
      this.ctx.logger.debug(`${what} not rewritten: ${errorMessage(err)}`);
    }
    if (!out) this.ctx.logger.debug(`${what} not rewritten: not UTF-8 text`);
    h.delete("Transfer-Encoding");
    h.set("Content-Length", String((out ?? b.data).length));
    return { kind: "bytes", data: out ?? b.data };
  }

  /** Sends the request, relays the response; whether the client conn carries another request. */
  async #respond(
    req: RequestHead,
    up: Upstream,
    head: Uint8Array,
    body: Outgoing,
    http: NodeHttpSettings | undefined,
  ): Promise<{ status: number; keep: boolean }> {
    const out = new BatchWriter(up.conn);
    let sendError: unknown;
    const sending = (async () => {
      await out.write(head);
      await this.#send(out, { conn: this.conn, reader: this.reader }, body);
    })().catch((err) => {
      sendError ??= err ?? new Error("upload failed");
      closeQuietly(up.conn);
    });
    let startedReply = false;
    try {
      let res = await this.#readResponse(up);
      while (res.status < 200 && res.status !== 101) {
        await writeFull(this.conn, serializeHead(statusLine(res, req), res.headers));
        res = await this.#readResponse(up);
      }
      if (res.status === 101) {
        if (!isWebSocketUpgrade(req.headers) && !req.headers.tokens("connection").includes("upgrade")) {
          throw new HttpStatusError(503, "the node switched protocols without an upgrade request");
        }
        startedReply = true;
        await writeFull(this.conn, serializeHead(statusLine(res, req), res.headers));
        await sending;
        if (sendError) throw sendError;
        this.#up = null;
        await relay(this.reader.conn(), up.reader.conn()).finally(() => closeQuietly(up.conn));
        return { status: 101, keep: false };
      }
      let failed = false;
      if (http?.failCodes?.(res.status)) {
        this.ctx.logger.warn(`failCodes matched status ${res.status} for node ${up.node.name}`);
        this.nodes.markFailed(up.node);
        failed = true;
      }
      const framing = responseFraming(req.method, res.status, res.headers);
      const h = new HeaderList(res.headers.entries.map((e) => ({ ...e })));
      let outBody: Outgoing = { kind: "framed", framing };
      const rules = http ? rulesFor(http.rewriteResponseBody, mediaType(h.get("content-type"))) : [];
      if (rules.length && framing.kind !== "none") {
        if (mediaType(h.get("content-type")) === "text/event-stream") {
          if (codingOf(h.get("content-encoding")) === "identity") {
            h.delete("Content-Length");
            h.set("Transfer-Encoding", "chunked");
            outBody = {
              kind: "chunked",
              head: new Uint8Array(0),
              rest: sseRewrite(bodyPieces(up.reader, framing, this.md), rules),
            };
          }
        } else {
          outBody = await this.#rewritten(up.reader, framing, h, rules, false);
        }
      }
      const clientKeep = req.minor >= 1
        ? !req.headers.tokens("connection").includes("close")
        : req.headers.tokens("connection").includes("keep-alive");
      let keep = this.md.httpKeepAlive && clientKeep && !failed;
      if (outBody.kind === "framed" && framing.kind === "close") keep = false;
      if (
        req.minor === 0 && (outBody.kind === "chunked" || (outBody.kind === "framed" && framing.kind === "chunked"))
      ) {
        // an HTTP/1.0 client gets the body unframed, ended by the close
        const pieces = outBody.kind === "chunked"
          ? prepend(outBody.head, outBody.rest)
          : bodyPieces(up.reader, framing, this.md);
        outBody = { kind: "unframed", pieces };
        h.delete("Transfer-Encoding");
        keep = false;
      }
      if (!this.md.httpKeepAlive || !keep) h.set("Connection", "close");
      else if (req.minor === 0) h.set("Connection", "keep-alive");
      for (const [k, v] of http?.responseHeader ?? []) h.set(k, v);
      startedReply = true;
      const w = new BatchWriter(this.conn);
      await w.write(serializeHead(statusLine(res, req), h));
      await this.#send(w, up, outBody);
      await sending;
      if (sendError) throw sendError;
      const upKeep = framing.kind !== "close" && !res.headers.tokens("connection").includes("close") &&
        (res.minor >= 1 || res.headers.tokens("connection").includes("keep-alive"));
      if (!upKeep || failed || !keep) this.#closeUp();
      return { status: res.status, keep };
    } catch (err) {
      const cause = sendError ?? err;
      this.#closeUp();
      await sending;
      if (!startedReply) {
        this.ctx.logger.warn(`node ${up.node.name}(${up.addr}): ${errorMessage(cause)}: 503`);
        await this.#fail(cause instanceof HttpStatusError && cause.status < 500 ? cause.status : 503);
        return { status: 503, keep: false };
      }
      throw cause;
    }
  }

  async #readResponse(up: Upstream): Promise<ResponseHead> {
    const lines = await withDeadline(up.conn, this.md.readTimeoutMs, () => readHead(up.reader, this.md));
    if (!lines) throw new UnexpectedEofError("the node closed the conn before a response");
    return parseResponseHead(lines);
  }

  /** Writes a body as it goes out, then flushes. */
  async #send(out: BatchWriter, src: BodySource, body: Outgoing): Promise<void> {
    switch (body.kind) {
      case "framed":
        return await copyBody(src, out, body.framing, this.md);
      case "bytes":
        await out.write(body.data);
        return await out.flush();
      case "chunked":
        if (body.head.length) await writeChunk(out, body.head);
        for await (const p of body.rest) await writeChunk(out, p);
        await out.write(LAST_CHUNK);
        return await out.flush();
      case "unframed":
        for await (const p of body.pieces) await out.write(p);
        return await out.flush();
    }
  }

  /** Answers the client with an empty `status` reply and `Connection: close`, then closes after a linger. */
  async #fail(status: number, extra: [string, string][] = []): Promise<void> {
    const h = new HeaderList();
    for (const [k, v] of extra) h.add(k, v);
    h.add("Content-Length", "0");
    h.add("Connection", "close");
    try {
      await writeFull(this.conn, serializeHead(`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Error"}`, h));
    } catch {
      closeQuietly(this.conn);
      return;
    }
    await lingerClose(this.conn);
  }

  #closeUp(): void {
    const up = this.#up;
    if (!up) return;
    this.#up = null;
    closeQuietly(up.conn);
    releaseReader(up.reader);
  }

  close(): void {
    this.ctx.signal.removeEventListener("abort", this.#onAbort);
    this.#closeUp();
    releaseReader(this.reader);
  }
}

/** A request target split: the authority of an absolute-form target, the path and the query. */
interface Target {
  authority?: string;
  path: string;
  query?: string;
}

/** Splits an origin-form (`/p?q`), absolute-form (`http://h/p?q`) or asterisk-form target; null for another. */
export function splitTarget(target: string): Target | null {
  let authority: string | undefined;
  let rest = target;
  const abs = /^https?:\/\/([^/?#]*)/i.exec(target);
  if (abs) {
    authority = abs[1];
    rest = target.slice(abs[0].length) || "/";
    if (rest.startsWith("?")) rest = "/" + rest;
  } else if (target === "*") {
    return { path: "*" };
  } else if (!target.startsWith("/")) return null;
  const hash = rest.indexOf("#");
  if (hash >= 0) rest = rest.slice(0, hash);
  const q = rest.indexOf("?");
  return q < 0 ? { authority, path: rest } : { authority, path: rest.slice(0, q), query: rest.slice(q + 1) };
}

/** The status line the client gets: HTTP/1.0 for an HTTP/1.0 client (GOST). */
function statusLine(res: ResponseHead, req: RequestHead): string {
  const minor = req.minor === 0 ? 0 : res.minor;
  return `HTTP/1.${minor} ${res.status} ${res.reason || STATUS_TEXT[res.status] || ""}`.trimEnd();
}

async function writeChunk(out: BatchWriter, p: Uint8Array): Promise<void> {
  if (!p.length) return;
  await out.write(latin1Encode(p.length.toString(16)));
  await out.write(CRLF);
  await out.write(p);
  await out.write(CRLF);
}

async function* prepend(head: Uint8Array, rest: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  if (head.length) yield head;
  yield* rest;
}

const SSE_DELIMITER = /\r\n\r\n|\n\n|\r\r/;
const encoder = new TextEncoder();

/**
 * GOST's server-sent events rewrite: each event (up to a blank line) is rewritten on its own and sent on with a
 * `\n\n` delimiter, as it comes.
 */
async function* sseRewrite(
  pieces: AsyncIterable<Uint8Array>,
  rules: ReturnType<typeof rulesFor>,
): AsyncGenerator<Uint8Array> {
  const dec = new TextDecoder();
  let text = "";
  const emit = (event: string) => {
    const out = rewriteBody(rules, encoder.encode(event)) ?? encoder.encode(event);
    const s = new TextDecoder().decode(out);
    return encoder.encode(s.endsWith("\n\n") ? s : `${s}\n\n`);
  };
  for await (const p of pieces) {
    text += dec.decode(p, { stream: true });
    for (let m = SSE_DELIMITER.exec(text); m; m = SSE_DELIMITER.exec(text)) {
      yield emit(text.slice(0, m.index));
      text = text.slice(m.index + m[0].length);
    }
  }
  text += dec.decode();
  if (text) yield emit(text);
}
