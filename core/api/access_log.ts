/**
 * The API's access log (`api.accesslog: true`), GOST's line: `| code | duration | clientIP | METHOD uri` with the
 * same facts as fields and `kind=api`.
 * @module
 */
import type { MiddlewareHandler } from "../deps/hono.ts";
import type { Logger } from "../log.ts";

/** What the server passes to the app with each request. */
export interface ApiBindings {
  /** The client's address, `host:port` (or the socket path). */
  remoteAddr?: string;
  /** The transport of the conn (`tcp`, `unix`): a unix socket is reached by no browser (see cors.ts). */
  transport?: string;
}

/** The hono environment of the API app. */
export type ApiEnv = { Bindings: ApiBindings };

function clientIp(remote: string | undefined): string {
  if (!remote) return "";
  const m = /^\[?(.*?)\]?:\d+$/.exec(remote);
  return m ? m[1] : remote;
}

/**
 * The access log middleware; mount it first so that it sees every answer, preflights and 401s included.
 * @example app.use("*", accessLog(logger));
 */
export function accessLog(logger: Logger): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const start = performance.now();
    await next();
    const ms = performance.now() - start;
    const duration = ms < 1 ? `${Math.round(ms * 1000)}µs` : `${ms.toFixed(3)}ms`;
    const client = clientIp(c.env?.remoteAddr);
    const url = new URL(c.req.url);
    const uri = url.pathname + url.search;
    const code = c.res.status;
    logger.info(`| ${code} | ${duration.padStart(13)} | ${client.padStart(15)} | ${c.req.method.padEnd(7)} ${uri}`, {
      kind: "api",
      method: c.req.method,
      uri,
      code,
      client,
      duration: Math.round(ms * 1000) / 1000,
    });
  };
}
