/**
 * What the SOCKS connectors share: their metadata (keys and defaults are listed in mod.ts), the target
 * parser, the bounded handshake and the reply-code names used in error messages.
 * @module
 */
import { addrString, closeQuietly, type Conn, splitHostPort } from "../../core/conn.ts";
import { withDeadline } from "../../core/deadline.ts";
import { AbortError, ConfigError, DialError, errorMessage } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { SocksAddr } from "./wire.ts";

/** Deadline of a connector handshake (greeting through reply) when `connectTimeout` is not set. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** How a socks5 connector carries UDP: standard ASSOCIATE (`udp`) or GOST's 0xF3 UDP-tun on the stream (`tcp`). */
export type UdpRelayMode = "udp" | "tcp";

/** Parsed connector options. */
export interface SocksConnectorMetadata {
  /** Deadline of the whole handshake in ms; 0 = none. */
  connectTimeoutMs: number;
  /** socks5: never offer the TLS methods 0x80/0x82. */
  noTls: boolean;
  /** socks5: how UDP travels. */
  relay: UdpRelayMode;
  /** socks4/socks4a: resolve host names locally and send SOCKS4 (never SOCKS4a). */
  disable4a: boolean;
}

/**
 * Parses the connectors' metadata.
 * @throws {ConfigError} naming the key when a value does not parse, or `relay` is neither `udp` nor `tcp`
 * @example parseConnectorMetadata(new Metadata({ connectTimeout: "3s", relay: "tcp" })).relay // "tcp"
 */
export function parseConnectorMetadata(md: Metadata): SocksConnectorMetadata {
  const relay = md.string("relay", "udp").trim().toLowerCase() || "udp";
  if (relay !== "udp" && relay !== "tcp") {
    throw new ConfigError(`Cannot parse "relay": "${relay}" (expected "udp" or "tcp")`);
  }
  const connectTimeoutMs = md.duration(["connectTimeout", "timeout"], DEFAULT_CONNECT_TIMEOUT_MS);
  if (connectTimeoutMs < 0) throw new ConfigError(`"connectTimeout" must not be negative, got ${connectTimeoutMs} ms`);
  return { connectTimeoutMs, noTls: md.bool(["notls", "noTLS"]), relay, disable4a: md.bool("disable4a") };
}

/**
 * Splits a connector target `host:port`.
 * @throws {DialError} naming the target when it is not `host:port` with a host
 */
export function parseTarget(addr: string): SocksAddr {
  let t: SocksAddr;
  try {
    t = splitHostPort(addr);
  } catch (err) {
    throw new DialError(addr, `Invalid target "${addr}": ${errorMessage(err)}`, { cause: err });
  }
  if (!t.host) throw new DialError(addr, `Invalid target "${addr}": empty host`);
  return t;
}

/** The SOCKS server's address for messages (`127.0.0.1:1080`), or `the SOCKS server`. */
export function serverName(conn: Conn): string {
  try {
    return addrString(conn.remoteAddr) || "the SOCKS server";
  } catch {
    return "the SOCKS server";
  }
}

/**
 * Runs a client handshake bounded by `ms` and by `signal`: either closes `conn`, so the pending read fails. Any
 * failure closes `conn` (the connector owns it until it hands back a working conn).
 * @throws {TimeoutError} when `ms` pass first; an `AbortError` when `signal` fires; whatever `fn` throws
 */
export async function boundedHandshake<T>(
  conn: Conn,
  ms: number,
  signal: AbortSignal | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  const onAbort = () => closeQuietly(conn);
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    if (signal?.aborted) throw abortError(conn);
    return await withDeadline(conn, ms, fn);
  } catch (err) {
    closeQuietly(conn);
    if (signal?.aborted) throw abortError(conn, err);
    throw err;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

function abortError(conn: Conn, cause?: unknown): Error {
  return new AbortError(`SOCKS handshake with ${serverName(conn)} aborted`, { cause });
}

const hex = (n: number) => `0x${n.toString(16).padStart(2, "0")}`;

const socks5Replies: Record<number, string> = {
  0x01: "general failure",
  0x02: "not allowed by ruleset",
  0x03: "network unreachable",
  0x04: "host unreachable",
  0x05: "connection refused",
  0x06: "TTL expired",
  0x07: "command not supported",
  0x08: "address type not supported",
};

const socks4Replies: Record<number, string> = {
  0x5b: "rejected or failed",
  0x5c: "rejected: identd unreachable (GOST: blocked by bypass)",
  0x5d: "rejected: user id refused",
};

/** `0x05 connection refused`: a SOCKS5 REP code with its meaning. */
export function socks5ReplyText(rep: number): string {
  return `${hex(rep)} ${socks5Replies[rep] ?? "unknown reply"}`;
}

/** `0x5b rejected or failed`: a SOCKS4 CD code with its meaning. */
export function socks4ReplyText(cd: number): string {
  return `${hex(cd)} ${socks4Replies[cd] ?? "unknown reply"}`;
}

/** Formats a byte as `0x..`. */
export { hex as hexByte };
