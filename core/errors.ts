/**
 * Error classes shared by every component. Each carries a stable `code` and keeps its `cause`.
 * @module
 */

/** Base class of every gost.ts error. */
export class GostError extends Error {
  /** A short machine-readable code, e.g. `config`, `auth`, `dial`. */
  readonly code: string = "gost";
  /** An error with `message` and, in `options`, the `cause` it wraps. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A configuration value, URL or flag is invalid. Messages name the key/path and the value. */
export class ConfigError extends GostError {
  /** Always `config`. */
  override readonly code = "config";
}

/** A named object does not exist in a registry. */
export class NotFoundError extends GostError {
  /** Always `notfound`. */
  override readonly code = "notfound";
}

/** A named object already exists in a registry. */
export class DuplicateError extends GostError {
  /** Always `duplicate`. */
  override readonly code = "duplicate";
}

/** A client failed authentication. Not a server error. */
export class AuthError extends GostError {
  /** Always `auth`. */
  override readonly code = "auth";
}

/** A request was refused by policy (bypass, admission, limiter). Not a server error. */
export class PolicyError extends GostError {
  /** Always `policy`. */
  override readonly code = "policy";
}

/** The peer broke the protocol (malformed bytes, unknown version, oversized field). */
export class HandshakeError extends GostError {
  /** Always `handshake`. */
  override readonly code = "handshake";
}

/** A protocol message carried a version byte other than the expected one. */
export class BadVersionError extends HandshakeError {
  /** The version byte that was received. */
  readonly version: number;
  /** `version` was received where `expected` was wanted; `protocol` is named in the message. */
  constructor(version: number, expected: number, protocol = "") {
    const hex = (n: number) => n.toString(16).padStart(2, "0");
    super(`Bad ${protocol ? `${protocol} ` : ""}version 0x${hex(version)}, expected 0x${hex(expected)}`);
    this.version = version;
  }
}

/** Listening for a BIND, or binding a UDP relay socket, failed (address in use, no such address). */
export class BindError extends GostError {
  /** Always `bind`. */
  override readonly code = "bind";
}

/** A handshake or dial did not finish in time. */
export class TimeoutError extends GostError {
  /** Always `timeout`. */
  override readonly code = "timeout";
}

/** Dialing a target (directly or through a node) failed. */
export class DialError extends GostError {
  /** Always `dial`. */
  override readonly code = "dial";
  /** The node or address that failed, when known. */
  readonly target: string;
  /**
   * Set when a chain node failed rather than the target (`node-0@127.0.0.1:8080`): the node was dead, hung, broke
   * the protocol, refused our credentials or loops back to us. Always a server error.
   */
  readonly node?: string;
  /** A failed dial of `target`; `options` carries the `cause` and, when a chain node failed, its `node`. */
  constructor(target: string, message: string, options?: ErrorOptions & { node?: string }) {
    super(message, options);
    this.target = target;
    if (options?.node) this.node = options.node;
  }
}

/**
 * The target a client asked for is not an address (no host, port 0, a host with characters no name or IP has): the
 * client's error, refused before anything is dialed. A {@link DialError}, so handlers answer it as a failed dial.
 */
export class InvalidTargetError extends DialError {}

const benignNames = new Set([
  "BadResource",
  "BrokenPipe",
  "ConnectionReset",
  "ConnectionAborted",
  "UnexpectedEof",
  "Interrupted",
  "AbortError",
  "TimedOut",
]);

/**
 * Tells whether an error returned by a handler counts as a server-side error (`totalErrs`), as GOST's
 * `isServerError` does: EOF, reset, abort, timeouts, authentication and policy refusals are not — unless a chain
 * node failed with them (a {@link DialError} naming a node: our chain is broken, whatever the cause). Unlike GOST,
 * a client's malformed bytes ({@link HandshakeError}, {@link InvalidTargetError}) are not either: they are a client error
 * ({@link clientErrorKind}), so garbage from the internet cannot inflate the server's error count.
 * @param err the error a handler ended with
 * @returns true when the error should be counted in `totalErrs`
 * @example isServerError(new AuthError("bad password")) // false
 */
export function isServerError(err: unknown): boolean {
  if (err === undefined || err === null) return false;
  if (err instanceof InvalidTargetError) return false;
  if (err instanceof DialError && err.node) return true;
  if (err instanceof AuthError || err instanceof PolicyError || err instanceof TimeoutError) return false;
  if (err instanceof HandshakeError) return false;
  return !isBenignEnd(err);
}

/**
 * Tells whether an error is an ordinary end of a connection: EOF, a reset or broken pipe, an abort, a timeout
 * (by its name, or its cause's).
 */
export function isBenignEnd(err: unknown): boolean {
  if (err instanceof TimeoutError) return true;
  if (!(err instanceof Error)) return false;
  return benignNames.has(err.name) || (err.cause instanceof Error && benignNames.has(err.cause.name));
}

/** Why a client's connection failed through the client's doing: it broke the protocol, or failed authentication. */
export type ClientErrorKind = "protocol" | "auth";

/**
 * The kind of client error a handler's error is, or undefined when it is none (a server error, or a benign end).
 * @example clientErrorKind(new BadVersionError(4, 5, "SOCKS")) // "protocol"
 */
export function clientErrorKind(err: unknown): ClientErrorKind | undefined {
  if (err instanceof HandshakeError || err instanceof InvalidTargetError) return "protocol";
  if (err instanceof AuthError) return "auth";
  return undefined;
}

/** Returns the message of any thrown value. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
