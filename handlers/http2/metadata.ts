/**
 * The `http2` handler's and connector's metadata, parsed once in `init()` (keys and defaults are listed in mod.ts).
 * @module
 */
import { ConfigError } from "../../core/errors.ts";
import { parseHeaderMap } from "../../core/http1/header_map.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { HeaderField } from "../../listeners/h2/hpack.ts";
import { DEFAULT_REALM } from "../http/metadata.ts";

/** Default bound on the CONNECT exchange of the connector. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** Header names HTTP/2 forbids (RFC 9113 §8.2.2), and those the proxy sets itself. */
const FORBIDDEN = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host"]);

/**
 * The `header` map as HTTP/2 header fields (names lower-cased).
 * @throws {ConfigError} naming `owner` and the header on a connection-specific one or a pseudo-header
 */
export function headerFields(md: Metadata, keys: string[], owner: string): HeaderField[] {
  return parseHeaderMap(md, keys).map(([n, value]) => {
    const name = n.toLowerCase();
    if (FORBIDDEN.has(name) || name.startsWith(":") || !/^[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(name)) {
      throw new ConfigError(`${owner}: "${keys[0]}": the header ${JSON.stringify(n)} cannot be sent over HTTP/2`);
    }
    return { name, value };
  });
}

/** Parsed `http2` handler options. */
export interface Http2Metadata {
  /** Headers added to every answer after authentication (`header`, `http.header`). */
  header: HeaderField[];
  /** Realm of `proxy-authenticate` in 407 answers (escaped for the quoted string). */
  realm: string;
  /** Idle bound on each direction of a tunnel (`readTimeout`, `read.timeout`); 0: none. */
  idleTimeoutMs: number;
}

/**
 * Parses the handler's metadata.
 * @throws {ConfigError} naming the key on a bad value
 */
export function parseHttp2Metadata(md: Metadata): Http2Metadata {
  return {
    header: headerFields(md, ["http.header", "header"], "handler http2"),
    realm: md.string(["authBasicRealm", "realm"], DEFAULT_REALM).replace(/["\\]/g, "\\$&"),
    idleTimeoutMs: Math.max(0, md.duration(["readTimeout", "read.timeout"], 0)),
  };
}

/** Parsed `http2` connector options. */
export interface Http2ConnectorMetadata {
  timeoutMs: number;
  header: HeaderField[];
}

/**
 * Parses the connector's metadata.
 * @throws {ConfigError} naming the key on a bad value
 */
export function parseHttp2ConnectorMetadata(md: Metadata): Http2ConnectorMetadata {
  return {
    timeoutMs: md.duration(["timeout", "connectTimeout"], DEFAULT_CONNECT_TIMEOUT_MS),
    header: headerFields(md, ["header"], "connector http2"),
  };
}
