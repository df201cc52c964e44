/**
 * CORS as GOST sends it, so that gost-ui (a page on another origin) can drive the API: every response, errors and
 * 401s included, carries `Access-Control-Allow-Origin: *`; a preflight (`OPTIONS`) is answered 204 before any
 * authentication, allowing GET/POST/PUT/DELETE/OPTIONS, the requested headers plus `Authorization` and
 * `Content-Type` (a bare `*` does not cover `Authorization`), and private-network access.
 * @module
 */
import type { MiddlewareHandler } from "../deps.ts";

/** Methods the API allows cross-origin. */
export const CORS_METHODS = "GET, POST, PUT, DELETE, OPTIONS";

/** Adds the CORS headers to a response's headers. */
export function addCorsHeaders(h: Headers): void {
  h.set("Access-Control-Allow-Origin", "*");
  h.set("Access-Control-Allow-Private-Network", "true");
}

/**
 * The CORS middleware; mount it first.
 * @example app.use("*", cors());
 */
export function cors(): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.method === "OPTIONS") {
      const h = new Headers();
      addCorsHeaders(h);
      h.set("Access-Control-Allow-Methods", CORS_METHODS);
      const requested = c.req.header("access-control-request-headers");
      h.set("Access-Control-Allow-Headers", `Authorization, Content-Type, ${requested ?? "*"}`);
      h.set("Access-Control-Max-Age", "86400");
      h.set("Vary", "Access-Control-Request-Headers");
      return new Response(null, { status: 204, headers: h });
    }
    await next();
    addCorsHeaders(c.res.headers);
  };
}
