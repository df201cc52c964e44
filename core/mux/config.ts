/**
 * smux session settings (xtaci/smux `Config`, as GOST wraps it in x/internal/util/mux) and their `mux.*` metadata
 * keys. Both ends of a session must agree on `version`; the rest is local.
 * @module
 */
import { ConfigError } from "../errors.ts";
import type { Metadata } from "../metadata.ts";

/** Settings of one smux session. Durations are in milliseconds. */
export interface MuxConfig {
  /** Protocol version: 1 (no per-stream window) or 2 (UPD window updates). */
  version: 1 | 2;
  /** Send no NOPs and never close an idle session. */
  keepAliveDisabled: boolean;
  /** How often a NOP is sent. */
  keepAliveIntervalMs: number;
  /** The session closes when no frame at all arrived for this long. */
  keepAliveTimeoutMs: number;
  /** Largest PSH payload sent (the receiver accepts up to 65535). */
  maxFrameSize: number;
  /** Bytes buffered for all streams before the session stops reading the conn. */
  maxReceiveBuffer: number;
  /** v2: the window announced to the peer for each stream. */
  maxStreamBuffer: number;
  /** Streams opened by the peer waiting for `acceptStream()` before the session stops reading the conn. */
  acceptBacklog: number;
  /** Bound on writing a SYN or a FIN (smux's open/close timeout). */
  controlTimeoutMs: number;
  /**
   * Streams the peer may hold open at once (a gost.ts cap; smux has none): a SYN past it is answered with a FIN at
   * once, so a peer cannot grow a session's memory without bound by opening streams.
   */
  maxPeerStreams: number;
}

/** xtaci/smux `DefaultConfig()`: what GOST uses unless `mux.*` options say otherwise. */
export const DEFAULT_MUX_CONFIG: Readonly<MuxConfig> = Object.freeze({
  version: 1,
  keepAliveDisabled: false,
  keepAliveIntervalMs: 10_000,
  keepAliveTimeoutMs: 30_000,
  maxFrameSize: 32_768,
  maxReceiveBuffer: 4_194_304,
  maxStreamBuffer: 65_536,
  acceptBacklog: 1024,
  controlTimeoutMs: 30_000,
  maxPeerStreams: 65_536,
});

/** The hard limit of a frame's LENGTH field. */
export const MAX_FRAME_SIZE = 0xffff;

/**
 * Fills in defaults and checks a partial config (smux's `VerifyConfig`).
 * @throws {ConfigError} naming the setting when a value is out of range
 * @example muxConfig({ version: 2, maxStreamBuffer: 1 << 20 })
 */
export function muxConfig(partial: Partial<MuxConfig> = {}): MuxConfig {
  const c: MuxConfig = { ...DEFAULT_MUX_CONFIG, ...partial };
  if (c.version !== 1 && c.version !== 2) throw new ConfigError(`"mux.version" must be 1 or 2, got ${c.version}`);
  if (!c.keepAliveDisabled) {
    if (!(c.keepAliveIntervalMs > 0)) throw new ConfigError(`"mux.keepaliveInterval" must be positive`);
    if (c.keepAliveTimeoutMs < c.keepAliveIntervalMs) {
      throw new ConfigError(
        `"mux.keepaliveTimeout" (${c.keepAliveTimeoutMs} ms) must not be shorter than "mux.keepaliveInterval" ` +
          `(${c.keepAliveIntervalMs} ms)`,
      );
    }
  }
  if (!Number.isInteger(c.maxFrameSize) || c.maxFrameSize < 1 || c.maxFrameSize > MAX_FRAME_SIZE) {
    throw new ConfigError(`"mux.maxFrameSize" must be in [1, ${MAX_FRAME_SIZE}], got ${c.maxFrameSize}`);
  }
  if (!(c.maxReceiveBuffer > 0)) throw new ConfigError(`"mux.maxReceiveBuffer" must be positive`);
  if (!(c.maxStreamBuffer > 0) || c.maxStreamBuffer > 0x7fffffff) {
    throw new ConfigError(`"mux.maxStreamBuffer" must be in [1, 2^31-1], got ${c.maxStreamBuffer}`);
  }
  if (c.version === 2 && c.maxStreamBuffer > c.maxReceiveBuffer) {
    throw new ConfigError(`"mux.maxStreamBuffer" must not be larger than "mux.maxReceiveBuffer"`);
  }
  if (!(c.acceptBacklog > 0)) throw new ConfigError(`accept backlog must be positive`);
  if (!(c.maxPeerStreams > 0)) throw new ConfigError(`the cap on streams a peer opens must be positive`);
  return c;
}

/**
 * Reads GOST's `mux.*` options over `base` (zero or absent keeps the base value, as GOST does).
 *
 * | key | default |
 * |---|---|
 * | `mux.version` | 1 |
 * | `mux.keepaliveDisabled` | false |
 * | `mux.keepaliveInterval` | 10s |
 * | `mux.keepaliveTimeout` | 30s |
 * | `mux.maxFrameSize` | 32768 |
 * | `mux.maxReceiveBuffer` | 4194304 |
 * | `mux.maxStreamBuffer` | 65536 |
 * @throws {ConfigError} naming the key on a bad value
 * @example parseMuxConfig(new Metadata({ "mux.version": 2 })).version // 2
 */
export function parseMuxConfig(md: Metadata, base: Partial<MuxConfig> = {}): MuxConfig {
  const b = { ...DEFAULT_MUX_CONFIG, ...base };
  const version = md.int("mux.version", 0, 0, 2) || b.version;
  return muxConfig({
    ...b,
    version: version as 1 | 2,
    keepAliveDisabled: md.bool(["mux.keepaliveDisabled", "mux.keepAliveDisabled"], b.keepAliveDisabled),
    keepAliveIntervalMs: md.duration(["mux.keepaliveInterval", "mux.keepAliveInterval"], 0) ||
      b.keepAliveIntervalMs,
    keepAliveTimeoutMs: md.duration(["mux.keepaliveTimeout", "mux.keepAliveTimeout"], 0) || b.keepAliveTimeoutMs,
    maxFrameSize: md.int("mux.maxFrameSize", 0, 0, MAX_FRAME_SIZE) || b.maxFrameSize,
    maxReceiveBuffer: md.int("mux.maxReceiveBuffer", 0, 0) || b.maxReceiveBuffer,
    maxStreamBuffer: md.int("mux.maxStreamBuffer", 0, 0) || b.maxStreamBuffer,
  });
}
