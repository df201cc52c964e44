/**
 * GOST's reverse-proxy settings of a forwarder node — `filter` (or the older `host`, `protocol`, `path`), `http`
 * (or the older `auth`) and `tls` — read into the {@link NodeRoute} a sniffing forward handler routes with
 * (handlers/forward/mod.ts). GOST's rules (x/config/parsing): `filter` wins over the older fields; `*.example.com`
 * and `*example.com` mean `.example.com`; `requestHeader` wins over `header`, `rewriteURL` over `rewrite`; the
 * response body rules are `rewriteBody` then `rewriteResponseBody`. Where GOST skips a bad regexp or an unknown key
 * without a word, this refuses it naming the path; GOST's `json:` body matches and rewriter plugins are refused.
 * @module
 */
import { ConfigError } from "../errors.ts";
import type { BodyRewrite, NodeHttpSettings, NodeRoute, RegexRewrite } from "../contracts.ts";
import { authEntries, StaticAuthenticator } from "../routing/auth.ts";
import type { ConfigPath } from "./load.ts";
import type { ForwardNodeConfig, HttpBodyRewriteConfig, HttpNodeConfig, HttpUrlRewriteConfig } from "./types.ts";

/** GOST's default cap on a rewritten body (its `maxChunkSize` default, 1 MiB). */
export const DEFAULT_REWRITE_MAX_BYTES = 1 << 20;
/** The body rewrite type when a rule names none (GOST's). */
const DEFAULT_REWRITE_TYPE = "text/html";

const FILTER_KEYS = ["host", "protocol", "path"];
const HTTP_KEYS = [
  "host",
  "header",
  "requestHeader",
  "responseHeader",
  "rewrite",
  "rewriteURL",
  "rewriteBody",
  "rewriteRequestBody",
  "rewriteResponseBody",
  "failCodes",
  "auth",
];
const URL_REWRITE_KEYS = ["match", "replacement"];
const BODY_REWRITE_KEYS = ["type", "match", "replacement", "rewriter", "maxChunkSize"];
const TLS_KEYS = ["serverName", "secure", "options", "caFile", "certFile", "keyFile"];
/** Header names as HTTP allows them (RFC 9110 tokens). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// deno-lint-ignore no-control-regex
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;

/** A config error at `path` below the node. */
export class NodeFieldError extends ConfigError {
  /** Where, below `forwarder.nodes[i]`. */
  readonly path: ConfigPath;
  constructor(path: ConfigPath, message: string) {
    super(message);
    this.path = path;
  }
}

function unknownKeys(obj: unknown, known: string[], path: ConfigPath): void {
  if (obj === undefined || obj === null) return;
  if (typeof obj !== "object" || Array.isArray(obj)) {
    throw new NodeFieldError(path, `must be an object with ${known.join(", ")}; got ${JSON.stringify(obj)}`);
  }
  for (const k of Object.keys(obj)) {
    if (!known.includes(k)) {
      throw new NodeFieldError([...path, k], `unknown field "${k}": supported are ${known.join(", ")}`);
    }
  }
}

/**
 * A Go (RE2) regexp as a JavaScript one: a leading `(?flags)` group becomes flags (`i`, `s`, `m`; `U` is refused),
 * `(?P<name>` becomes `(?<name>`.
 * @throws {ConfigError} when the pattern does not compile
 * @example goRegExp("(?i)^/API/(.*)").test("/api/x") // true
 */
export function goRegExp(pattern: string, global = false): RegExp {
  let src = pattern;
  let flags = global ? "g" : "";
  const lead = /^\(\?([imsU]+)\)/.exec(src);
  if (lead) {
    if (lead[1].includes("U")) {
      throw new ConfigError(`the U (ungreedy) flag of ${JSON.stringify(pattern)} is not supported`);
    }
    for (const f of new Set(lead[1])) flags += f;
    src = src.slice(lead[0].length);
  }
  src = src.replaceAll("(?P<", "(?<");
  try {
    return new RegExp(src, flags + "u");
  } catch {
    try {
      return new RegExp(src, flags); // a pattern valid only without the u flag (a lone `\-` or `{`)
    } catch (err) {
      throw new ConfigError(`invalid regexp ${JSON.stringify(pattern)}: ${(err as Error).message}`);
    }
  }
}

function headerList(map: Record<string, string> | undefined, path: ConfigPath): [string, string][] {
  if (!map) return [];
  return Object.entries(map).map(([name, value]) => {
    const v = String(value);
    if (!TOKEN.test(name) || BAD_VALUE.test(v)) {
      throw new NodeFieldError([...path, name], `invalid header ${JSON.stringify(name)}: ${JSON.stringify(v)}`);
    }
    return [name, v];
  });
}

function urlRewrites(list: HttpUrlRewriteConfig[] | undefined, path: ConfigPath): RegexRewrite[] {
  return (list ?? []).map((r, i) => {
    unknownKeys(r, URL_REWRITE_KEYS, [...path, i]);
    if (!r.match) throw new NodeFieldError([...path, i, "match"], "a URL rewrite needs a match pattern");
    try {
      return { pattern: goRegExp(r.match), replacement: r.replacement ?? "" };
    } catch (err) {
      throw new NodeFieldError([...path, i, "match"], (err as Error).message);
    }
  });
}

function bodyRewrites(list: HttpBodyRewriteConfig[] | undefined, path: ConfigPath): BodyRewrite[] {
  return (list ?? []).map((r, i) => {
    const at = [...path, i];
    unknownKeys(r, BODY_REWRITE_KEYS, at);
    if (r.rewriter) {
      throw new NodeFieldError(
        [...at, "rewriter"],
        `rewriter plugins (GOST's rewriters) are not supported by gost.ts yet (got ${JSON.stringify(r.rewriter)}): ` +
          "use match and replacement",
      );
    }
    if (!r.match) throw new NodeFieldError([...at, "match"], "a body rewrite needs a match pattern");
    if (r.match.startsWith("json:")) {
      throw new NodeFieldError(
        [...at, "match"],
        `JSON path matches (${JSON.stringify(r.match)}) are not supported by gost.ts yet: use a regexp`,
      );
    }
    const max = r.maxChunkSize ?? 0;
    if (max < 0) throw new NodeFieldError([...at, "maxChunkSize"], `must not be negative, got ${max}`);
    const types = (r.type || DEFAULT_REWRITE_TYPE).split(",").map((t) => t.trim().toLowerCase()).filter(Boolean);
    try {
      return {
        pattern: goRegExp(r.match, true),
        replacement: r.replacement ?? "",
        types,
        maxBytes: max || DEFAULT_REWRITE_MAX_BYTES,
      };
    } catch (err) {
      throw new NodeFieldError([...at, "match"], (err as Error).message);
    }
  });
}

/**
 * Parses GOST's `failCodes` (`"429,5xx,502-504"`) into a status test.
 * @throws {ConfigError} on an item that is not a status, a class (`5xx`) or a range
 * @example parseFailCodes("429,5xx")(503) // true
 */
export function parseFailCodes(spec: string): (status: number) => boolean {
  const tests: ((s: number) => boolean)[] = [];
  for (const raw of spec.split(",")) {
    const item = raw.trim().toLowerCase();
    if (!item) continue;
    let m: RegExpExecArray | null;
    if ((m = /^([1-5])xx$/.exec(item))) {
      const c = Number(m[1]);
      tests.push((s) => Math.floor(s / 100) === c);
    } else if ((m = /^(\d{3})-(\d{3})$/.exec(item))) {
      const [a, b] = [Number(m[1]), Number(m[2])];
      if (a > b) throw new ConfigError(`failCodes range ${JSON.stringify(item)} is empty`);
      tests.push((s) => s >= a && s <= b);
    } else if (/^\d{3}$/.test(item)) {
      const n = Number(item);
      tests.push((s) => s === n);
    } else {
      throw new ConfigError(
        `failCodes item ${JSON.stringify(item)}: expected a status (429), a class (5xx) or a range`,
      );
    }
  }
  return (s) => tests.some((t) => t(s));
}

function httpSettings(
  cfg: HttpNodeConfig | undefined,
  legacyAuth: ForwardNodeConfig["auth"],
  path: ConfigPath,
): NodeHttpSettings | undefined {
  if (!cfg && !legacyAuth) return undefined;
  unknownKeys(cfg, HTTP_KEYS, path);
  const c = cfg ?? {};
  const reqHeaders = c.requestHeader ?? c.header;
  let failCodes: NodeHttpSettings["failCodes"];
  if (c.failCodes?.trim()) {
    try {
      failCodes = parseFailCodes(c.failCodes);
    } catch (err) {
      throw new NodeFieldError([...path, "failCodes"], (err as Error).message);
    }
  }
  const authCfg = c.auth ?? legacyAuth;
  const authPath: ConfigPath = c.auth ? [...path, "auth"] : ["auth"];
  let auth: NodeHttpSettings["auth"];
  if (authCfg) {
    let entries;
    try {
      entries = authEntries(authCfg);
    } catch (err) {
      throw new NodeFieldError([...authPath, "file"], `cannot read auth file: ${(err as Error).message}`);
    }
    if (entries.some((e) => !e.password)) {
      throw new NodeFieldError(authPath, "a user without a password can never log in: set password");
    }
    if (entries.length) auth = new StaticAuthenticator(entries);
  }
  return {
    host: c.host ?? "",
    requestHeader: headerList(reqHeaders, [...path, c.requestHeader ? "requestHeader" : "header"]),
    responseHeader: headerList(c.responseHeader, [...path, "responseHeader"]),
    rewriteURL: urlRewrites(c.rewriteURL ?? c.rewrite, [...path, c.rewriteURL ? "rewriteURL" : "rewrite"]),
    rewriteRequestBody: bodyRewrites(c.rewriteRequestBody, [...path, "rewriteRequestBody"]),
    rewriteResponseBody: [
      ...bodyRewrites(c.rewriteBody, [...path, "rewriteBody"]),
      ...bodyRewrites(c.rewriteResponseBody, [...path, "rewriteResponseBody"]),
    ],
    failCodes,
    auth,
  };
}

/** GOST's host filter spelling: `*.example.com` and `*example.com` mean `.example.com`. */
function filterHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith("*")) {
    h = h.slice(1);
    if (!h.startsWith(".")) h = "." + h;
  }
  return h;
}

/**
 * Reads the reverse-proxy settings of one forwarder node.
 * @returns undefined when the node sets none of them
 * @throws {NodeFieldError} naming the path below the node, for an unknown field, a bad regexp, header, failCodes or
 *   auth, a refused body rule (`json:` match, `rewriter`)
 * @example parseNodeRoute({ addr: "a:80", filter: { host: "*.a.test" } })?.host // ".a.test"
 */
export function parseNodeRoute(node: ForwardNodeConfig): NodeRoute | undefined {
  const f = node.filter;
  unknownKeys(f, FILTER_KEYS, ["filter"]);
  const filter = f ?? { host: node.host, protocol: node.protocol, path: node.path };
  const protocol = (filter.protocol ?? "").trim().toLowerCase();
  const http = httpSettings(node.http, node.auth, ["http"]);
  unknownKeys(node.tls, TLS_KEYS, ["tls"]);
  const tls = node.tls && Object.keys(node.tls).length ? { ...node.tls } : undefined;
  const route: NodeRoute = {
    host: filterHost(filter.host ?? ""),
    protocol,
    path: filter.path ?? "",
    http,
    tls,
  };
  return route.host || route.protocol || route.path || route.http || route.tls ? route : undefined;
}

/** The route fields a node sets, as config paths below it (`filter`, `http`, `tls`, `host`, …), for messages. */
export function routeFields(node: ForwardNodeConfig): string[] {
  const set = (v: unknown) => v !== undefined && v !== null && v !== "";
  return ["filter", "host", "protocol", "path", "auth", "http", "tls"].filter((k) => set(node[k]));
}
