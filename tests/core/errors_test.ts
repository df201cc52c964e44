/**
 * Unit tests of core/errors.ts: each class's `code`, `name`, inheritance and kept `cause`; `dialFailure` (which
 * class or OS code means which DialFailure, through the cause chain, bounded); DialError's `target`/`node`/`reason`;
 * `abortReason`; `isBenignEnd` (the ordinary ends of a connection, by class only, the error or its cause);
 * `isServerError` (GOST's `isServerError` with client errors not counted); `clientErrorKind`; `errorMessage`.
 * @module
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import {
  AbortError,
  abortReason,
  AuthError,
  BadVersionError,
  BindError,
  clientErrorKind,
  ConfigError,
  DialError,
  dialFailure,
  DuplicateError,
  errorMessage,
  GostError,
  HandshakeError,
  InvalidTargetError,
  isBenignEnd,
  isServerError,
  ListenError,
  LookupError,
  NoChainError,
  NotFoundError,
  PolicyError,
  TimeoutError,
  UnexpectedEofError,
} from "../../core/errors.ts";

/** An Error carrying an OS error `code`, as Deno's and node's errors do. */
function coded(code: unknown, message = "os error"): Error {
  return Object.assign(new Error(message), { code });
}

/** `inner` wrapped `depth` times in plain Errors (the cause chain is `depth + 1` long). */
function wrapped(inner: unknown, depth: number): Error {
  let e = inner instanceof Error ? inner : new Error("inner", { cause: inner });
  for (let i = 0; i < depth; i++) e = new Error(`wrap ${i}`, { cause: e });
  return e;
}

Deno.test("error classes: code, name and inheritance", () => {
  const cases: [Error & { code: string }, string, string, (abstract new (...a: never[]) => Error)[]][] = [
    [new GostError("m"), "gost", "GostError", [Error]],
    [new ConfigError("m"), "config", "ConfigError", [GostError]],
    [new ListenError("m"), "listen", "ListenError", [ConfigError, GostError]],
    [new NotFoundError("m"), "notfound", "NotFoundError", [GostError]],
    [new DuplicateError("m"), "duplicate", "DuplicateError", [GostError]],
    [new AuthError("m"), "auth", "AuthError", [GostError]],
    [new PolicyError("m"), "policy", "PolicyError", [GostError]],
    [new HandshakeError("m"), "handshake", "HandshakeError", [GostError]],
    [new BadVersionError(4, 5), "handshake", "BadVersionError", [HandshakeError, GostError]],
    [new UnexpectedEofError(), "handshake", "UnexpectedEof", [HandshakeError, GostError]],
    [new AbortError("m"), "abort", "AbortError", [GostError]],
    [new BindError("m"), "bind", "BindError", [GostError]],
    [new TimeoutError("m"), "timeout", "TimeoutError", [GostError]],
    [new LookupError("m"), "lookup", "LookupError", [GostError]],
    [new DialError("h:1", "m"), "dial", "DialError", [GostError]],
    [new NoChainError("h:1", "m"), "dial", "NoChainError", [DialError, GostError]],
    [new InvalidTargetError("h:0", "m"), "dial", "InvalidTargetError", [DialError, GostError]],
  ];
  for (const [err, code, name, bases] of cases) {
    equal(err.code, code, name);
    equal(err.name, name);
    ok(err instanceof Error, name);
    for (const base of bases) ok(err instanceof base, `${name} is a ${base.name}`);
  }
  ok(!(new ListenError("m") instanceof HandshakeError));
  ok(!(new AuthError("m") instanceof ConfigError));
  ok(!(new TimeoutError("m") instanceof AbortError));
});

Deno.test("error classes: message and cause are kept", () => {
  const cause = new Deno.errors.ConnectionReset("reset");
  const err = new ConfigError('bad "x": "y"', { cause });
  equal(err.message, 'bad "x": "y"');
  equal(err.cause, cause);
  equal(new GostError("m").cause, undefined);
  equal(new DialError("h:1", "m", { cause }).cause, cause);
});

Deno.test("BadVersionError: message names the protocol and both bytes in hex; keeps the version", () => {
  const e = new BadVersionError(4, 5, "SOCKS");
  equal(e.message, "Bad SOCKS version 0x04, expected 0x05");
  equal(e.version, 4);
  equal(new BadVersionError(0xff, 1).message, "Bad version 0xff, expected 0x01");
  equal(new BadVersionError(0, 0x10, "relay").message, "Bad relay version 0x00, expected 0x10");
  equal(new BadVersionError(0x1234, 5).message, "Bad version 0x1234, expected 0x05");
});

Deno.test("UnexpectedEofError: default and given message", () => {
  equal(new UnexpectedEofError().message, "Unexpected end of stream during handshake");
  equal(new UnexpectedEofError("cut in the header").message, "cut in the header");
});

Deno.test("DialError: target, node (only when given) and reason", () => {
  const plain = new DialError("example.com:443", "dial failed");
  equal(plain.target, "example.com:443");
  equal(plain.message, "dial failed");
  equal(plain.node, undefined);
  equal(plain.reason, undefined);

  const viaNode = new DialError("example.com:443", "m", { node: "node-0@127.0.0.1:8080" });
  equal(viaNode.node, "node-0@127.0.0.1:8080");
  equal(new DialError("t", "m", { node: "" }).node, undefined, "an empty node is no node");

  equal(new DialError("t", "m", { reason: "host-unreachable" }).reason, "host-unreachable");
});

Deno.test("DialError: the reason is read from the cause when not given, and a given one wins", () => {
  equal(new DialError("t", "m", { cause: new Deno.errors.ConnectionRefused("x") }).reason, "refused");
  equal(new DialError("t", "m", { cause: new LookupError("x") }).reason, "dns");
  equal(new DialError("t", "m", { cause: coded("EHOSTUNREACH") }).reason, "host-unreachable");
  equal(new DialError("t", "m", { cause: new Error("x") }).reason, undefined);
  equal(
    new DialError("t", "m", { reason: "timeout", cause: new Deno.errors.ConnectionRefused("x") }).reason,
    "timeout",
  );
  equal(new DialError("t", "m", { reason: undefined, cause: new TimeoutError("x") }).reason, "timeout");
});

Deno.test("dialFailure: by class", () => {
  equal(dialFailure(new Deno.errors.ConnectionRefused("x")), "refused");
  equal(dialFailure(new Deno.errors.NetworkUnreachable("x")), "network-unreachable");
  equal(dialFailure(new Deno.errors.TimedOut("x")), "timeout");
  equal(dialFailure(new TimeoutError("x")), "timeout");
  equal(dialFailure(new LookupError("x")), "dns");
  equal(dialFailure(new DialError("t", "m", { reason: "network-unreachable" })), "network-unreachable");
});

Deno.test("dialFailure: by OS error code", () => {
  const cases: [string, string][] = [
    ["ECONNREFUSED", "refused"],
    ["ENETUNREACH", "network-unreachable"],
    ["EHOSTUNREACH", "host-unreachable"],
    ["EHOSTDOWN", "host-unreachable"],
    ["ETIMEDOUT", "timeout"],
    ["ENOTFOUND", "dns"],
    ["EAI_AGAIN", "dns"],
    ["EAI_NONAME", "dns"],
    ["EAI_FAIL", "dns"],
    ["ENODATA", "dns"],
  ];
  for (const [code, want] of cases) equal(dialFailure(coded(code)), want, code);
});

Deno.test("dialFailure: other classes, codes and values say nothing", () => {
  for (
    const err of [
      undefined,
      null,
      "ECONNREFUSED",
      42,
      { code: "ECONNREFUSED" }, // not an Error
      { name: "ConnectionRefused", message: "x" },
      new Error("Connection refused (os error 111)"), // no message sniffing
      new Deno.errors.ConnectionReset("x"),
      new Deno.errors.BrokenPipe("x"),
      new Deno.errors.NotFound("x"),
      new Deno.errors.PermissionDenied("x"),
      new Deno.errors.AddrNotAvailable("x"),
      new AbortError("x"),
      new AuthError("x"),
      new DialError("t", "m"),
      coded("ECONNRESET"),
      coded("EPIPE"),
      coded("econnrefused"), // codes are upper case
      coded(111), // a number is no code
      coded("__proto__"),
      coded("toString"),
      coded("constructor"),
      coded("hasOwnProperty"),
      coded(""),
    ]
  ) {
    equal(dialFailure(err), undefined, String((err as { code?: unknown })?.code ?? err));
  }
});

Deno.test("dialFailure: reads the cause chain, first match wins", () => {
  equal(dialFailure(new Error("outer", { cause: new Deno.errors.ConnectionRefused("x") })), "refused");
  equal(dialFailure(new Error("a", { cause: new Error("b", { cause: coded("ENOTFOUND") }) })), "dns");
  equal(dialFailure(Object.assign(new Error("o", { cause: new LookupError("x") }), { code: "ETIMEDOUT" })), "timeout");
  equal(dialFailure(new TimeoutError("o", { cause: new Deno.errors.ConnectionRefused("x") })), "timeout");
  equal(dialFailure(new Error("o", { cause: "ECONNREFUSED" })), undefined, "a non-Error cause ends the walk");
  // A DialError with no reason of its own is passed by (its constructor already read its cause).
  const noReason = new DialError("t", "m");
  equal(dialFailure(new Error("o", { cause: noReason })), undefined);
  // A DialError's own reason is taken over a cause's that disagrees.
  const given = new DialError("t", "m", { reason: "dns", cause: new Deno.errors.ConnectionRefused("x") });
  equal(dialFailure(new Error("o", { cause: given })), "dns");
});

Deno.test("dialFailure: the walk looks at 16 errors of the chain, no more", () => {
  equal(dialFailure(wrapped(coded("ECONNREFUSED"), 15)), "refused", "the 16th error");
  equal(dialFailure(wrapped(coded("ECONNREFUSED"), 16)), undefined, "the 17th error");
});

Deno.test("dialFailure: a cyclic cause chain ends", () => {
  const a = new Error("a");
  const b = new Error("b", { cause: a });
  (a as { cause?: unknown }).cause = b;
  equal(dialFailure(a), undefined);
  const self = new Error("self");
  (self as { cause?: unknown }).cause = self;
  equal(dialFailure(self), undefined);
});

Deno.test("dialFailure: a real refused loopback connect is 'refused'", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  let err: unknown;
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
  } catch (e) {
    err = e;
  }
  ok(err instanceof Deno.errors.ConnectionRefused, `connect to a closed port: ${err}`);
  equal(dialFailure(err), "refused");
  equal(new DialError(`127.0.0.1:${port}`, "m", { cause: err }).reason, "refused");
});

Deno.test("NoChainError and InvalidTargetError are DialErrors with its fields", () => {
  const nc = new NoChainError("0.0.0.0:8080", "no chain to bind through");
  equal(nc.target, "0.0.0.0:8080");
  equal(nc.reason, undefined);
  const it = new InvalidTargetError(":0", "port 0", { cause: new Error("x") });
  equal(it.target, ":0");
  equal(it.message, "port 0");
});

Deno.test("abortReason: the signal's Error reason as is, else an AbortError", () => {
  const custom = new TimeoutError("handshake timed out");
  const c1 = new AbortController();
  c1.abort(custom);
  equal(abortReason(c1.signal), custom);

  const c2 = new AbortController();
  c2.abort();
  const dom = abortReason(c2.signal);
  ok(dom instanceof DOMException, "the default reason is the DOMException AbortError");
  equal(dom.name, "AbortError");

  const c3 = new AbortController();
  c3.abort("closed by the client");
  const a3 = abortReason(c3.signal);
  ok(a3 instanceof AbortError);
  equal(a3.message, "dial aborted");
  equal(a3.code, "abort");

  const c4 = new AbortController();
  c4.abort({ why: "x" });
  const a4 = abortReason(c4.signal, "handshake aborted");
  ok(a4 instanceof AbortError);
  equal(a4.message, "handshake aborted");

  const a5 = abortReason(new AbortController().signal);
  ok(a5 instanceof AbortError, "a signal not aborted yet has no reason");
  equal(a5.message, "dial aborted");

  const c6 = new AbortController();
  c6.abort(null);
  ok(abortReason(c6.signal) instanceof AbortError);
});

Deno.test("isBenignEnd: EOF, reset, broken pipe, abort and timeouts", () => {
  for (
    const err of [
      new Deno.errors.BadResource("x"),
      new Deno.errors.BrokenPipe("x"),
      new Deno.errors.ConnectionReset("x"),
      new Deno.errors.ConnectionAborted("x"),
      new Deno.errors.UnexpectedEof("x"),
      new Deno.errors.Interrupted("x"),
      new Deno.errors.TimedOut("x"),
      new TimeoutError("x"),
      new AbortError("x"),
      new UnexpectedEofError(),
      new DOMException("x", "AbortError"),
    ]
  ) {
    equal(isBenignEnd(err), true, err.name);
  }
});

Deno.test("isBenignEnd: failures that are no ordinary end", () => {
  for (
    const err of [
      new Error("x"),
      new Deno.errors.ConnectionRefused("x"),
      new Deno.errors.NotConnected("x"),
      new Deno.errors.AddrInUse("x"),
      new Deno.errors.AddrNotAvailable("x"),
      new Deno.errors.NotFound("x"),
      new Deno.errors.PermissionDenied("x"),
      new Deno.errors.InvalidData("x"),
      new Deno.errors.WriteZero("x"),
      new Deno.errors.NetworkUnreachable("x"),
      new HandshakeError("x"),
      new BadVersionError(4, 5),
      new AuthError("x"),
      new PolicyError("x"),
      new ConfigError("x"),
      new LookupError("x"),
      new DialError("t", "m"),
      new DOMException("x", "NotFoundError"),
      new DOMException("x", "InvalidStateError"),
      new TypeError("x"),
    ]
  ) {
    equal(isBenignEnd(err), false, `${err.name}: ${err.message}`);
  }
});

Deno.test("isBenignEnd: by class only, never by name, message or code; non-Errors are not", () => {
  const named = new Error("x");
  named.name = "BrokenPipe";
  for (
    const err of [
      named,
      new Error("Connection reset by peer (os error 104)"),
      coded("ECONNRESET"),
      coded("EPIPE"),
      { name: "ConnectionReset", message: "x" },
      "ConnectionReset",
      undefined,
      null,
      0,
    ]
  ) {
    equal(isBenignEnd(err), false, String(err));
  }
});

Deno.test("isBenignEnd: the cause is looked at, one level deep", () => {
  equal(isBenignEnd(new Error("w", { cause: new Deno.errors.BrokenPipe("x") })), true);
  equal(isBenignEnd(new DialError("t", "m", { cause: new Deno.errors.ConnectionReset("x") })), true);
  equal(isBenignEnd(new Error("w", { cause: new DOMException("x", "AbortError") })), true);
  equal(isBenignEnd(wrapped(new Deno.errors.BrokenPipe("x"), 2)), false, "a cause's cause is not looked at");
  equal(isBenignEnd(new Error("w", { cause: "BrokenPipe" })), false);
  equal(isBenignEnd(new Error("w", { cause: new Error("y") })), false);
});

Deno.test("isServerError: benign ends, refusals and client errors are not counted", () => {
  for (
    const err of [
      undefined,
      null,
      new Deno.errors.ConnectionReset("x"),
      new Deno.errors.BrokenPipe("x"),
      new Deno.errors.UnexpectedEof("x"),
      new DOMException("x", "AbortError"),
      new AbortError("x"),
      new TimeoutError("x"),
      new AuthError("x"),
      new PolicyError("x"),
      new HandshakeError("x"),
      new BadVersionError(4, 5),
      new UnexpectedEofError(),
      new InvalidTargetError("h:0", "m"),
      new InvalidTargetError("h:0", "m", { node: "node-0@127.0.0.1:1" }), // the client's target, whatever the node
      new DialError("t", "m", { cause: new Deno.errors.ConnectionReset("x") }), // no node: benign by its cause
    ]
  ) {
    equal(isServerError(err), false, String(err));
  }
});

Deno.test("isServerError: failures of ours are counted; a failed chain node always is", () => {
  for (
    const err of [
      new Error("boom"),
      "boom",
      new ConfigError("x"),
      new LookupError("x"),
      new Deno.errors.ConnectionRefused("x"),
      new Deno.errors.NotFound("x"),
      new DialError("t", "m"),
      new DialError("t", "m", { cause: new Deno.errors.ConnectionRefused("x") }),
      new NoChainError("t", "m"),
      new DialError("t", "m", { node: "node-0@127.0.0.1:8080", cause: new Deno.errors.ConnectionReset("x") }),
      new DialError("t", "m", { node: "node-0", cause: new AuthError("x") }),
      new DialError("t", "m", { node: "node-0", cause: new TimeoutError("x") }),
      new DialError("t", "m", { node: "node-0", cause: new HandshakeError("x") }),
      new Error("w", { cause: new AuthError("x") }), // only the class of the error itself is refusal, not its cause
    ]
  ) {
    equal(isServerError(err), true, String(err));
  }
});

Deno.test("clientErrorKind: protocol, auth, or none", () => {
  equal(clientErrorKind(new HandshakeError("x")), "protocol");
  equal(clientErrorKind(new BadVersionError(4, 5, "SOCKS")), "protocol");
  equal(clientErrorKind(new UnexpectedEofError()), "protocol");
  equal(clientErrorKind(new InvalidTargetError("h:0", "m")), "protocol");
  equal(clientErrorKind(new AuthError("x")), "auth");
  for (
    const err of [
      undefined,
      null,
      "auth",
      new Error("x"),
      new PolicyError("x"),
      new TimeoutError("x"),
      new AbortError("x"),
      new DialError("t", "m"),
      new NoChainError("t", "m"),
      new DialError("t", "m", { cause: new AuthError("x") }), // not by cause
      new Deno.errors.ConnectionReset("x"),
      new Deno.errors.InvalidData("x"),
    ]
  ) {
    equal(clientErrorKind(err), undefined, String(err));
  }
});

Deno.test("errorMessage: an Error's message, else the value as a string", () => {
  equal(errorMessage(new Error("boom")), "boom");
  equal(errorMessage(new ConfigError('bad "k": "v"')), 'bad "k": "v"');
  equal(errorMessage(new DOMException("aborted", "AbortError")), "aborted");
  equal(errorMessage(new Error("")), "");
  equal(errorMessage("plain"), "plain");
  equal(errorMessage(42), "42");
  equal(errorMessage(undefined), "undefined");
  equal(errorMessage(null), "null");
  equal(errorMessage({ message: "not an Error" }), "[object Object]");
  equal(errorMessage(Symbol("s")), "Symbol(s)");
});

Deno.test("dialFailure: each of the five DialFailure values is reachable", () => {
  const seen = new Set([
    dialFailure(coded("ECONNREFUSED")),
    dialFailure(coded("ENETUNREACH")),
    dialFailure(coded("EHOSTUNREACH")),
    dialFailure(coded("ENOTFOUND")),
    dialFailure(coded("ETIMEDOUT")),
  ]);
  deepEqual([...seen].sort(), ["dns", "host-unreachable", "network-unreachable", "refused", "timeout"]);
});
