/**
 * HTTP Basic authentication of the `/config` group, as GOST: `api.auth` (one user, or a file of users) and
 * `api.auther` (a named auther, looked up at each request) combined, any accepting is enough. A failure answers
 * 401 with `WWW-Authenticate: Basic` and `{"code":401,"msg":"Unauthorized"}`. Without either, the
 * `Authorization` header is ignored (gost-ui always sends one, `Basic Og==` when it has no credentials).
 * @module
 */
import { authEntries } from "../routing/auth.ts";
import type { AuthConfig } from "../config/schema.ts";
import type { MiddlewareHandler } from "../deps.ts";
import { ConfigError, errorMessage } from "../errors.ts";
import {
  type Authenticator,
  AuthenticatorGroup,
  type AutherLookup,
  NamedAuthenticator,
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

const decoder = new TextDecoder();

/**
 * Decodes `Authorization: Basic <base64(user:pass)>`.
 * @returns the credentials, or null when absent or not valid Basic
 * @example basicCredentials("Basic dTpw") // { username: "u", password: "p" }
 */
export function basicCredentials(header: string | undefined): { username: string; password: string } | null {
  const m = header ? /^basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i.exec(header) : null;
  if (!m) return null;
  let bin: string;
  try {
    bin = atob(m[1]);
  } catch {
    return null;
  }
  const text = decoder.decode(Uint8Array.from(bin, (ch) => ch.charCodeAt(0)));
  const colon = text.indexOf(":");
  return colon < 0 ? null : { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

/**
 * The Basic auth middleware; with no authenticator every request passes.
 * @example app.use("/config/*", basicAuth(auth));
 */
export function basicAuth(auth: Authenticator | undefined): MiddlewareHandler {
  return async (c, next) => {
    if (auth) {
      const cred = basicCredentials(c.req.header("authorization"));
      if (!cred || auth.authenticate(cred.username, cred.password) === null) {
        return c.json({ code: 401, msg: "Unauthorized" }, 401, { "WWW-Authenticate": "Basic" });
      }
    }
    await next();
  };
}
