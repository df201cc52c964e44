/**
 * The dashboard: a page served by the API at `{prefix}/` and `{prefix}/ui` that shows every service live and
 * edits services and chains through the API. The page and its scripts are served from memory ({@link ASSETS})
 * without authentication (they hold no data: the page asks for the API's credentials when `/config` answers 401),
 * under a strict Content-Security-Policy, with `Cache-Control: no-cache` and an ETag.
 *
 * | Route | Answer |
 * |---|---|
 * | GET `{prefix}/`, `{prefix}/ui`, `{prefix}/ui/` (and `{prefix}`) | the page |
 * | GET `{prefix}/ui/{file}` | a script, the stylesheet or the icon |
 * | POST `{prefix}/ui/yaml/parse` | YAML text → `{"data": value}` (the editor's YAML tab; auth as `/config`) |
 * | POST `{prefix}/ui/yaml/stringify` | a JSON object → `{"data": "yaml text"}` (auth as `/config`) |
 * @module
 */
import type { Hono, HonoContext } from "../../deps/hono.ts";
import { LineCounter, parseDocument, stringifyYaml } from "../../deps/yaml.ts";
import { errorMessage } from "../../errors.ts";
import type { Authenticator } from "../../routing/auth.ts";
import type { ApiEnv } from "../access_log.ts";
import { basicAuth } from "../auth.ts";
import { readBodyBytes, readJsonObject } from "../body.ts";
import { invalid } from "../errors.ts";
import { ASSETS } from "./assets.ts";

/** The page's Content-Security-Policy: nothing but its own origin, no inline script or style. */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const CONTENT_TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
};

/** One file ready to serve. */
interface Served {
  body: string;
  type: string;
  etag: string;
}

/** A 53-bit FNV-1a-style hash of the text, as a strong ETag. */
function etagOf(text: string): string {
  let h1 = 0xdeadbeef, h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return `"${(4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36)}-${text.length.toString(36)}"`;
}

function escapeAttr(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function served(name: string, body: string): Served {
  const type = CONTENT_TYPES[name.slice(name.lastIndexOf(".") + 1)] ?? "application/octet-stream";
  return { body, type, etag: etagOf(body) };
}

/** Tells whether `If-None-Match` names this ETag (`*`, a list, weak forms). */
function fresh(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(",").some((t) => {
    const v = t.trim();
    return v === "*" || v === etag || v === `W/${etag}`;
  });
}

function send(c: HonoContext<ApiEnv>, file: Served, extra: Record<string, string> = {}): Response {
  const headers = { "Cache-Control": "no-cache", ETag: file.etag, "X-Content-Type-Options": "nosniff", ...extra };
  if (fresh(c.req.header("if-none-match"), file.etag)) return c.body(null, 304, headers);
  return c.body(file.body, 200, { ...headers, "Content-Type": file.type });
}

const PAGE_HEADERS = {
  "Content-Security-Policy": DASHBOARD_CSP,
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
};

/** Parses YAML for the editor, with the config loader's options and GOST-style messages. */
function parseYaml(text: string): unknown {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0];
    const pos = e.linePos?.[0] ?? (e.pos ? lines.linePos(e.pos[0]) : undefined);
    throw invalid(`YAML${pos ? ` at line ${pos.line}, column ${pos.col}` : ""}: ${e.message.split("\n")[0]}`);
  }
  try {
    return doc.toJS({ maxAliasCount: 100 }) ?? null;
  } catch (err) {
    throw invalid(`YAML: ${errorMessage(err)}`);
  }
}

/** How the dashboard is mounted. */
export interface DashboardOptions {
  /** The API's normalised path prefix (`""` or `/api`). */
  prefix: string;
  /** The `/config` group's authenticator, also asked by the YAML routes. */
  auth?: Authenticator;
}

/**
 * Mounts the dashboard on the API's root app (not the prefixed one: `{prefix}/` needs its trailing slash).
 * @param root the API's root hono app
 * @param opts the path prefix and the API's authenticator
 * @example dashboardRoutes(root, { prefix: "/api", auth });
 */
export function dashboardRoutes(root: Hono<ApiEnv>, opts: DashboardOptions): void {
  const p = opts.prefix;
  const page = served("index.html", ASSETS["index.html"].replaceAll("__GOST_API_BASE__", escapeAttr(p)));
  for (const path of new Set([p || "/", `${p}/`, `${p}/ui`, `${p}/ui/`])) {
    root.get(path, (c) => send(c, page, PAGE_HEADERS));
  }
  for (const [name, body] of Object.entries(ASSETS)) {
    if (name === "index.html") continue;
    const file = served(name, body);
    root.get(`${p}/ui/${name}`, (c) => send(c, file));
  }
  root.use(`${p}/ui/yaml/*`, basicAuth(opts.auth));
  root.post(`${p}/ui/yaml/parse`, async (c) => {
    const text = new TextDecoder().decode(await readBodyBytes(c.req.raw));
    return c.json({ data: parseYaml(text) });
  });
  root.post(`${p}/ui/yaml/stringify`, async (c) => {
    const obj = await readJsonObject(c.req.raw, "yaml");
    return c.json({ data: stringifyYaml(obj, { indent: 2, lineWidth: 0 }) });
  });
}
