/**
 * HTTP Basic authentication of the `/config` group, as GOST: `api.auth` (one user, or a file of users) and
 * `api.auther` (a named auther, looked up at each request) combined, any accepting is enough. A failure answers
 * 401 with `WWW-Authenticate: Basic` and `{"code":401,"msg":"Unauthorized"}`. Without either, the
 * `Authorization` header is ignored (gost-ui always sends one, `Basic Og==` when it has no credentials).
 * @module
 */
import type { AuthConfig } from "../config/schema.ts";
import type { MiddlewareHandler } from "../deps.ts";
import { ConfigError, errorMessage } from "../errors.ts";
import {
  type Authenticator,
  AuthenticatorGroup,
  authEntries,
  type AutherLookup,
  NamedAuthenticator,
  parseBasicCredentials,
  StaticAuthenticator,
} from "../routing/auth.ts";

/** The auth part of the `api` config block. */
export interface ApiAuthConfig {
  auth?: AuthConfig;
  auther?: string;
}

/**
 * Builds the API's authenticator from `api.auth` and `api.auther`.
 * @returns undefined when neither is set (no authentication)
 * @throws {ConfigError} when the auth file cannot be read
 */
export function apiAuthenticator(cfg: ApiAuthConfig, reg: AutherLookup): Authenticator | undefined {
  const members: Authenticator[] = [];
  let entries;
  try {
    entries = authEntries(cfg.auth);
  } catch (err) {
    throw new ConfigError(`api.auth.file: cannot read auth file: ${errorMessage(err)}`, { cause: err });
  }
  if (entries.length) members.push(new StaticAuthenticator(entries));
  if (cfg.auther) members.push(new NamedAuthenticator([cfg.auther], reg));
  if (!members.length) return undefined;
  return members.length === 1 ? members[0] : new AuthenticatorGroup(members);
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
