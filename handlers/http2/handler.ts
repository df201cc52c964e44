/**
 * The `http2` handler (GOST's x/handler/http2): an HTTP/2 proxy on the `http2` listener, whose every conn is one
 * request stream (listeners/h2/stream.ts). It checks Basic `proxy-authorization` (407 with `proxy-authenticate`
 * when it fails), takes the target from `:authority` (or GOST 2.x's `Gost-Target`), dials it through the router,
 * and then either answers a `CONNECT` with 200 and relays the stream's DATA both ways, or forwards any other request
 * to the target as HTTP/1.1 and streams the answer back (handlers/http2/forward.ts). A target that cannot be reached
 * is answered 503, a bypassed one 403, as GOST does.
 * @module
 */
import { closeQuietly, type Conn, ConnWrapper } from "../../core/conn.ts";
import { AuthError, DialError, errorMessage, HandshakeError, PolicyError } from "../../core/errors.ts";
import { Metadata } from "../../core/metadata.ts";
import { type ConnContext, dialOptions, type Handler, type HandlerOptions } from "../../core/contracts.ts";
import { relay } from "../../core/relay.ts";
import { parseBasicCredentials } from "../../core/routing/auth.ts";
import type { HeaderField } from "../../listeners/h2/hpack.ts";
import { H2Stream } from "../../listeners/h2/stream.ts";
import { Http1Conn } from "../../listeners/http2/listener.ts";
import { HttpHandler } from "../http/handler.ts";
import { parseAuthority } from "../http/wire.ts";
import { hiddenTarget } from "../sni/cover.ts";
import { forwardPlain } from "./forward.ts";
import { field, type ProxyRequest } from "./request.ts";
import { IdleBoundConn } from "./idle.ts";
import { type Http2Metadata, parseHttp2Metadata } from "./metadata.ts";

/** Serves HTTP/2 proxy requests. */
export class Http2Handler implements Handler {
  readonly #opts: HandlerOptions;
  #md: Http2Metadata = parseHttp2Metadata(new Metadata());
  /** Serves the listener's HTTP/1.1 conns (clients that did not offer ALPN h2). */
  #http1: HttpHandler | null = null;

  constructor(opts: HandlerOptions) {
    this.#opts = opts;
  }

  async init(md: Metadata): Promise<void> {
    this.#md = parseHttp2Metadata(md);
    // the HTTP/1.1 side answers with the same realm and headers (its other keys are its defaults)
    const record: Record<string, unknown> = {};
    for (const keys of [["authBasicRealm", "realm"], ["http.header", "header"]]) {
      const hit = md.find(keys);
      if (hit) record[keys[0]] = hit[1];
    }
    this.#http1?.close();
    this.#http1 = new HttpHandler(this.#opts);
    await this.#http1.init(new Metadata(record));
  }

  /** Releases the HTTP/1.1 side's idle upstream conns. */
  close(): void {
    this.#http1?.close();
  }

  async handle(conn: Conn, ctx: ConnContext): Promise<void> {
    try {
      const stream = streamOf(conn);
      if (stream) return await this.#serve(stream, conn, ctx);
      if (this.#http1 && isHttp1(conn)) return await this.#http1.handle(conn, ctx);
      throw new HandshakeError("http2 handler: the conn is not an HTTP/2 request: serve it on the http2 listener");
    } finally {
      closeQuietly(conn);
    }
  }

  /** Answers `status` with the configured headers (and `extra`), ending the stream. */
  #answer(stream: H2Stream, status: number, extra: HeaderField[] = [], end = true): Promise<void> {
    return stream.sendHeaders([{ name: ":status", value: String(status) }, ...extra], end);
  }

  async #serve(stream: H2Stream, conn: Conn, ctx: ConnContext): Promise<void> {
    const h = stream.headers;
    const method = field(h, ":method") ?? "";
    if (ctx.logger.enabled("trace")) ctx.logger.trace(traceFields(h));
    // authenticate before anything else is looked at, as GOST does
    const auth = this.#opts.auth;
    if (auth) {
      const values = h.filter((f) => f.name === "proxy-authorization");
      const cred = values.length === 1 ? parseBasicCredentials(values[0].value) : null;
      const id = cred ? auth.authenticate(cred.username, cred.password) : null;
      if (id === null) {
        await this.#answer(stream, 407, [{ name: "proxy-authenticate", value: `Basic realm="${this.#md.realm}"` }]);
        throw new AuthError(
          cred ? `http2: authentication failed for user "${cred.username}"` : "http2: proxy authentication required",
        );
      }
      if (ctx.clientId !== id) {
        ctx.clientId = id;
        ctx.logger = ctx.logger.child({ user: id });
      }
    }
    let authority = field(h, ":authority") ?? field(h, "host") ?? "";
    for (const name of ["gost-target", "x-gost-target"]) {
      const v = field(h, name);
      const hidden = v === undefined ? null : hiddenTarget(v);
      if (hidden) authority = hidden;
    }
    const scheme = field(h, ":scheme") ?? "";
    if (!method) {
      await this.#answer(stream, 400);
      throw new HandshakeError("http2: a request without :method");
    }
    let addr: string;
    try {
      // GOST: no port → 443 over its TLS listener (80 for an http:// request here)
      addr = parseAuthority(authority, method !== "CONNECT" && scheme === "http" ? 80 : 443).addr;
    } catch (err) {
      await this.#answer(stream, 400);
      throw new HandshakeError(`http2: ${method} with a bad authority ${JSON.stringify(authority.slice(0, 100))}`, {
        cause: err,
      });
    }
    ctx.dst = addr;
    let up: Conn;
    try {
      up = await this.#opts.router.dial("tcp", addr, dialOptions(ctx));
    } catch (err) {
      ctx.logger.debug(`${method} ${addr}: ${errorMessage(err)}`);
      await this.#answer(stream, err instanceof PolicyError ? 403 : 503, this.#md.header).catch(() => {});
      throw err instanceof DialError || err instanceof PolicyError
        ? err
        : new DialError(addr, errorMessage(err), { cause: err });
    }
    ctx.logger.info(`${ctx.src} <-> ${addr}`);
    const req: ProxyRequest = { stream, conn, method, addr, authority };
    if (method !== "CONNECT") return await forwardPlain(req, up, this.#md, ctx);
    try {
      await this.#answer(stream, 200, this.#md.header, false);
    } catch (err) {
      closeQuietly(up);
      throw err;
    }
    const idle = this.#md.idleTimeoutMs;
    await relay(idle ? new IdleBoundConn(conn, idle) : conn, idle ? new IdleBoundConn(up, idle) : up);
  }
}

/** Tells whether `conn` is an HTTP/1.1 conn of the http2 listener (under the service's counters). */
function isHttp1(conn: Conn): boolean {
  for (let c: Conn = conn; c instanceof ConnWrapper; c = c.inner) if (c instanceof Http1Conn) return true;
  return false;
}

/** The HTTP/2 stream under `conn` (the service wraps it in its counters), or null when it is none. */
export function streamOf(conn: Conn): H2Stream | null {
  let c = conn;
  while (c instanceof ConnWrapper) c = c.inner;
  return c instanceof H2Stream ? c : null;
}

/** Credentials headers whose values a trace line never shows. */
const SECRET = new Set(["proxy-authorization", "authorization", "cookie"]);

/** The request's header fields as `-DD` shows them, credential values redacted. */
function traceFields(h: readonly HeaderField[]): string {
  return h.map((f) => `${f.name}: ${SECRET.has(f.name) ? "<redacted>" : f.value}`).join("\r\n");
}
