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
  /** `config`; `listen` for a {@link ListenError}. */
  override readonly code: string = "config";
}

/**
 * A service's listener could not be started: binding its address failed (in use, not available, no permission) or
 * its transport could not be set up. A {@link ConfigError} (the config names an address that cannot be served) that
 * the runtime and the Web API tell apart from an invalid value: the service is kept as `failed`, the API answers 500.
 */
export class ListenError extends ConfigError {
  /** Always `listen`. */
  override readonly code = "listen";
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

/** The peer closed the stream in the middle of a handshake or a frame: a protocol error, and an ordinary end. */
export class UnexpectedEofError extends HandshakeError {
  /** A cut-short handshake; `message` says what was cut. */
  constructor(message = "Unexpected end of stream during handshake") {
    super(message);
    this.name = "UnexpectedEof";
  }
}

/** A handshake or dial was cancelled (by the client, the service, a closed session) before it finished. */
export class AbortError extends GostError {
  /** Always `abort`. */
  override readonly code = "abort";
}

/** Why `signal` aborted: its reason when that is an Error, else an {@link AbortError}. */
export function abortReason(signal: AbortSignal, message = "dial aborted"): Error {
  return signal.reason instanceof Error ? signal.reason : new AbortError(message);
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

/** A host name did not resolve (no such name, no addresses, the resolver failed). */
export class LookupError extends GostError {
  /** Always `lookup`. */
  override readonly code = "lookup";
}

/**
 * Why a dial failed, when the cause says: the target refused, its network or host cannot be reached, its name did
 * not resolve, or the dial ran out of time.
 */
export type DialFailure = "refused" | "network-unreachable" | "host-unreachable" | "dns" | "timeout";

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
  /** Why the dial failed, when known: given, or read from the `cause` chain ({@link dialFailure}). */
  readonly reason?: DialFailure;
  /**
   * A failed dial of `target`; `options` carries the `cause`, when a chain node failed its `node`, and the `reason`
   * (default: the cause's).
   */
  constructor(target: string, message: string, options?: ErrorOptions & { node?: string; reason?: DialFailure }) {
    super(message, options);
    this.target = target;
    if (options?.node) this.node = options.node;
    const reason = options?.reason ?? dialFailure(options?.cause);
    if (reason) this.reason = reason;
  }
}

/** OS error codes (`err.code` of Deno and node errors) by the dial failure they mean. */
const FAILURE_CODES: Readonly<Record<string, DialFailure>> = {
  ECONNREFUSED: "refused",
  ENETUNREACH: "network-unreachable",
  EHOSTUNREACH: "host-unreachable",
  EHOSTDOWN: "host-unreachable",
  ETIMEDOUT: "timeout",
  ENOTFOUND: "dns",
  EAI_AGAIN: "dns",
  EAI_NONAME: "dns",
  EAI_FAIL: "dns",
  ENODATA: "dns",
};

/**
 * Why a dial failed, from the error and its causes, by class and code only: a {@link DialError}'s `reason`,
 * {@link LookupError}, {@link TimeoutError}, `Deno.errors.ConnectionRefused`/`NetworkUnreachable`/`TimedOut`, or an
 * OS error `code` (ECONNREFUSED, EHOSTUNREACH, ENOTFOUND…). Undefined when none of them says.
 * @example dialFailure(new DialError("h:1", "x", { cause: new Deno.errors.ConnectionRefused("x") })) // "refused"
 */
export function dialFailure(err: unknown): DialFailure | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 16; e = e.cause, depth++) {
    if (e instanceof DialError && e.reason) return e.reason;
    if (e instanceof LookupError) return "dns";
    if (e instanceof TimeoutError || e instanceof Deno.errors.TimedOut) return "timeout";
    if (e instanceof Deno.errors.ConnectionRefused) return "refused";
    if (e instanceof Deno.errors.NetworkUnreachable) return "network-unreachable";
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && Object.hasOwn(FAILURE_CODES, code)) return FAILURE_CODES[code];
  }
  return undefined;
}

/**
 * A bind was asked of a router with no chain to bind through (remote port forwarding without a chain): the caller
 * binds locally instead, as GOST does.
 */
export class NoChainError extends DialError {}

/**
 * The target a client asked for is not an address (no host, port 0, a host with characters no name or IP has): the
 * client's error, refused before anything is dialed. A {@link DialError}, so handlers answer it as a failed dial.
 */
export class InvalidTargetError extends DialError {}

/** The Deno error classes that end a connection in the ordinary way: EOF, a reset or broken pipe, an abort. */
const BENIGN_CLASSES: readonly (abstract new (...args: never[]) => Error)[] = [
  Deno.errors.BadResource,
  Deno.errors.BrokenPipe,
  Deno.errors.ConnectionReset,
  Deno.errors.ConnectionAborted,
  Deno.errors.UnexpectedEof,
  Deno.errors.Interrupted,
  Deno.errors.TimedOut,
];

/** One error (not its causes) is an ordinary end: a benign Deno error, our EOF, abort or timeout, a DOM abort. */
function endsBenignly(err: unknown): boolean {
  if (err instanceof TimeoutError || err instanceof AbortError || err instanceof UnexpectedEofError) return true;
  if (err instanceof DOMException) return err.code === DOMException.ABORT_ERR;
  return BENIGN_CLASSES.some((c) => err instanceof c);
}

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
 * (by its class, or its cause's).
 */
export function isBenignEnd(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return endsBenignly(err) || (err.cause instanceof Error && endsBenignly(err.cause));
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
