/**
 * Unit tests of core/http1/status.ts, the reason phrases of the statuses gost.ts writes: each phrase exactly as RFC
 * 9110 §15 (and RFC 6585 for 431) spells it, the table holds the codes the HTTP/1.1 server, the Web API and the HTTP
 * proxy handler answer with, and an unknown code has no entry (callers fall back: core/http1/response.ts,
 * handlers/http/wire.ts).
 * @module
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { STATUS_TEXT } from "../../../core/http1/status.ts";

/** The whole table, as RFC 9110 §15 names each status (413 is "Content Too Large" since RFC 9110). */
const RFC_PHRASES: Record<number, string> = {
  100: "Continue",
  200: "OK",
  201: "Created",
  204: "No Content",
  304: "Not Modified",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  407: "Proxy Authentication Required",
  408: "Request Timeout",
  413: "Content Too Large",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
};

Deno.test("STATUS_TEXT: every phrase is RFC 9110's, and the table holds exactly these codes", () => {
  deepEqual({ ...STATUS_TEXT }, RFC_PHRASES);
  deepEqual(Object.keys(STATUS_TEXT).map(Number), Object.keys(RFC_PHRASES).map(Number));
});

Deno.test("STATUS_TEXT: the codes the proxy handler, the HTTP/1.1 server and the Web API answer with", () => {
  const used: [number, string][] = [
    // handlers/http: a bad request, a refused policy, proxy auth, a failed dial.
    [400, "Bad Request"],
    [403, "Forbidden"],
    [407, "Proxy Authentication Required"],
    [502, "Bad Gateway"],
    // core/http1 reader/request/serve: oversized body or head, unknown version, failure, over maxConns, 100-continue.
    [413, "Content Too Large"],
    [431, "Request Header Fields Too Large"],
    [505, "HTTP Version Not Supported"],
    [500, "Internal Server Error"],
    [503, "Service Unavailable"],
    [100, "Continue"],
    // core/api: answers, CORS preflight, auth, unknown route.
    [200, "OK"],
    [204, "No Content"],
    [401, "Unauthorized"],
    [404, "Not Found"],
  ];
  for (const [code, text] of used) equal(STATUS_TEXT[code], text, String(code));
});

Deno.test("STATUS_TEXT: unknown, out-of-range and non-integer codes have no phrase", () => {
  for (const code of [0, -1, 1, 99, 102, 199, 202, 299, 302, 399, 418, 429, 499, 506, 599, 600, 999, 1000, 200.5]) {
    equal(STATUS_TEXT[code], undefined, String(code));
    equal(Object.hasOwn(STATUS_TEXT, code), false, String(code));
  }
  equal(STATUS_TEXT[Number.NaN], undefined);
});

Deno.test("STATUS_TEXT: Object.prototype names are no status", () => {
  const table = STATUS_TEXT as Readonly<Record<string, unknown>>;
  for (const key of ["toString", "constructor", "valueOf", "hasOwnProperty"]) {
    equal(Object.hasOwn(table, key), false, key);
  }
});

Deno.test("STATUS_TEXT: phrases are single-line printable ASCII (safe in a status line)", () => {
  for (const [code, text] of Object.entries(STATUS_TEXT)) {
    ok(/^[\x20-\x7e]+$/.test(text), `${code}: ${JSON.stringify(text)}`);
    equal(text, text.trim(), code);
  }
});

Deno.test("STATUS_TEXT: every code is a 3-digit status in 100..599", () => {
  for (const key of Object.keys(STATUS_TEXT)) {
    ok(/^[1-5]\d\d$/.test(key), key);
  }
});

// Fixed bug (core/http1/status.ts, a gap in the table): the dashboard route (core/api/dashboard/routes.ts) answers a
// fresh `If-None-Match` with 304 through core/http1/response.ts, which finds no phrase here and falls back to the
// Response's empty statusText, writing "HTTP/1.1 304 " (valid per RFC 9112 §4, but not the statuses-we-write table
// the module documents). Fix: add `304: "Not Modified",` to STATUS_TEXT (and to RFC_PHRASES above).
Deno.test({
  name: "STATUS_TEXT: 304, which the dashboard writes, has its phrase",
  fn: () => {
    equal(STATUS_TEXT[304], "Not Modified");
  },
});
