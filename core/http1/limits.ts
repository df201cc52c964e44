/**
 * The bounds of the built-in HTTP/1.1 servers (the Web API, the metrics, the `api` handler), their defaults, and
 * how they are read from a config block (`api: {readTimeout, …}`, `metrics: {…}`) or handler metadata. GOST's
 * servers have none of these keys: they are gost.ts additions (README, "Security").
 *
 * | key | default | bounds |
 * |---|---|---|
 * | `readTimeout` | 15 s | reading one request, head and body, from its first byte (the first one: from accept) |
 * | `writeTimeout` | 15 s | writing one response |
 * | `idleTimeout` | 30 s | the wait for the next request on a kept-alive conn |
 * | `maxConns` | 256 | conns served at once; one more is answered 503 and closed |
 * @module
 */
import { ConfigError, errorMessage } from "../errors.ts";
import { Metadata } from "../metadata.ts";
import type { RequestLimits } from "./request.ts";

/** Default bound on reading one request (GOST's readTimeout). */
export const DEFAULT_READ_TIMEOUT_MS = 15_000;
/** Default bound on writing one response. */
export const DEFAULT_WRITE_TIMEOUT_MS = 15_000;
/** Default bound on the idle wait for the next request. */
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
/** Default number of conns one server serves at once. */
export const DEFAULT_MAX_CONNS = 256;
/** Default cap on a request line or header line. */
export const DEFAULT_MAX_LINE_BYTES = 16 * 1024;
/** Default cap on a request head. */
export const DEFAULT_MAX_HEADER_BYTES = 64 * 1024;
/** Default cap on a request body (the Web API's config objects are a few KB). */
export const DEFAULT_MAX_BODY_BYTES = 1 << 20;

/** The bounds of one server; see the module table. Timeouts of 0 mean none. */
export interface Http1Limits extends RequestLimits {
  readTimeoutMs: number;
  writeTimeoutMs: number;
  idleTimeoutMs: number;
  maxConns: number;
}

/** Every bound at its default. */
export const DEFAULT_HTTP1_LIMITS: Readonly<Http1Limits> = {
  readTimeoutMs: DEFAULT_READ_TIMEOUT_MS,
  writeTimeoutMs: DEFAULT_WRITE_TIMEOUT_MS,
  idleTimeoutMs: DEFAULT_IDLE_TIMEOUT_MS,
  maxConns: DEFAULT_MAX_CONNS,
  maxLineBytes: DEFAULT_MAX_LINE_BYTES,
  maxHeaderBytes: DEFAULT_MAX_HEADER_BYTES,
  maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
};

/**
 * Reads `readTimeout`, `writeTimeout`, `idleTimeout` and `maxConns` (durations as `"15s"` or seconds; 0 = none).
 * @param block the config block or handler metadata
 * @param key names the block in errors (`api`, `metrics`); empty for handler metadata (the service names it)
 * @returns every bound: the ones given, the others at their defaults
 * @throws {ConfigError} naming the block, the key and the value
 * @example parseHttp1Limits({ readTimeout: "5s" }, "api").readTimeoutMs // 5000
 */
export function parseHttp1Limits(block: Record<string, unknown> | Metadata, key: string): Http1Limits {
  const md = block instanceof Metadata ? block : new Metadata(block);
  const d = DEFAULT_HTTP1_LIMITS;
  const duration = (name: string, def: number) => {
    const ms = md.duration(name, def);
    if (ms < 0) throw new ConfigError(`"${name}" must not be negative: ${JSON.stringify(md.find(name)?.[1])}`);
    return ms;
  };
  try {
    return {
      ...d,
      readTimeoutMs: duration("readTimeout", d.readTimeoutMs),
      writeTimeoutMs: duration("writeTimeout", d.writeTimeoutMs),
      idleTimeoutMs: duration("idleTimeout", d.idleTimeoutMs),
      maxConns: md.int("maxConns", d.maxConns, 1),
    };
  } catch (err) {
    throw key ? new ConfigError(`${key}: ${errorMessage(err)}`, { cause: err }) : err;
  }
}
