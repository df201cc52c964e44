/**
 * Metadata of the tunnel handler and connector, parsed once in `init()` (keys and defaults are listed in mod.ts).
 * @module
 */
import { ConfigError, errorMessage } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import { type MuxConfig, parseMuxConfig } from "../../core/mux/config.ts";
import { type IngressRule, IngressTable } from "../../core/routing/ingress.ts";
import { parseTunnelId, randomId } from "./id.ts";

/** Handshake deadline on the server (GOST: none by default). */
export const DEFAULT_READ_TIMEOUT_MS = 15_000;
/** Deadline of the entrypoint's sniffing read and of a tunnel's response head (GOST's `entrypoint.readTimeout`). */
export const DEFAULT_ENTRYPOINT_READ_TIMEOUT_MS = 15_000;
/** How long a tunnel without clients stays listed (with its counters) before it is forgotten (GOST's `tunnel.ttl`). */
export const DEFAULT_TUNNEL_TTL_MS = 15_000;
/** Distinct tunnel ids one client (its user, else its IP) may hold at once. */
export const DEFAULT_MAX_TUNNELS_PER_CLIENT = 100;
/** Clients one tunnel id may have at once. */
export const DEFAULT_MAX_CLIENTS_PER_TUNNEL = 100;
/** Deadline of the connector's request/response exchange (GOST: none). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** GOST's tunnel session: smux v2 with a 1 MiB stream window. */
export const TUNNEL_MUX_BASE: Partial<MuxConfig> = { version: 2, maxStreamBuffer: 1_048_576 };

/** One public entrypoint: where it listens and the ingress it routes by (a name, or the handler's own). */
export interface EntrypointConfig {
  /** `host:port` to listen on. */
  addr: string;
  /** The named ingress, or "" for the handler's (`ingress` / `tunnel`). */
  ingress: string;
}

/** Parsed tunnel handler options. */
export interface TunnelHandlerMetadata {
  readTimeoutMs: number;
  /** The public entrypoints (`entrypoint`, then `entrypoints`). */
  entrypoints: EntrypointConfig[];
  /** Visitors with this tunnel id are public entrypoints: their target is routed through the ingress. */
  entrypointId: Uint8Array | null;
  entrypointReadTimeoutMs: number;
  /** Keep a tunnel stream open for the next request of the same client conn to the same host. */
  entrypointKeepAlive: boolean;
  /** A visitor may reach any tunnel by its id, without an ingress rule. */
  direct: boolean;
  tunnelTtlMs: number;
  /** The named ingress, or "". */
  ingressName: string;
  /** The inline rules of `tunnel=host:uuid,…`, when set. */
  inlineIngress: IngressTable | null;
  maxTunnelsPerClient: number;
  maxClientsPerTunnel: number;
  mux: MuxConfig;
}

/** Parsed tunnel connector options. */
export interface TunnelConnectorMetadata {
  connectTimeoutMs: number;
  /** The tunnel id (20 bytes, weight set). */
  tunnelId: Uint8Array;
  /** True when no `tunnel.id` was given (a random one was made, as GOST does). */
  randomId: boolean;
  mux: MuxConfig;
}

/** GOST's `tunnel=host:uuid,host:uuid` inline rules. @throws {ConfigError} naming the key */
function inlineRules(text: string): IngressTable | null {
  if (!text.trim()) return null;
  const rules: IngressRule[] = [];
  for (const part of text.split(",")) {
    const s = part.trim();
    if (!s) continue;
    const i = s.indexOf(":");
    if (i <= 0) throw new ConfigError(`"tunnel": rule ${JSON.stringify(s)} is not hostname:tunnel-id`);
    rules.push({ hostname: s.slice(0, i), endpoint: s.slice(i + 1) });
  }
  try {
    return new IngressTable(rules);
  } catch (err) {
    throw new ConfigError(`"tunnel": ${errorMessage(err)}`, { cause: err });
  }
}

/** GOST's `entrypoints` list: `[{addr, ingress}]` (a list or its JSON text). @throws {ConfigError} */
function entrypointList(v: unknown): EntrypointConfig[] {
  if (v === undefined || v === null || v === "") return [];
  let list = v;
  if (typeof v === "string") {
    try {
      list = JSON.parse(v);
    } catch {
      throw new ConfigError(`"entrypoints" must be a list of {addr, ingress}, got ${JSON.stringify(v).slice(0, 80)}`);
    }
  }
  if (!Array.isArray(list)) throw new ConfigError(`"entrypoints" must be a list of {addr, ingress}`);
  return list.flatMap((e, i) => {
    if (!e || typeof e !== "object") throw new ConfigError(`"entrypoints"[${i}] must be {addr, ingress}`);
    const o = e as Record<string, unknown>;
    const get = (k: string) => {
      const hit = Object.keys(o).find((x) => x.toLowerCase() === k);
      return hit === undefined ? undefined : o[hit];
    };
    const addr = get("addr"), ingress = get("ingress");
    for (const [k, x] of [["addr", addr], ["ingress", ingress]] as const) {
      if (x !== undefined && typeof x !== "string") throw new ConfigError(`"entrypoints"[${i}].${k} must be a string`);
    }
    // GOST skips an entry without an address
    return addr ? [{ addr: addr as string, ingress: (ingress as string | undefined) ?? "" }] : [];
  });
}

/**
 * Parses the tunnel handler's metadata.
 * @throws {ConfigError} naming the key when a value does not parse
 * @example parseTunnelHandlerMetadata(new Metadata({ entrypoint: ":80", "tunnel.direct": true })).direct // true
 */
export function parseTunnelHandlerMetadata(md: Metadata): TunnelHandlerMetadata {
  const readTimeoutMs = md.duration("readTimeout", DEFAULT_READ_TIMEOUT_MS);
  const epKey = md.find(["entrypoint.id", "entryPoint.id"])?.[0] ?? "entrypoint.id";
  const epText = md.string(["entrypoint.id", "entryPoint.id"]);
  const entrypointId = epText ? parseTunnelId(epText) : null;
  if (epText && !entrypointId) throw new ConfigError(`"${epKey}" is not a UUID: ${JSON.stringify(epText)}`);
  const epTimeout = md.duration("entrypoint.readTimeout", DEFAULT_ENTRYPOINT_READ_TIMEOUT_MS);
  const ttl = md.duration("tunnel.ttl", DEFAULT_TUNNEL_TTL_MS);
  const primary = md.string(["entrypoint", "entryPoint"]);
  return {
    readTimeoutMs: readTimeoutMs > 0 ? readTimeoutMs : DEFAULT_READ_TIMEOUT_MS,
    entrypoints: [...(primary ? [{ addr: primary, ingress: "" }] : []), ...entrypointList(md.find("entrypoints")?.[1])],
    entrypointId,
    // GOST turns zero or less into the default
    entrypointReadTimeoutMs: epTimeout > 0 ? epTimeout : DEFAULT_ENTRYPOINT_READ_TIMEOUT_MS,
    entrypointKeepAlive: md.bool("entrypoint.keepalive"),
    direct: md.bool("tunnel.direct"),
    tunnelTtlMs: ttl > 0 ? ttl : DEFAULT_TUNNEL_TTL_MS,
    ingressName: md.string("ingress"),
    inlineIngress: inlineRules(md.string("tunnel")),
    maxTunnelsPerClient: md.int("tunnel.maxTunnelsPerClient", DEFAULT_MAX_TUNNELS_PER_CLIENT, 1, 1_000_000),
    maxClientsPerTunnel: md.int("tunnel.maxClientsPerTunnel", DEFAULT_MAX_CLIENTS_PER_TUNNEL, 1, 1_000_000),
    mux: parseMuxConfig(md, TUNNEL_MUX_BASE),
  };
}

/**
 * Parses the tunnel connector's metadata. Without `tunnel.id` a random id is used (GOST's behaviour: then only
 * `tunnel.direct` servers route to it).
 * @throws {ConfigError} naming the key when a value does not parse
 * @example parseTunnelConnectorMetadata(new Metadata({ "tunnel.id": "4d21094e-b74c-4916-86c1-d9fa36ea677b" }))
 */
export function parseTunnelConnectorMetadata(md: Metadata): TunnelConnectorMetadata {
  const connectTimeoutMs = md.duration("connectTimeout", DEFAULT_CONNECT_TIMEOUT_MS);
  if (connectTimeoutMs < 0) throw new ConfigError(`"connectTimeout" must not be negative, got ${connectTimeoutMs} ms`);
  const key = md.find(["tunnel.id", "tunnelID"])?.[0] ?? "tunnel.id";
  const text = md.string(["tunnel.id", "tunnelID"]);
  let tunnelId = text ? parseTunnelId(text) : null;
  if (text && (!tunnelId || text.trim().startsWith("$"))) {
    throw new ConfigError(`"${key}" is not a UUID: ${JSON.stringify(text)}`);
  }
  const random = !tunnelId;
  tunnelId ??= randomId();
  const weight = md.int("tunnel.weight", 0, 0, 255);
  tunnelId[19] = weight;
  return { connectTimeoutMs, tunnelId, randomId: random, mux: parseMuxConfig(md, TUNNEL_MUX_BASE) };
}
