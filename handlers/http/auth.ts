/**
 * Basic proxy authentication (`Proxy-Authorization: Basic base64(user:pass)`), checked on every request.
 * @module
 */
import { type Authenticator, parseBasicCredentials } from "../../core/routing/auth.ts";
import type { HeaderList } from "./wire.ts";

/** The outcome of {@link authenticateRequest}. */
export type AuthResult = { ok: true; id?: string } | { ok: false; username: string };

/** Checks a request's Proxy-Authorization against `auth`; without an authenticator everyone passes. */
export function authenticateRequest(auth: Authenticator | undefined, headers: HeaderList): AuthResult {
  if (!auth) return { ok: true };
  const cred = parseBasicCredentials(headers.get("proxy-authorization"));
  const id = cred ? auth.authenticate(cred.username, cred.password) : null;
  return id === null ? { ok: false, username: cred?.username ?? "" } : { ok: true, id };
}
