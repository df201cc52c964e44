/**
 * The `sni` handler's and connector's metadata, parsed once in `init()` (keys and defaults are listed in mod.ts).
 * @module
 */
import { ConfigError } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import { isHostName } from "./clienthello.ts";

/** GOST's bound on reading the ClientHello or the request head (and on the idle wait for the next request). */
export const DEFAULT_READ_TIMEOUT_MS = 15_000;

/** Parsed `sni` handler options. */
export interface SniMetadata {
  readTimeoutMs: number;
}

/**
 * Parses the handler's metadata.
 * @throws {ConfigError} naming the key on a bad value, or on GOST's TLS interception and WebSocket recording keys
 */
export function parseSniMetadata(md: Metadata): SniMetadata {
  md.refuse("handler sni", [
    [
      ["mitm.certFile", "mitm.caCertFile"],
      "TLS interception (MITM) is not implemented: the SNI proxy relays TLS as is",
    ],
    [["mitm.keyFile", "mitm.caKeyFile"], "TLS interception (MITM) is not implemented: the SNI proxy relays TLS as is"],
    [["sniffing.websocket"], "WebSocket frame recording is not implemented"],
  ]);
  const readTimeoutMs = md.duration("readTimeout", DEFAULT_READ_TIMEOUT_MS);
  // GOST: 0 or negative means the default
  return { readTimeoutMs: readTimeoutMs > 0 ? readTimeoutMs : DEFAULT_READ_TIMEOUT_MS };
}

/** Parsed `sni` connector options. */
export interface SniConnectorMetadata {
  /** The cover name put in `server_name` / `Host`; "" leaves the client's bytes alone. */
  host: string;
}

/**
 * Parses the connector's metadata.
 * @throws {ConfigError} when `host` is not a host name
 */
export function parseSniConnectorMetadata(md: Metadata): SniConnectorMetadata {
  const host = md.string("host").trim().toLowerCase();
  if (host && !isHostName(host)) {
    throw new ConfigError(
      `connector sni: "host" must be a host name (the cover SNI / Host), got ${JSON.stringify(host)}`,
    );
  }
  return { host };
}
