/**
 * Basic proxy authentication (`Proxy-Authorization: Basic base64(user:pass)`), checked on every request.
 * @module
 */
import type { Authenticator } from "../../core/routing/auth.ts";
import type { HeaderList } from "./wire.ts";

/** Credentials from a Basic header. */
export interface Credentials {
  username: string;
  password: string;
}

const decoder = new TextDecoder();

/**
 * Decodes `Basic <base64>` (scheme case-insensitive, credentials UTF-8).
 * @returns the credentials, or null when the header is absent or not valid Basic
 * @example parseBasicCredentials("Basic dTpw") // { username: "u", password: "p" }
 */
export function parseBasicCredentials(value: string | undefined): Credentials | null {
  const m = value ? /^basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i.exec(value) : null;
  if (!m) return null;
  let bin: string;
  try {
    bin = atob(m[1]);
  } catch {
    return null;
  }
  const text = decoder.decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
  const colon = text.indexOf(":");
  return colon < 0 ? null : { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** The outcome of {@link authenticateRequest}. */
export type AuthResult = { ok: true; id?: string } | { ok: false; username: string };

/** Checks a request's Proxy-Authorization against `auth`; without an authenticator everyone passes. */
export function authenticateRequest(auth: Authenticator | undefined, headers: HeaderList): AuthResult {
  if (!auth) return { ok: true };
  const cred = parseBasicCredentials(headers.get("proxy-authorization"));
  const id = cred ? auth.authenticate(cred.username, cred.password) : null;
  return id === null ? { ok: false, username: cred?.username ?? "" } : { ok: true, id };
}
