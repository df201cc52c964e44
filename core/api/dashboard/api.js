// The dashboard's one way to the Web API: fetch with the user's Basic credentials (kept in this tab only), GOST's
// `{code, msg}` errors turned into ApiError, and no browser login prompt (credentials: "omit").

const AUTH_KEY = "gost.dashboard.auth";

/** The API's path prefix ("" or "/api"), written into the page by the server. */
export const apiBase = document.querySelector('meta[name="gost-api-base"]')?.content ?? "";

/** A failed API call: HTTP status (0 when the API could not be reached), GOST code and message. */
export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, 0 for a network failure
   * @param {number} code GOST's code (40002 …), or the status when the body had none
   * @param {string} message the API's `msg`, shown as is
   * @param {string} request `METHOD path`
   */
  constructor(status, code, message, request) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.request = request;
  }
}

let authorization = sessionStorage.getItem(AUTH_KEY);

/** Tells whether credentials are set. */
export function hasCredentials() {
  return authorization !== null;
}

/**
 * Sets the Basic credentials used from now on (UTF-8, as the server decodes them).
 * @param {string} username
 * @param {string} password
 */
export function setCredentials(username, password) {
  const bytes = new TextEncoder().encode(`${username}:${password}`);
  authorization = `Basic ${btoa(String.fromCharCode(...bytes))}`;
  sessionStorage.setItem(AUTH_KEY, authorization);
}

/** Forgets the credentials. */
export function clearCredentials() {
  authorization = null;
  sessionStorage.removeItem(AUTH_KEY);
}

/**
 * Calls the API.
 * @param {string} method
 * @param {string} path below the prefix, e.g. `/config/services`
 * @param {{json?: unknown, text?: string, raw?: boolean}} [opts] a JSON or text body; `raw` returns the text
 * @returns {Promise<any>} the parsed JSON answer (the text when `raw`)
 * @throws {ApiError}
 */
export async function api(method, path, opts = {}) {
  const request = `${method} ${apiBase}${path}`;
  const headers = {};
  if (authorization) headers.Authorization = authorization;
  let payload;
  if (opts.json !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(opts.json);
  } else if (opts.text !== undefined) {
    headers["Content-Type"] = "text/plain; charset=utf-8";
    payload = opts.text;
  }
  let res;
  try {
    res = await fetch(`${apiBase}${path}`, { method, headers, body: payload, credentials: "omit", cache: "no-store" });
  } catch (err) {
    throw new ApiError(0, 0, `Cannot reach the API: ${err.message}`, request);
  }
  const text = await res.text();
  let data;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  if (!res.ok) {
    const msg = typeof data?.msg === "string" ? data.msg : (text.trim() || res.statusText || "request failed");
    throw new ApiError(res.status, typeof data?.code === "number" ? data.code : res.status, msg, request);
  }
  return opts.raw ? text : data;
}
