/**
 * GOST's node URL grammar: `[scheme://][user:pass@]host:port[/target[,target…]][?key=value&…]`.
 * Parsed by hand, as host parts may hold port ranges (`:8000-8003`) and comma lists that URL parsers reject.
 * @module
 */
import { ConfigError } from "../errors.ts";
import { GOST_DEFAULT_SCHEME, GOST_SCHEME_ALIASES } from "./gost_names.ts";

/** The parts of a node URL. */
export interface NodeUrl {
  /** Lower-cased scheme; `https` becomes `http+tls`. */
  scheme: string;
  /** Set when the URL has user info. */
  user?: { username: string; password?: string };
  /** `host:port`, a port range or a comma list of hosts. */
  host: string;
  /** The path after the host, without the leading slash (`""` when none). */
  path: string;
  /** Query keys with their first value, in order. */
  query: Record<string, string>;
}

function decode(s: string, what: string, raw: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new ConfigError(`Invalid ${what} in "${raw}"`);
  }
}

/**
 * Parses a `-L`/`-F` value. No `://` or a leading `:` means scheme `auto`.
 * @throws {ConfigError} on an empty value or a malformed scheme, user info or query
 * @example parseNodeUrl("socks5://u:p@:1080?udp=true")
 */
export function parseNodeUrl(input: string): NodeUrl {
  let s = input.trim();
  if (!s) throw new ConfigError("Invalid empty service or node URL");
  if (s.startsWith(":") || !s.includes("://")) s = `${GOST_DEFAULT_SCHEME}://${s}`;
  const sep = s.indexOf("://");
  let scheme = s.slice(0, sep).toLowerCase();
  if (!/^[a-z][a-z0-9+.-]*$/.test(scheme)) throw new ConfigError(`Invalid scheme "${scheme}" in "${input}"`);
  scheme = Object.hasOwn(GOST_SCHEME_ALIASES, scheme) ? GOST_SCHEME_ALIASES[scheme] : scheme;
  let rest = s.slice(sep + 3);
  const hash = rest.indexOf("#");
  if (hash >= 0) rest = rest.slice(0, hash);
  const q = rest.indexOf("?");
  const query: Record<string, string> = {};
  if (q >= 0) {
    for (const [k, v] of new URLSearchParams(rest.slice(q + 1))) if (!(k in query)) query[k] = v;
    rest = rest.slice(0, q);
  }
  const slash = rest.indexOf("/");
  let authority = slash >= 0 ? rest.slice(0, slash) : rest;
  const path = slash >= 0 ? rest.slice(slash) : "";
  let user: NodeUrl["user"];
  const at = authority.lastIndexOf("@");
  if (at >= 0) {
    const info = authority.slice(0, at);
    authority = authority.slice(at + 1);
    const colon = info.indexOf(":");
    user = colon >= 0
      ? {
        username: decode(info.slice(0, colon), "user name", input),
        password: decode(info.slice(colon + 1), "password", input),
      }
      : { username: decode(info, "user name", input) };
  }
  return { scheme, user, host: authority, path: decode(path.replace(/^\/+|\/+$/g, ""), "path", input), query };
}

/**
 * Expands a port range: `:8000-8003` → 4 addresses, `host:80` → `[]` (no range).
 * @throws {ConfigError} on a reversed or out-of-range range
 */
export function expandPortRange(addr: string): string[] {
  const m = /^(.*):(\d+)-(\d+)$/.exec(addr);
  if (!m) return [];
  const [from, to] = [Number(m[2]), Number(m[3])];
  if (from > to || to > 65535) throw new ConfigError(`Invalid port range "${addr}"`);
  if (to - from >= 4096) throw new ConfigError(`Port range "${addr}" is larger than 4096 ports`);
  const out: string[] = [];
  for (let p = from; p <= to; p++) out.push(`${m[1]}:${p}`);
  return out;
}

/** Decodes `?auth=BASE64(user:pass)`. @throws {ConfigError} on invalid base64 */
export function decodeAuthParam(v: string): { username: string; password?: string } {
  let text: string;
  try {
    text = atob(v.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(v.length / 4) * 4, "="));
  } catch {
    throw new ConfigError(`Cannot decode "auth" as base64: "${v}"`);
  }
  const i = text.indexOf(":");
  return i < 0 ? { username: text } : { username: text.slice(0, i), password: text.slice(i + 1) };
}
