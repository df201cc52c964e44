/**
 * Metadata of the relay handler and connector, parsed once in `init()` (keys and defaults are listed in mod.ts).
 * @module
 */
import { ConfigError } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import { refuseProbeKeys } from "../http/probe.ts";
import { type MuxConfig, parseMuxConfig } from "../../core/mux/config.ts";

/** GOST's handshake deadline on the server. */
export const DEFAULT_READ_TIMEOUT_MS = 15_000;
/** Deadline of a `nodelay` client's request/response exchange (GOST: none). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** How long a held-back client request waits for the first upstream bytes once something reads (GOST: forever). */
export const DEFAULT_LAZY_FLUSH_MS = 100;

/** Parsed relay handler options. */
export interface RelayHandlerMetadata {
  /** Deadline for reading the request, in ms; 0 = none. */
  readTimeoutMs: number;
  /** Allow BIND. */
  bind: boolean;
  /** Send the OK response at once instead of with the first bytes to the client. */
  noDelay: boolean;
  /** TCP BIND: smux settings (`mux.*`). */
  mux: MuxConfig;
}

/** Parsed relay connector options. */
export interface RelayConnectorMetadata {
  /** Deadline of the request/response exchange when `noDelay` is set, in ms; 0 = none. */
  connectTimeoutMs: number;
  /** Send the request at once and wait for the response inside `connect()`. */
  noDelay: boolean;
  /** Send a held request alone when a read has waited this long without a write; 0 = never. */
  lazyFlushMs: number;
  /** TCP BIND: smux settings (`mux.*`). */
  mux: MuxConfig;
}

/**
 * Parses the relay handler's metadata.
 * @throws {ConfigError} naming the key when a value does not parse, or a probe resistance key (GOST has none here)
 * @example parseRelayHandlerMetadata(new Metadata({ bind: "true" })).bind // true
 */
export function parseRelayHandlerMetadata(md: Metadata): RelayHandlerMetadata {
  refuseProbeKeys(md, "handler relay");
  const readTimeoutMs = md.duration("readTimeout", DEFAULT_READ_TIMEOUT_MS);
  return {
    // GOST turns a zero or negative readTimeout into the default
    readTimeoutMs: readTimeoutMs > 0 ? readTimeoutMs : DEFAULT_READ_TIMEOUT_MS,
    bind: md.bool("bind"),
    noDelay: md.bool("nodelay"),
    mux: parseMuxConfig(md),
  };
}

/**
 * Parses the relay connector's metadata.
 * @throws {ConfigError} naming the key when a value does not parse
 * @example parseRelayConnectorMetadata(new Metadata({ nodelay: true })).noDelay // true
 */
export function parseRelayConnectorMetadata(md: Metadata): RelayConnectorMetadata {
  const connectTimeoutMs = md.duration("connectTimeout", DEFAULT_CONNECT_TIMEOUT_MS);
  const lazyFlushMs = md.duration("lazyFlush", DEFAULT_LAZY_FLUSH_MS);
  for (const [key, ms] of [["connectTimeout", connectTimeoutMs], ["lazyFlush", lazyFlushMs]] as const) {
    if (ms < 0) throw new ConfigError(`"${key}" must not be negative, got ${ms} ms`);
  }
  return { connectTimeoutMs, noDelay: md.bool("nodelay"), lazyFlushMs, mux: parseMuxConfig(md) };
}
