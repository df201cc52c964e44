/**
 * The `api` handler: GOST's Web API served as a normal service (`handler.type: api`), HTTP/1.1 over whatever the
 * listener accepted (tcp, tls, …) through the same server side and bounds as the global `-api` server
 * (core/http1/serve.ts). Requests go to the same hono app; the running instance is looked up at each request, and
 * `handler.auth`/`auther(s)` protect the `/config` group.
 * @module
 */
import type { Conn } from "../../core/conn.ts";
import { MAX_BODY_BYTES } from "../../core/api/body.ts";
import { parseAllowOrigins } from "../../core/api/cors.ts";
import type { ApiTargetRef } from "../../core/api/target.ts";
import { type Http1Limits, parseHttp1Limits } from "../../core/http1/limits.ts";
import { Http1Handler } from "../../core/http1/serve.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { ConnContext, Handler, HandlerOptions } from "../../core/contracts.ts";

/** The `api` handler's options: the usual ones plus the instance it serves. */
export interface ApiHandlerOptions extends HandlerOptions {
  readonly target: ApiTargetRef;
}

/** Parsed metadata of the `api` handler. */
export interface ApiHandlerMetadata {
  pathPrefix: string;
  accessLog: boolean;
  /** Origins allowed without auth (see core/api/cors.ts). */
  allowOrigins: string[];
  /** `readTimeout`, `writeTimeout`, `idleTimeout`, `maxConns` (core/http1/limits.ts). */
  limits: Http1Limits;
}

/** Parses `pathPrefix`, `accessLog`, `allowOrigins` and the server bounds. @throws {ConfigError} on a bad value */
export function parseApiMetadata(md: Metadata): ApiHandlerMetadata {
  const limits = { ...parseHttp1Limits(md, ""), maxBodyBytes: MAX_BODY_BYTES };
  return {
    pathPrefix: md.string(["api.pathPrefix", "pathPrefix"]),
    accessLog: md.bool(["api.accessLog", "accessLog"]),
    allowOrigins: parseAllowOrigins(md.find(["api.allowOrigins", "allowOrigins"])?.[1], "allowOrigins"),
    limits,
  };
}

/**
 * Serves the Web API on accepted conns.
 * @example
 * const h = new ApiHandler({ service: "api", logger, router, target: fixedTarget(app) });
 * await h.init(new Metadata({ pathPrefix: "/api" }));
 */
export class ApiHandler implements Handler {
  readonly #opts: ApiHandlerOptions;
  #http: Http1Handler | null = null;

  constructor(opts: ApiHandlerOptions) {
    this.#opts = opts;
  }

  async init(md: Metadata): Promise<void> {
    const parsed: ApiHandlerMetadata = parseApiMetadata(md);
    // the API (hono, the dashboard) is imported by a config that has one (docs/architecture.md, "Module loading")
    const [{ createApiApp }, { apiErrorReply }] = await Promise.all([
      import("../../core/api/app.ts"),
      import("../../core/api/server.ts"),
    ]);
    const app = createApiApp({
      target: this.#opts.target,
      logger: this.#opts.logger.child({ kind: "api" }),
      pathPrefix: parsed.pathPrefix,
      accessLog: parsed.accessLog,
      auth: this.#opts.auth,
      allowOrigins: parsed.allowOrigins,
    });
    this.#http = new Http1Handler({
      fetch: (req, info) => app.fetch(req, info),
      limits: parsed.limits,
      errorReply: apiErrorReply,
    });
  }

  handle(conn: Conn, ctx: ConnContext): Promise<void> {
    if (!this.#http) return Promise.reject(new Error("api handler used before init"));
    return this.#http.handle(conn, ctx);
  }
}
