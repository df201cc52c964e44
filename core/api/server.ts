/**
 * The global Web API server (`-api` / `api:` / `GOST_API`) on `host:port` (`:port` = every interface) or a unix
 * socket (`unix:///path`): the API app on the built-in HTTP/1.1 server (core/http1/server.ts), which accepts as every
 * service does and bounds every conn (`readTimeout`, `writeTimeout`, `idleTimeout`, `maxConns`; core/http1/limits.ts).
 * Without auth on a non-loopback address it logs a warning, as an open proxy does.
 * @module
 */
import type { Config } from "../config/types.ts";
import { ConfigError } from "../errors.ts";
import { HttpServer } from "../http1/server.ts";
import { parseHttp1Limits } from "../http1/limits.ts";
import { type ListenAddr, parseListenAddr } from "../http1/listener.ts";
import type { Logger } from "../log.ts";
import type { AutherLookup } from "../routing/auth.ts";
import { createApiApp } from "./app.ts";
import { apiAuthenticator } from "./auth.ts";
import { MAX_BODY_BYTES } from "./body.ts";
import { addCorsHeaders, parseAllowOrigins } from "./cors.ts";
import type { ApiTargetRef } from "./target.ts";

/** Where to listen: TCP or a unix socket. */
export type ApiListenAddr = ListenAddr;

/**
 * Parses the API address: `host:port`, `:port`, `unix:///path`.
 * @throws {ConfigError} naming `api.addr`
 * @example parseApiAddr(":18080") // { hostname: "0.0.0.0", port: 18080 }
 */
export function parseApiAddr(addr: string): ApiListenAddr {
  return parseListenAddr(addr, "api.addr");
}

/** The `api` block of the config. */
export type ApiConfig = NonNullable<Config["api"]>;

/** What starting the server needs. */
export interface ApiServerOptions {
  /** The `api` block of the config (`addr` required). */
  config: ApiConfig;
  target: ApiTargetRef;
  logger: Logger;
  /** Where `api.auther` is looked up. */
  reg: AutherLookup;
}

/**
 * The API's own answer to a request it could not read (400, 413, 431, 505), to a conn over `maxConns` (503) and to
 * an unexpected failure (500): GOST's `{code, msg}` with GOST's CORS headers (it carries no data).
 */
export function apiErrorReply(status: number, message: string): Response {
  const headers = new Headers({ "Content-Type": "application/json" });
  addCorsHeaders(headers);
  const code = status === 413 ? 40001 : status;
  return new Response(JSON.stringify({ code, msg: message }), { status, headers });
}

/**
 * A running API server.
 * @example
 * const api = ApiServer.start({ config: { addr: "127.0.0.1:18080" }, target, logger, reg });
 * await api.close();
 */
export class ApiServer {
  readonly #server: HttpServer;
  /** The bound address. */
  readonly addr: Deno.Addr;

  private constructor(server: HttpServer) {
    this.#server = server;
    this.addr = server.addr;
  }

  /**
   * Binds and starts serving.
   * @throws {ConfigError} for a bad address, setting or auth file, or when the address cannot be bound
   */
  static start(opts: ApiServerOptions): ApiServer {
    const { config, logger } = opts;
    if (!config.addr) throw new ConfigError("api.addr: required");
    const log = logger.child({ kind: "api" });
    const auth = apiAuthenticator(config, opts.reg, log);
    const app = createApiApp({
      target: opts.target,
      logger: log,
      pathPrefix: config.pathPrefix,
      accessLog: config.accesslog,
      auth,
      allowOrigins: parseAllowOrigins(config.allowOrigins, "api.allowOrigins"),
    });
    const server = HttpServer.start({
      name: "api",
      addr: config.addr,
      unix: true,
      fetch: (req, info) => app.fetch(req, info),
      limits: { ...parseHttp1Limits(config, "api"), maxBodyBytes: MAX_BODY_BYTES },
      errorReply: apiErrorReply,
      logger: log,
    });
    logger.info(`api server on ${server.addrText}`, { kind: "api" });
    if (!auth && server.public) {
      logger.warn(
        `api server on ${server.addrText} has no authentication: anyone who reaches it can reconfigure gost.ts; ` +
          `add user:pass@ to -api or api.auth, or bind to 127.0.0.1`,
        { kind: "api" },
      );
    }
    return new ApiServer(server);
  }

  /** Stops accepting, closes every conn (waiting 3 s at most) and removes a unix socket. Idempotent. */
  close(): Promise<void> {
    return this.#server.close();
  }
}
