/**
 * The Web API as a hono app: CORS and the origin checks of an API without auth (first, so that every answer carries
 * them), the access log, Basic auth on the `/config` group, the config and object routes, the OpenAPI document, the
 * dashboard page (`{prefix}/`, `/ui`), and one error mapper. Serve it with {@link ApiServer} or the `api` handler, or call `app.request()` in tests.
 * @module
 */
import { Hono } from "../deps/hono.ts";
import { errorMessage } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { Authenticator } from "../routing/auth.ts";
import { accessLog, type ApiEnv } from "./access_log.ts";
import { basicAuth } from "./auth.ts";
import { configRoutes } from "./config.ts";
import { cors } from "./cors.ts";
import { dashboardRoutes } from "./dashboard/routes.ts";
import { ApiError } from "./errors.ts";
import { objectRoutes } from "./objects.ts";
import { openApiDocument, openApiYaml } from "./openapi.ts";
import { sessionRoutes } from "./sessions.ts";
import { tunnelRoutes } from "./tunnels.ts";
import type { ApiTargetRef } from "./target.ts";

/** How the API app is set up. */
export interface ApiAppOptions {
  /** The running instance, looked up per request. */
  target: ApiTargetRef;
  logger: Logger;
  /** Base path of every route (`/api`); default none. */
  pathPrefix?: string;
  /** Log one line per request (GOST's `accesslog`). */
  accessLog?: boolean;
  /** Basic auth of the `/config` group; none = open. */
  auth?: Authenticator;
  /** Origins allowed to drive an API without auth from a browser (`api.allowOrigins`, see cors.ts). */
  allowOrigins?: readonly string[];
}

/**
 * Normalises a path prefix: a leading slash, no trailing slash, `""` for none.
 * @example normalizePrefix("api/") // "/api"
 */
export function normalizePrefix(prefix: string | undefined): string {
  const p = (prefix ?? "").trim().replace(/\/+$/, "");
  return !p ? "" : p.startsWith("/") ? p : `/${p}`;
}

/**
 * Builds the API app.
 * @param opts target, logger, prefix, access log and auth
 * @returns the app; `app.fetch(request, { remoteAddr })` answers one request
 * @example
 * const app = createApiApp({ target: fixedTarget(app), logger, pathPrefix: "/api" });
 * const res = await app.request("/api/config/services");
 */
export function createApiApp(opts: ApiAppOptions): Hono<ApiEnv> {
  const prefix = normalizePrefix(opts.pathPrefix);
  const root = new Hono<ApiEnv>();
  const app = prefix ? root.basePath(prefix) : root;
  const onError = (err: Error, c: { json: (b: unknown, s: number) => Response }) => {
    if (err instanceof ApiError) return c.json(err.toJSON(), err.status);
    opts.logger.error(`api: ${errorMessage(err)}`, { kind: "api" });
    return c.json({ code: 500, msg: errorMessage(err) }, 500);
  };
  root.onError((err, c) => onError(err, c as never));
  root.notFound((c) => c.json({ code: 404, msg: `Not Found: ${c.req.method} ${new URL(c.req.url).pathname}` }, 404));
  root.use("*", cors({ authenticated: opts.auth !== undefined, allowOrigins: opts.allowOrigins }));
  if (opts.accessLog) root.use("*", accessLog(opts.logger));
  app.use("/config", basicAuth(opts.auth));
  app.use("/config/*", basicAuth(opts.auth));
  app.use("/sessions", basicAuth(opts.auth));
  app.use("/tunnels", basicAuth(opts.auth));
  const docJson = JSON.stringify(openApiDocument(prefix), null, 2);
  const docYaml = openApiYaml(prefix);
  app.get("/docs/openapi.json", (c) => c.body(docJson, 200, { "Content-Type": "application/json" }));
  app.get("/docs/swagger.yaml", (c) => c.body(docYaml, 200, { "Content-Type": "text/yaml; charset=utf-8" }));
  configRoutes(app, opts.target);
  objectRoutes(app, opts.target);
  sessionRoutes(app, opts.target);
  tunnelRoutes(app, opts.target);
  dashboardRoutes(root, { prefix, auth: opts.auth });
  return root;
}
