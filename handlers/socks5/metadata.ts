/**
 * Metadata of the SOCKS handlers, parsed once in `init()` (keys and defaults are listed in mod.ts).
 * @module
 */
import type { Metadata } from "../../core/metadata.ts";
import { refuseProbeKeys } from "../http/probe.ts";
import { type MuxConfig, parseMuxConfig } from "../../core/mux/config.ts";

/** GOST's handshake deadline. */
export const DEFAULT_READ_TIMEOUT_MS = 15_000;
/** Largest UDP datagram relayed by ASSOCIATE (GOST defaults to 4096 and truncates larger ones). */
export const DEFAULT_UDP_BUFFER_SIZE = 65_535;
/** GOST clamps `udpBufferSize` to [512, 64 KiB]; we clamp to [512, 65535], the largest UDP datagram. */
const UDP_BUFFER_MIN = 512;
const UDP_BUFFER_MAX = 65_535;

/** Parsed SOCKS handler options. */
export interface SocksMetadata {
  /** Deadline of the whole handshake, in ms; 0 = none. */
  readTimeoutMs: number;
  /** Allow SOCKS5 BIND. */
  bind: boolean;
  /** Allow SOCKS5 UDP ASSOCIATE. */
  udp: boolean;
  /** Receive buffer per UDP socket of an association. */
  udpBufferSize: number;
  /** Never select GOST's TLS methods 0x80/0x82 (plain 0x00/0x02 only). */
  noTls: boolean;
  /** MBIND: omit the SOCKS5 reply that starts each stream (GOST's `comp`, for GOST v2 clients). */
  compat: boolean;
  /** MBIND: smux settings (`mux.*`). */
  mux: MuxConfig;
}

/**
 * Parses the SOCKS handlers' metadata.
 * @param owner the handler, as messages name it; null in the auto handler, where probe resistance is the http side's
 * @throws {ConfigError} naming the key when a value does not parse, or a probe resistance key (GOST has none here)
 * @example parseSocksMetadata(new Metadata({ udp: "true", readTimeout: "5s" })).readTimeoutMs // 5000
 */
export function parseSocksMetadata(md: Metadata, owner: string | null = "handler socks5"): SocksMetadata {
  if (owner !== null) refuseProbeKeys(md, owner);
  const bufSize = md.int(["udpBufferSize", "udp.bufferSize"], DEFAULT_UDP_BUFFER_SIZE, 1);
  return {
    readTimeoutMs: md.duration("readTimeout", DEFAULT_READ_TIMEOUT_MS),
    bind: md.bool("bind"),
    udp: md.bool("udp"),
    udpBufferSize: Math.min(Math.max(bufSize, UDP_BUFFER_MIN), UDP_BUFFER_MAX),
    noTls: md.bool("notls"),
    compat: md.bool("comp"),
    mux: parseMuxConfig(md),
  };
}
