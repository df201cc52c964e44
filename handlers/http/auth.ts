/**
 * Basic proxy authentication (`Proxy-Authorization: Basic base64(user:pass)`), checked on every request. The
 * header is parsed strictly (core/routing/auth.ts, RFC 7617); a request with more than one `Proxy-Authorization`
 * is refused (the field holds one set of credentials, RFC 9110 §11.7.2: which one would count is ambiguous).
 * @module
 */
import { type Authenticator, parseBasicCredentials } from "../../core/routing/auth.ts";
import type { HeaderList } from "./wire.ts";

/** The outcome of {@link authenticateRequest}. */
export type AuthResult = { ok: true; id?: string } | { ok: false; username: string };

/** Checks a request's Proxy-Authorization against `auth`; without an authenticator everyone passes. */
export function authenticateRequest(auth: Authenticator | undefined, headers: HeaderList): AuthResult {
  if (!auth) return { ok: true };
  const values = headers.getAll("proxy-authorization");
  const cred = values.length === 1 ? parseBasicCredentials(values[0]) : null;
  const id = cred ? auth.authenticate(cred.username, cred.password) : null;
  return id === null ? { ok: false, username: cred?.username ?? "" } : { ok: true, id };
}
