/**
 * HTTP Basic authentication of the `/config` group, as GOST: `api.auth` (one user, or a file of users) and
 * `api.auther` (a named auther, looked up at each request) combined, any accepting is enough. A failure answers
 * 401 with `WWW-Authenticate: Basic` and `{"code":401,"msg":"Unauthorized"}`. Without either, the
 * `Authorization` header is ignored (gost-ui always sends one, `Basic Og==` when it has no credentials).
 * @module
 */
import type { AuthConfig } from "../config/types.ts";
import type { MiddlewareHandler } from "../deps/hono.ts";
import type { Logger } from "../log.ts";
import { type Authenticator, type AutherLookup, blockAuthenticator, parseBasicCredentials } from "../routing/auth.ts";

/** The auth part of the `api` config block. */
export interface ApiAuthConfig {
  auth?: AuthConfig;
  auther?: string;
}

/**
 * Builds the API's authenticator from `api.auth` and `api.auther` (users with an empty password are warned about).
 * @returns undefined when neither is set (no authentication)
 * @throws {ConfigError} when the auth file cannot be read
 */
export function apiAuthenticator(cfg: ApiAuthConfig, reg: AutherLookup, logger?: Logger): Authenticator | undefined {
  return blockAuthenticator(cfg, reg, "api", logger);
}

/**
 * The Basic auth middleware; with no authenticator every request passes.
 * @example app.use("/config/*", basicAuth(auth));
 */
export function basicAuth(auth: Authenticator | undefined): MiddlewareHandler {
  return async (c, next) => {
    if (auth) {
      const cred = parseBasicCredentials(c.req.header("authorization"));
      if (!cred || auth.authenticate(cred.username, cred.password) === null) {
        return c.json({ code: 401, msg: "Unauthorized" }, 401, { "WWW-Authenticate": "Basic" });
      }
    }
    await next();
  };
}
