/**
 * CORS, and who may drive the API from a browser page.
 *
 * With API auth (`api.auth`/`api.auther`, or the `api` handler's auth) CORS is as GOST sends it, so that gost-ui (a
 * page on another origin) can drive the API once the user signs in: every response, errors and 401s included,
 * carries `Access-Control-Allow-Origin: *`; a preflight (`OPTIONS`) is answered 204 before any authentication,
 * allowing GET/POST/PUT/DELETE/OPTIONS, the requested headers plus `Authorization` and `Content-Type` (a bare `*`
 * does not cover `Authorization`), and private-network access.
 *
 * Without auth, any web page the user opens could otherwise reconfigure a local gost.ts. So only the API's own
 * origin (the built-in dashboard) and the origins listed in `allowOrigins` get CORS (their origin echoed, with
 * `Vary: Origin`); for any other `Origin` a write (POST/PUT/DELETE/PATCH) and a preflight are refused 403 with
 * GOST's `{code, msg}` body and no CORS headers, and a read is answered without CORS headers (the browser keeps it
 * from the page). Against DNS rebinding (a page whose name is made to resolve to 127.0.0.1 is same-origin by its own
 * `Origin`) a request whose `Host` is a DNS name other than `localhost` (`*.localhost`) or an allowed origin's host is
 * refused 403 too; on a unix socket (no browser reaches it) the `Host` is not checked. Requests without `Origin`
 * (curl, scripts) are answered as with auth. `allowOrigins: ["*"]` restores GOST's behaviour.
 * @module
 */
import type { MiddlewareHandler } from "../deps/hono.ts";
import { ConfigError } from "../errors.ts";
import { parseIPv4, parseIPv6 } from "../ip.ts";
import type { ApiEnv } from "./access_log.ts";

/** Methods the API allows cross-origin. */
export const CORS_METHODS = "GET, POST, PUT, DELETE, OPTIONS";

/** Who may call the API from a page on another origin. */
export interface CorsPolicy {
  /** The API asks for credentials: every origin gets CORS, as in GOST (a page still needs the password). */
  authenticated: boolean;
  /** Origins allowed without auth, as {@link parseAllowOrigins} returns them; `*` allows every origin. */
  allowOrigins?: readonly string[];
}

/**
 * Normalises the `allowOrigins` setting: a list or a comma-separated string of `scheme://host[:port]` (or `*`).
 * @param key names the setting in errors (`api.allowOrigins`)
 * @returns the origins as browsers send them (lower case, no default port, no path)
 * @throws {ConfigError} naming `key` and the value that is not an origin
 * @example parseAllowOrigins("https://UI.example:443, http://localhost:3000", "api.allowOrigins")
 *   // ["https://ui.example", "http://localhost:3000"]
 */
export function parseAllowOrigins(value: unknown, key: string): string[] {
  if (value === undefined || value === null || value === "") return [];
  const items = Array.isArray(value) ? value : String(value).split(",");
  const out: string[] = [];
  for (const item of items) {
    const s = String(item).trim();
    if (!s) continue;
    if (s === "*") {
      out.push("*");
      continue;
    }
    let url: URL | undefined;
    try {
      url = new URL(s);
    } catch {
      // reported below
    }
    const origin = url && (url.protocol === "http:" || url.protocol === "https:") && !url.username &&
      !url.password && url.pathname === "/" && !url.search && !url.hash;
    if (!origin) {
      throw new ConfigError(`${key}: "${s}" is not an origin: expected scheme://host[:port] (http or https) or *`);
    }
    out.push(url!.origin);
  }
  return out;
}

/** Adds GOST's CORS headers (any origin) to a response's headers. */
export function addCorsHeaders(h: Headers): void {
  h.set("Access-Control-Allow-Origin", "*");
  h.set("Access-Control-Allow-Private-Network", "true");
}

function preflight(c: { req: { header(name: string): string | undefined } }, origin: string): Response {
  const h = new Headers();
  h.set("Access-Control-Allow-Origin", origin);
  h.set("Access-Control-Allow-Private-Network", "true");
  h.set("Access-Control-Allow-Methods", CORS_METHODS);
  const requested = c.req.header("access-control-request-headers");
  h.set("Access-Control-Allow-Headers", `Authorization, Content-Type, ${requested ?? "*"}`);
  h.set("Access-Control-Max-Age", "86400");
  h.set("Vary", origin === "*" ? "Access-Control-Request-Headers" : "Origin, Access-Control-Request-Headers");
  return new Response(null, { status: 204, headers: h });
}

const WRITES = new Set(["POST", "PUT", "DELETE", "PATCH"]);

/** Tells whether a Host name cannot be a rebound DNS name: an IP literal or `localhost`. */
function fixedHost(hostname: string): boolean {
  const ip = parseIPv4(hostname) !== null || (hostname.startsWith("[") && parseIPv6(hostname) !== null);
  return ip || hostname === "localhost" || hostname.endsWith(".localhost");
}

function refuse(msg: string): Response {
  return new Response(JSON.stringify({ code: 403, msg }), {
    status: 403,
    headers: { "Content-Type": "application/json", "Vary": "Origin" },
  });
}

const ADVICE = "set api.auth (user:pass@ in -api), or list the page's origin in api.allowOrigins";

/**
 * The CORS middleware; mount it first.
 * @param policy whether the API has auth, and the origins allowed without it (default: with auth, GOST's CORS)
 * @example app.use("*", cors({ authenticated: false, allowOrigins: ["https://ui.example"] }));
 */
export function cors(policy: CorsPolicy = { authenticated: true }): MiddlewareHandler<ApiEnv> {
  const allowed = new Set(policy.allowOrigins ?? []);
  const guarded = !policy.authenticated && !allowed.has("*");
  const allowedHosts = new Set([...allowed].filter((o) => o !== "*").map((o) => new URL(o).hostname));
  return async (c, next) => {
    let echo = "*";
    if (guarded) {
      const url = new URL(c.req.url);
      if (c.env?.transport !== "unix" && !fixedHost(url.hostname) && !allowedHosts.has(url.hostname)) {
        return refuse(
          `Host "${url.host}" refused: without auth the API answers only requests to an IP address or localhost ` +
            `(a page could rebind its DNS name to this address); ${ADVICE}`,
        );
      }
      const origin = c.req.header("origin");
      if (origin !== undefined) {
        let own = false;
        try {
          own = new URL(origin).host === url.host;
        } catch {
          // "null" or garbage: not the API's own origin
        }
        if (!own && !allowed.has(origin.toLowerCase())) {
          if (c.req.method === "OPTIONS" || WRITES.has(c.req.method)) {
            return refuse(
              `cross-origin request from ${JSON.stringify(origin)} refused: the API has no auth; ${ADVICE}`,
            );
          }
          await next();
          c.res.headers.append("Vary", "Origin");
          return;
        }
        echo = origin;
      }
    }
    if (c.req.method === "OPTIONS") return preflight(c, echo);
    await next();
    c.res.headers.set("Access-Control-Allow-Origin", echo);
    c.res.headers.set("Access-Control-Allow-Private-Network", "true");
    // without auth the answer depends on the Origin, with or without one: no cache may serve it to another origin
    if (guarded) c.res.headers.append("Vary", "Origin");
  };
}
