/**
 * HTTP/2 error codes (RFC 9113 §7) and the errors of the HTTP/2 engine: a connection error ends the session with a
 * GOAWAY, a stream error resets one stream with RST_STREAM. Both are {@link HandshakeError}s (the peer broke the
 * protocol: a client error, not counted as a server error).
 * @module
 */
import { HandshakeError } from "../../core/errors.ts";

/** RFC 9113 §7 error codes. */
export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

const NAMES = Object.fromEntries(Object.entries(ErrorCode).map(([k, v]) => [v, k]));

/**
 * The name of an HTTP/2 error code (`CANCEL`), or its hex value when unknown.
 * @example errorCodeName(8) // "CANCEL"
 */
export function errorCodeName(code: number): string {
  return NAMES[code] ?? `0x${code.toString(16)}`;
}

/** The peer broke HTTP/2 for the whole connection: the session sends GOAWAY with `h2code` and ends. */
export class H2ConnectionError extends HandshakeError {
  /** The RFC 9113 error code sent in the GOAWAY. */
  readonly h2code: number;
  constructor(h2code: number, message: string) {
    super(message);
    this.h2code = h2code;
  }
}

/** A header block does not decode (RFC 7541): a connection error of kind COMPRESSION_ERROR. */
export class HpackError extends H2ConnectionError {
  constructor(message: string) {
    super(ErrorCode.COMPRESSION_ERROR, message);
  }
}

/** A stream ended by RST_STREAM (sent or received), or by the session's end: reads and writes on it fail. */
export class H2StreamReset extends Deno.errors.ConnectionReset {
  /** The RFC 9113 error code of the reset. */
  readonly h2code: number;
  constructor(h2code: number, message: string) {
    super(message);
    this.h2code = h2code;
  }
}
