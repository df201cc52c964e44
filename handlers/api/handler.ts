/**
 * The `api` handler: GOST's Web API served as a normal service (`handler.type: api`), HTTP/1.1 over whatever the
 * listener accepted (tcp, tls, …). Requests go to the same hono app as the global `-api` server; the running
 * instance is looked up at each request, and `handler.auth`/`auther(s)` protect the `/config` group.
 * @module
 */
import { closeQuietly, type Conn } from "../../core/conn.ts";
import { withDeadline } from "../../core/deadline.ts";
import { createApiApp } from "../../core/api/app.ts";
import { MAX_BODY_BYTES } from "../../core/api/body.ts";
import { addCorsHeaders } from "../../core/api/cors.ts";
import type { ApiTargetRef } from "../../core/api/target.ts";
import { TimeoutError } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { ConnContext, Handler, HandlerOptions } from "../../core/plugin.ts";
import { HttpStatusError } from "../http/wire.ts";
import { lingerClose, newReader } from "../http/stream.ts";
import { BodyTooLargeError, readRequest, type RequestLimits, writeResponse } from "./http1.ts";

/** The `api` handler's options: the usual ones plus the instance it serves. */
export interface ApiHandlerOptions extends HandlerOptions {
  readonly target: ApiTargetRef;
}

/** Parsed metadata of the `api` handler. */
export interface ApiHandlerMetadata {
  pathPrefix: string;
  accessLog: boolean;
  readTimeoutMs: number;
}

/** Default bound on reading a request and on the idle wait for the next one. */
export const DEFAULT_READ_TIMEOUT_MS = 15_000;

/** Parses `pathPrefix`, `accessLog` and `readTimeout`. @throws {ConfigError} on a bad value */
export function parseApiMetadata(md: Metadata): ApiHandlerMetadata {
  return {
    pathPrefix: md.string(["api.pathPrefix", "pathPrefix"]),
    accessLog: md.bool(["api.accessLog", "accessLog"]),
    readTimeoutMs: md.duration("readTimeout", DEFAULT_READ_TIMEOUT_MS),
  };
}

const LIMITS: RequestLimits = { maxLineBytes: 16 * 1024, maxHeaderBytes: 64 * 1024, maxBodyBytes: MAX_BODY_BYTES };

function errorReply(err: HttpStatusError): Response {
  const headers = new Headers({ "Content-Type": "application/json" });
  addCorsHeaders(headers);
  const code = err instanceof BodyTooLargeError ? 40001 : err.status;
  return new Response(JSON.stringify({ code, msg: err.message }), { status: err.status, headers });
}

/**
 * Serves the Web API on accepted conns.
 * @example
 * const h = new ApiHandler({ service: "api", logger, router, target: fixedTarget(app) });
 * await h.init(new Metadata({ pathPrefix: "/api" }));
 */
export class ApiHandler implements Handler {
  readonly #opts: ApiHandlerOptions;
  #fetch: ((req: Request, env: { remoteAddr: string }) => Response | Promise<Response>) | null = null;
  #md: ApiHandlerMetadata = { pathPrefix: "", accessLog: false, readTimeoutMs: DEFAULT_READ_TIMEOUT_MS };

  constructor(opts: ApiHandlerOptions) {
    this.#opts = opts;
  }

  init(md: Metadata): Promise<void> {
    try {
      this.#md = parseApiMetadata(md);
    } catch (err) {
      return Promise.reject(err);
    }
    const app = createApiApp({
      target: this.#opts.target,
      logger: this.#opts.logger.child({ kind: "api" }),
      pathPrefix: this.#md.pathPrefix,
      accessLog: this.#md.accessLog,
      auth: this.#opts.auth,
    });
    this.#fetch = (req, env) => app.fetch(req, env);
    return Promise.resolve();
  }

  async handle(conn: Conn, ctx: ConnContext): Promise<void> {
    const reader = newReader(conn);
    const fetch = this.#fetch;
    if (!fetch) throw new Error("api handler used before init");
    const onAbort = () => closeQuietly(conn);
    ctx.signal.addEventListener("abort", onAbort, { once: true });
    try {
      for (let first = true;; first = false) {
        let incoming;
        try {
          incoming = await withDeadline(conn, this.#md.readTimeoutMs, () => readRequest(reader, conn, LIMITS));
        } catch (err) {
          if (err instanceof HttpStatusError) {
            await writeResponse(conn, errorReply(err), "GET", false).catch(() => {});
            await lingerClose(conn);
            return;
          }
          if (!first && err instanceof TimeoutError) return;
          throw err;
        }
        if (!incoming) return;
        const res = await fetch(incoming.request, { remoteAddr: ctx.src });
        await writeResponse(conn, res, incoming.method, incoming.keepAlive);
        if (!incoming.keepAlive) return;
      }
    } finally {
      ctx.signal.removeEventListener("abort", onAbort);
      closeQuietly(conn);
    }
  }
}
