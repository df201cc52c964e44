/**
 * The `quic` listener's and dialer's metadata (GOST's x/listener/quic and x/dialer/quic `parseMetadata`), read once
 * at `init()`, and the QUIC side of the TLS options: QUIC carries TLS 1.3 only, and GOST's ALPN default.
 * @module
 */
import { ConfigError } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { TlsProtocolOptions } from "../tls/protocol.ts";

/** GOST's ALPN protocols when the TLS options name none (`NextProtos`). */
export const DEFAULT_QUIC_ALPN: readonly string[] = ["h3", "quic/v1"];
/** GOST's keep-alive period (`ttl`) when keep-alive is on and none is given. */
export const DEFAULT_KEEPALIVE_MS = 10_000;
/** GOST's `maxIdleTimeout` default. */
export const DEFAULT_MAX_IDLE_MS = 90_000;
/** quic-go's handshake idle timeout, GOST's `handshakeTimeout` when unset. */
export const DEFAULT_HANDSHAKE_MS = 5_000;
/** quic-go's limit of streams the peer may have open at once, GOST's `maxStreams` when unset (0). */
export const DEFAULT_MAX_STREAMS = 100;
/** GOST's queue of accepted streams waiting for the service (`backlog`). */
export const DEFAULT_BACKLOG = 128;
/** How long opening a stream may wait for the peer's stream credit (GOST's cap on `OpenStreamSync`). */
export const OPEN_STREAM_TIMEOUT_MS = 30_000;

/** The options both ends read. */
export interface QuicOptions {
  /** Keep-alive PING interval in ms; 0: none (`keepAlive=false`). */
  keepAliveMs: number;
  /** Idle timeout in ms (the connection ends when nothing arrived for this long; the lower of both ends wins). */
  maxIdleMs: number;
  /** Deadline of the QUIC + TLS handshake in ms. */
  handshakeMs: number;
  /** Bidirectional streams the peer may have open at once. */
  maxStreams: number;
}

/**
 * Reads `keepAlive`, `ttl`, `handshakeTimeout`, `maxIdleTimeout`, `maxStreams`, `enableDatagram` and refuses
 * `cipherKey`.
 * @param side `listener` or `dialer`, for messages
 * @throws {ConfigError} naming the key on a value that does not parse, and on any `cipherKey`
 */
export function parseQuicOptions(md: Metadata, side: "listener" | "dialer"): QuicOptions {
  const key = md.string("cipherKey");
  if (key) {
    throw new ConfigError(
      `quic ${side}: "cipherKey" is not supported: GOST encrypts every UDP datagram of the QUIC connection with ` +
        `AES-GCM under this key, and Deno's QUIC (Deno.QuicEndpoint, Deno.connectQuic) binds and owns its UDP socket: ` +
        `it offers no way to give QUIC a packet path of our own, so gost.ts cannot wrap its datagrams. Remove the key ` +
        `(QUIC's own TLS 1.3 still encrypts everything but the packet headers)`,
    );
  }
  // GOST: keep-alive is on unless `keepAlive` is set and false; `ttl` is its period.
  const keepAlive = md.bool("keepAlive", true);
  const ttl = md.duration("ttl", 0);
  const handshake = md.duration("handshakeTimeout", 0);
  const idle = md.duration("maxIdleTimeout", 0);
  const streams = md.int("maxStreams", 0, -(2 ** 31), 2 ** 32 - 1);
  // Datagram support is always advertised by quinn, and no gost.ts conn sends QUIC datagrams (nor do GOST's): the
  // value changes nothing on the wire that either end uses. Read so that a bad value is still an error.
  md.bool(["quic.enableDatagram", "enableDatagram"]);
  return {
    keepAliveMs: keepAlive ? (ttl > 0 ? ttl : DEFAULT_KEEPALIVE_MS) : 0,
    maxIdleMs: idle > 0 ? idle : DEFAULT_MAX_IDLE_MS,
    handshakeMs: handshake > 0 ? handshake : DEFAULT_HANDSHAKE_MS,
    // quic-go: 0 takes the default, a negative value allows none
    maxStreams: streams === 0 ? DEFAULT_MAX_STREAMS : Math.max(streams, 0),
  };
}

/**
 * The ALPN protocols of a QUIC end: the TLS options' `alpn`, else GOST's `h3`, `quic/v1`.
 * @throws {ConfigError} when the options cap the TLS version below 1.3 (QUIC runs TLS 1.3 only)
 */
export function quicAlpn(protocol: TlsProtocolOptions): string[] {
  if (protocol.maxVersion === "TLSv1.2") {
    throw new ConfigError(
      `quic: TLS maxVersion VersionTLS12 cannot be used: QUIC runs TLS 1.3 only (RFC 9001); remove it or use ` +
        `VersionTLS13`,
    );
  }
  return protocol.alpn.length ? protocol.alpn : [...DEFAULT_QUIC_ALPN];
}

/** The transport options Deno takes, from {@link QuicOptions}: keep-alive, idle timeout, stream limits. */
export function transportOptions(o: QuicOptions): Deno.QuicTransportOptions {
  return {
    ...(o.keepAliveMs > 0 ? { keepAliveInterval: o.keepAliveMs } : {}),
    maxIdleTimeout: o.maxIdleMs,
    maxConcurrentBidirectionalStreams: o.maxStreams,
    // GOST's conns are bidirectional streams only: a unidirectional stream would only sit in memory unread.
    maxConcurrentUnidirectionalStreams: 0,
  };
}
