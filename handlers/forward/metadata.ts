/**
 * The forward handlers' metadata (GOST's x/handler/forward/local), parsed once in `init()`; keys and defaults are
 * listed in mod.ts. The sniffing keys are read only by the handlers that sniff (`tcp`, `forward`); the others leave
 * them unread, so a config that sets them there is refused (core/config/unread_keys.ts).
 * @module
 */
import { ConfigError } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";

/** GOST's default bound on reading a sniffed request head and the target's response head. */
export const DEFAULT_READ_TIMEOUT_MS = 15_000;
/** Cap on one sniffed request or response head. */
export const MAX_HEADER_BYTES = 64 * 1024;
/** Cap on one head line. */
export const MAX_LINE_BYTES = 16 * 1024;

/** Parsed forward handler options. */
export interface ForwardMetadata {
  /** `sniffing`: route HTTP by Host and path, TLS by server name, through the nodes' filters. */
  sniffing: boolean;
  /** `sniffing.timeout`: how long the first bytes are waited for; past it the conn is forwarded raw. 0: no bound. */
  sniffingTimeoutMs: number;
  /** `readTimeout`: bound on reading a sniffed request head (and a ClientHello), and a target's response head. */
  readTimeoutMs: number;
  /** `http.keepalive`: keep the client conn open after a response (GOST's default: close it). */
  httpKeepAlive: boolean;
  maxHeaderBytes: number;
  maxLineBytes: number;
}

/** The options of a handler that does not sniff. */
export const NOT_SNIFFING: Readonly<ForwardMetadata> = {
  sniffing: false,
  sniffingTimeoutMs: 0,
  readTimeoutMs: DEFAULT_READ_TIMEOUT_MS,
  httpKeepAlive: false,
  maxHeaderBytes: MAX_HEADER_BYTES,
  maxLineBytes: MAX_LINE_BYTES,
};

/** The keys that act only while sniffing. */
const SNIFFING_ONLY = ["sniffing.timeout", "readTimeout", "http.keepalive"];

/**
 * Parses the handler metadata.
 * @param sniffs whether this handler type sniffs (`tcp`, `forward`)
 * @throws {ConfigError} naming the key when a value does not parse, or when a key that acts only while sniffing is
 *   set without `sniffing=true` (GOST reads it and does nothing with it)
 * @example parseForwardMetadata(new Metadata({ sniffing: true }), true).readTimeoutMs // 15000
 */
export function parseForwardMetadata(md: Metadata, sniffs: boolean): ForwardMetadata {
  const off: ForwardMetadata = { ...NOT_SNIFFING };
  if (!sniffs) return off;
  const sniffing = md.bool("sniffing");
  if (!sniffing) {
    for (const key of SNIFFING_ONLY) {
      const hit = md.find(key);
      if (hit && hit[1] !== undefined && hit[1] !== null && hit[1] !== "" && hit[1] !== false) {
        throw new ConfigError(
          `"${hit[0]}" acts only with sniffing=true (got ${JSON.stringify(hit[1])}): set sniffing or remove it`,
        );
      }
    }
    return off;
  }
  const readTimeoutMs = md.duration("readTimeout", DEFAULT_READ_TIMEOUT_MS);
  const sniffingTimeoutMs = md.duration("sniffing.timeout", 0);
  if (sniffingTimeoutMs < 0) throw new ConfigError(`"sniffing.timeout" must not be negative`);
  return {
    ...off,
    sniffing,
    sniffingTimeoutMs,
    // GOST: a readTimeout of 0 or less is its default
    readTimeoutMs: readTimeoutMs > 0 ? readTimeoutMs : DEFAULT_READ_TIMEOUT_MS,
    httpKeepAlive: md.bool("http.keepalive"),
  };
}
