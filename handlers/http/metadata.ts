/**
 * The `http` handler's metadata, parsed once in `init()` (keys and defaults are listed in mod.ts).
 * @module
 */
import type { Metadata } from "../../core/metadata.ts";
import { parseHeaderMap } from "../../core/http1/header_map.ts";
import { DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS, DEFAULT_UPSTREAM_MAX_IDLE } from "./pool.ts";
import { parseProbeResistance, type ProbeResistance } from "./probe.ts";

/** Default bound on reading one request head, and on the idle wait for the next one. */
export const DEFAULT_READ_TIMEOUT_MS = 15_000;
/** Default cap on one request head. */
export const DEFAULT_MAX_HEADER_BYTES = 64 * 1024;
/** Cap on one head line. */
export const MAX_LINE_BYTES = 16 * 1024;
/** Default `Proxy-Authenticate` realm. */
export const DEFAULT_REALM = "gost";
/** Default `Proxy-Agent` header value. */
export const DEFAULT_PROXY_AGENT = "gost/3.0";

/** Parsed `http` handler options. */
export interface HttpMetadata {
  readTimeoutMs: number;
  maxHeaderBytes: number;
  maxLineBytes: number;
  realm: string;
  /** Headers every reply of the proxy itself carries (Proxy-Agent first, then `header`). */
  replyHeaders: [string, string][];
  /** Keep idle upstream conns for the client's next conns (`upstreamKeepAlive`, GOST's `http.keepalive`). */
  upstreamKeepAlive: boolean;
  /** Give kept upstream conns to any client, not only the one whose requests they carried (`upstreamShared`). */
  upstreamShared: boolean;
  upstreamIdleTimeoutMs: number;
  /** Idle upstream conns kept per target. */
  upstreamMaxIdle: number;
  /** Probe resistance (`probeResistance` and `knock`): the decoy for clients that fail authentication. */
  probe?: ProbeResistance;
}

/**
 * Parses the handler metadata.
 * @param inAuto true for the http side of the auto handler (its `udp` belongs to the SOCKS5 side)
 * @throws {ConfigError} naming the key when a value does not parse (probeResistance and knock: see probe.ts) or is
 *   refused (udp=true, sniffing)
 * @example parseHttpMetadata(new Metadata({ readTimeout: "5s" })).readTimeoutMs // 5000
 */
export function parseHttpMetadata(md: Metadata, inAuto = false): HttpMetadata {
  // in the auto handler `udp` is the SOCKS5 side's key (UDP ASSOCIATE), not UDP over HTTP
  const udp = [["udp"], "UDP over the HTTP proxy is not implemented: use socks5 (UDP ASSOCIATE) or relay"] as const;
  const owner = inAuto ? "handler auto" : "handler http";
  md.refuse(owner, [
    ...(inAuto ? [] : [udp]),
    [["sniffing"], "traffic sniffing is not implemented"],
  ]);
  const readTimeoutMs = md.duration("readTimeout", DEFAULT_READ_TIMEOUT_MS);
  const maxHeaderBytes = md.int(["maxHeaderBytes", "http.maxHeaderBytes"], DEFAULT_MAX_HEADER_BYTES, 1024, 1 << 24);
  const realm = md.string(["authBasicRealm", "realm"], DEFAULT_REALM);
  const proxyAgent = md.string(["proxyAgent", "http.proxyAgent"], DEFAULT_PROXY_AGENT);
  const header = parseHeaderMap(md, ["http.header", "header"]);
  const replyHeaders: [string, string][] = header.some(([k]) => k.toLowerCase() === "proxy-agent")
    ? header
    : [["Proxy-Agent", proxyAgent], ...header];
  const upstreamIdleTimeoutMs = md.duration("upstreamIdleTimeout", DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS);
  const upstreamMaxIdle = md.int("upstreamMaxIdle", DEFAULT_UPSTREAM_MAX_IDLE, 0, 1 << 16);
  return {
    probe: parseProbeResistance(md, owner),
    // GOST's `http.keepalive`/`keepalive` (upstream keep-alive, off by default there; on by default here)
    upstreamKeepAlive: md.bool(["upstreamKeepAlive", "http.keepalive", "keepalive"], true) &&
      upstreamIdleTimeoutMs > 0 && upstreamMaxIdle > 0,
    upstreamShared: md.bool("upstreamShared", false),
    upstreamIdleTimeoutMs,
    upstreamMaxIdle,
    readTimeoutMs: readTimeoutMs > 0 ? readTimeoutMs : DEFAULT_READ_TIMEOUT_MS,
    maxHeaderBytes,
    maxLineBytes: Math.min(MAX_LINE_BYTES, maxHeaderBytes),
    realm: realm.replace(/["\\]/g, "\\$&"),
    replyHeaders,
  };
}
