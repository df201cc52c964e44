/**
 * The `file` handler (GOST's x/handler/file): a static file server of one directory over HTTP/1.1 on any listener
 * (`-L file://:8080?dir=/srv/www`, `-L file+tls://…`). Requests are read in a keep-alive loop under bounds — the
 * head within {@link READ_TIMEOUT_MS}, the next request within {@link IDLE_TIMEOUT_MS}, each write within
 * {@link WRITE_TIMEOUT_MS} — and answered as GOST's `http.FileServer` does (serve.ts), after Basic auth against
 * the service's authenticator (401 `WWW-Authenticate: Basic`, as GOST). Only GET and HEAD are served (405 else:
 * GOST's PUT uploads are refused in mod.ts). Paths that could leave the directory are refused before the file
 * system is touched (path.ts) and logged; the chain, if any, is not used (GOST ignores it too). One access line per
 * request: `GET /path HTTP/1.1 200 1234`.
 * @module
 */
import type { HandshakeReader } from "../../core/bufio.ts";
import { closeQuietly, type Conn, writeFull } from "../../core/conn.ts";
import { withDeadline } from "../../core/deadline.ts";
import { ConfigError, errorMessage, TimeoutError, UnexpectedEofError } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { ConnContext, Handler, HandlerOptions } from "../../core/contracts.ts";
import { parseBasicCredentials } from "../../core/routing/auth.ts";
import { requestFraming } from "../../core/http1/framing.ts";
import {
  HeaderList,
  HttpStatusError,
  parseRequestHead,
  type RequestHead,
  serializeHead,
} from "../../core/http1/head.ts";
import { lingerClose, newReader, readHead, releaseReader } from "../../core/http1/reader.ts";
import { STATUS_TEXT } from "../../core/http1/status.ts";
import { parseRequestPath } from "./path.ts";
import { errorReply, type FileBody, type Reply, serveRequest } from "./serve.ts";

/** Bound on reading one request head (GOST's servers use 15 s for heads elsewhere). */
export const READ_TIMEOUT_MS = 15_000;
/** Bound on the idle wait for the next request on a kept-alive conn. */
export const IDLE_TIMEOUT_MS = 30_000;
/** Bound on one write of a response (a client that stops reading is dropped). */
export const WRITE_TIMEOUT_MS = 30_000;
/** Caps on a request head. */
const LIMITS = { maxLineBytes: 16 * 1024, maxHeaderBytes: 64 * 1024 };
/** The largest request body read (and dropped) on a GET or HEAD. */
const MAX_DISCARD_BYTES = 64 * 1024;
/** The buffer one response's file content is copied through. */
const COPY_BUFFER = 128 * 1024;

/** Serves the files of one directory. */
export class FileHandler implements Handler {
  readonly #opts: HandlerOptions;
  #root = "";

  constructor(opts: HandlerOptions) {
    this.#opts = opts;
  }

  /** The real path of the directory served (after init). */
  get root(): string {
    return this.#root;
  }

  /**
   * Reads `dir` (`file.dir`; default the working directory, as GOST) and checks it is a directory.
   * @throws {ConfigError} when it is missing or not a directory, or `put` is set
   */
  async init(md: Metadata): Promise<void> {
    md.refuse("handler file", [[
      ["file.put", "put"],
      "uploads (PUT) are not supported by gost.ts: the file handler serves GET and HEAD only",
    ]]);
    const key = md.find(["file.dir", "dir"])?.[0] ?? "dir";
    const dir = md.string(["file.dir", "dir"]) || ".";
    try {
      const info = await Deno.stat(dir);
      if (!info.isDirectory) throw new ConfigError(`file handler: "${key}" ${JSON.stringify(dir)} is not a directory`);
      this.#root = await Deno.realPath(dir);
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(`file handler: "${key}" ${JSON.stringify(dir)}: ${errorMessage(err)}`, { cause: err });
    }
    if (!md.has("file.dir", "dir")) this.#opts.logger.info(`file handler serves the working directory ${this.#root}`);
  }

  async handle(conn: Conn, ctx: ConnContext): Promise<void> {
    const reader = newReader(conn);
    const onAbort = () => closeQuietly(conn);
    ctx.signal.addEventListener("abort", onAbort, { once: true });
    try {
      for (let first = true;; first = false) {
        if (!first && reader.buffered === 0) {
          const more = await withDeadline(conn, IDLE_TIMEOUT_MS, () => reader.peekByte()).catch(() => null);
          if (more === null) return;
        }
        if (!(await this.#one(conn, reader, ctx))) return;
      }
    } finally {
      ctx.signal.removeEventListener("abort", onAbort);
      releaseReader(reader);
      closeQuietly(conn);
    }
  }

  /** Reads and answers one request; whether the conn carries another. */
  async #one(conn: Conn, reader: HandshakeReader, ctx: ConnContext): Promise<boolean> {
    const started = Date.now();
    let req: RequestHead;
    try {
      const lines = await withDeadline(conn, READ_TIMEOUT_MS, () => readHead(reader, LIMITS));
      if (!lines) return false;
      req = parseRequestHead(lines);
      const body = requestFraming(req.headers);
      if (
        body.kind === "length" && body.length <= MAX_DISCARD_BYTES && (req.method === "GET" || req.method === "HEAD")
      ) {
        await withDeadline(conn, READ_TIMEOUT_MS, () => reader.readFull(body.length));
      } else if (body.kind !== "none" && (req.method === "GET" || req.method === "HEAD")) {
        throw new HttpStatusError(413, "a GET or HEAD request with a body over 64 KiB");
      }
    } catch (err) {
      if (err instanceof HttpStatusError) {
        ctx.logger.warn(`request refused (${err.status}): ${errorMessage(err)}`);
        await this.#write(conn, errorReply(err.status, STATUS_TEXT[err.status] ?? "Bad Request"), "GET", false);
        await lingerClose(conn);
        return false;
      }
      if (err instanceof TimeoutError || err instanceof UnexpectedEofError) {
        ctx.logger.debug(`request head: ${errorMessage(err)}`);
        return false;
      }
      throw err;
    }
    const tokens = req.headers.tokens("connection");
    let keep = req.minor >= 1 ? !tokens.includes("close") : tokens.includes("keep-alive");
    let reply: Reply;
    if (req.method !== "GET" && req.method !== "HEAD") {
      reply = errorReply(405, "Method Not Allowed", [["Allow", "GET, HEAD"]]);
      keep = false; // its body, if any, is not read
    } else if (!this.#authorized(req, ctx)) {
      reply = {
        status: 401,
        headers: new HeaderList([header("WWW-Authenticate", "Basic"), header("Content-Length", "0")]),
      };
    } else {
      const path = parseRequestPath(req.target);
      if ("status" in path) {
        reply = path.status === 403
          ? { ...errorReply(403, "403 Forbidden"), refused: path.reason }
          : errorReply(400, "400 Bad Request");
        if (path.status === 400) ctx.logger.warn(`request refused (400): ${path.reason}`);
      } else {
        reply = await serveRequest(this.#root, { method: req.method, headers: req.headers, path });
      }
    }
    if (reply.refused) ctx.logger.warn(`refused ${req.method} ${req.target.slice(0, 200)}: ${reply.refused}`);
    try {
      await this.#write(conn, reply, req.method, keep);
    } finally {
      if (reply.body && !(reply.body instanceof Uint8Array)) reply.body.file.close();
    }
    const length = reply.headers.get("content-length") ?? "0";
    ctx.logger.info(
      `${req.method} ${req.target.slice(0, 200)} HTTP/1.${req.minor} ${reply.status} ${length} ${
        Date.now() - started
      }ms`,
    );
    if (reply.status === 405) await lingerClose(conn);
    return keep;
  }

  #authorized(req: RequestHead, ctx: ConnContext): boolean {
    const auth = this.#opts.auth;
    if (!auth) return true;
    const values = req.headers.getAll("authorization");
    const cred = values.length === 1 ? parseBasicCredentials(values[0]) : null;
    const id = cred ? auth.authenticate(cred.username, cred.password) : null;
    if (id === null) {
      ctx.logger.warn(`401 unauthorized${cred ? ` (user "${cred.username}")` : ""}`);
      return false;
    }
    ctx.clientId = id;
    return true;
  }

  /** Writes the reply's head and body, each write bounded. */
  async #write(conn: Conn, reply: Reply, method: string, keep: boolean): Promise<void> {
    const h = reply.headers;
    if (!h.has("date")) h.add("Date", new Date().toUTCString());
    if (!keep) h.add("Connection", "close");
    const head = serializeHead(`HTTP/1.1 ${reply.status} ${STATUS_TEXT[reply.status] ?? statusText(reply.status)}`, h);
    const write = (p: Uint8Array) => withDeadline(conn, WRITE_TIMEOUT_MS, () => writeFull(conn, p));
    const body = method === "HEAD" || reply.status === 304 ? undefined : reply.body;
    if (!body) return await write(head);
    if (body instanceof Uint8Array) {
      const out = new Uint8Array(head.length + body.length);
      out.set(head);
      out.set(body, head.length);
      return await write(out);
    }
    await write(head);
    await copyFile(body, write);
  }
}

/** Copies a file body's parts (prefix, then its range of the file) and its suffix. */
async function copyFile(body: FileBody, write: (p: Uint8Array) => Promise<void>): Promise<void> {
  const buf = new Uint8Array(COPY_BUFFER);
  for (const { prefix, range } of body.parts) {
    if (prefix.length) await write(prefix);
    await body.file.seek(range.start, Deno.SeekMode.Start);
    for (let left = range.length; left > 0;) {
      const n = await body.file.read(left < buf.length ? buf.subarray(0, left) : buf);
      if (n === null) throw new UnexpectedEofError("the file got shorter while it was sent");
      await write(buf.subarray(0, n));
      left -= n;
    }
  }
  if (body.suffix.length) await write(body.suffix);
}

function header(name: string, value: string) {
  return { name, value, key: name.toLowerCase() };
}

function statusText(status: number): string {
  return ({
    206: "Partial Content",
    301: "Moved Permanently",
    412: "Precondition Failed",
    416: "Range Not Satisfiable",
  } as Record<number, string>)[status] ?? "Status";
}
