/**
 * Options the HTTP/2 transports (h2, h2c, grpc) share: the PING keep-alive keys and the metadata handed to the TCP or
 * TLS listener/dialer underneath, where `keepalive` means TCP keep-alive (GOST's `tcp.keepalive` here, because
 * `keepalive` is the HTTP/2 keep-alive of these transports).
 * @module
 */
import { ConfigError } from "../../core/errors.ts";
import { Metadata } from "../../core/metadata.ts";
import type { KeepaliveConfig } from "./session.ts";

/** The keys of one keep-alive setting, first spelling preferred (`grpc.keepalive`, `keepalive`). */
export interface KeepaliveKeys {
  enabled: string[];
  time: string[];
  timeout: string[];
  /** Absent: pings are never sent while no stream is open (periodic mode sends them anyway). */
  permitWithoutStream?: string[];
}

/** Defaults of one keep-alive setting. */
export interface KeepaliveDefaults {
  enabled: boolean;
  timeMs: number;
  timeoutMs: number;
  mode: KeepaliveConfig["mode"];
}

/**
 * Reads a keep-alive setting. A time or timeout of 0 takes the default, as GOST does.
 * @returns null when keep-alive is off
 * @throws {ConfigError} on a value that does not parse
 */
export function parseKeepalive(md: Metadata, keys: KeepaliveKeys, d: KeepaliveDefaults): KeepaliveConfig | null {
  const enabled = md.bool(keys.enabled, d.enabled);
  const timeMs = md.duration(keys.time, 0) || d.timeMs;
  const timeoutMs = md.duration(keys.timeout, 0) || d.timeoutMs;
  const withoutStreams = keys.permitWithoutStream ? md.bool(keys.permitWithoutStream) : d.mode === "periodic";
  if (!enabled) return null;
  return { mode: d.mode, timeMs, timeoutMs, withoutStreams };
}

/**
 * The metadata for the TCP/TLS listener or dialer under an HTTP/2 transport: the same keys, with `keepalive` set from
 * `tcp.keepalive` (TCP keep-alive with the system's timings). Refuses what Deno cannot do: `mptcp=true` and the TCP
 * keep-alive timings.
 * @param owner names the component in errors (`listener grpc`)
 * @throws {ConfigError} naming the key and its value
 */
export function transportMetadata(md: Metadata, owner: string): Metadata {
  md.refuse(owner, [
    [["mptcp"], "Deno opens no MPTCP sockets (only plain TCP)"],
    [["tcp.keepalive.idle"], "Deno sets TCP keep-alive with the system's timings only (tcp.keepalive=true)"],
    [["tcp.keepalive.interval"], "Deno sets TCP keep-alive with the system's timings only (tcp.keepalive=true)"],
    [["tcp.keepalive.count"], "Deno sets TCP keep-alive with the system's timings only (tcp.keepalive=true)"],
  ]);
  const inner = new Metadata(md.toRecord());
  inner.set("keepalive", md.bool("tcp.keepalive"));
  return inner;
}

/** Header names HTTP/2 forbids (RFC 9113 §8.2.2): connection-specific ones. */
const FORBIDDEN = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]);

/**
 * Checks `header` entries for an HTTP/2 request and lower-cases their names, as Go's HTTP/2 client sends them.
 * @throws {ConfigError} on a connection-specific header or a pseudo-header
 */
export function h2Headers(header: [string, string][], key = "header"): { name: string; value: string }[] {
  return header.map(([n, value]) => {
    const name = n.toLowerCase();
    if (FORBIDDEN.has(name) || name.startsWith(":")) {
      throw new ConfigError(`"${key}": the header ${JSON.stringify(n)} cannot be sent over HTTP/2`);
    }
    if (name === "host") throw new ConfigError(`"${key}": set the request's host with the "host" option, not a header`);
    return { name, value };
  });
}
