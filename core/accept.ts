/**
 * Accepting connections safely. `accept()` fails for two very different reasons: something went wrong with the one
 * connection being taken (the client reset it before we took it: ECONNABORTED, ENOTCONN, ECONNRESET, EPROTO), or the
 * process is out of a resource (EMFILE, ENFILE, ENOBUFS, ENOMEM). The first must never delay the next accept — a
 * storm of reset connections would otherwise stall every client — and the second must back off briefly, so the
 * loop does not spin while the pending connections wait in the kernel's backlog for fds to be freed.
 * See docs/architecture.md ("Accepting").
 * @module
 */
import { closeQuietly } from "./conn.ts";
import { GostError } from "./errors.ts";

/** What an accept error concerns: one connection, the process's resources, or the listener itself. */
export type AcceptErrorKind = "conn" | "resource" | "listener";

/** The process ran out of fds, socket buffers or memory while accepting; retry after a short back-off. */
export class ResourceExhaustedError extends GostError {
  override readonly code = "resource";
}

const CONN_CODES = new Set(["ECONNABORTED", "ENOTCONN", "ECONNRESET", "EPROTO", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH"]);
const RESOURCE_CODES = new Set(["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM"]);
/** The Deno error classes of a pending connection's failure, for errors made without a `code`. */
const CONN_CLASSES: readonly (abstract new (...args: never[]) => Error)[] = [
  Deno.errors.ConnectionAborted,
  Deno.errors.ConnectionReset,
  Deno.errors.NotConnected,
  Deno.errors.BrokenPipe,
  Deno.errors.TimedOut,
];
// Deno sets `code` from the errno through a fixed table (deno_error's get_os_error_code) that has no EPROTO and no
// ENFILE: an accept failing with either is a plain Error whose only trace of the errno is "(os error N)" at the end
// of its message. These two Linux errnos are therefore read from there; every other errno comes with its code.
const UNCODED_ERRNOS: Readonly<Record<number, AcceptErrorKind>> = { 71: "conn", 23: "resource" };

/** The errno of an error Deno raised without a `code` (see {@link UNCODED_ERRNOS}), when it is one of those. */
function uncodedErrno(err: Error): AcceptErrorKind | undefined {
  const m = /\(os error (\d+)\)$/.exec(err.message);
  return m && Object.hasOwn(UNCODED_ERRNOS, m[1]) ? UNCODED_ERRNOS[Number(m[1])] : undefined;
}

/**
 * Tells what an error of `accept()` (or of the first setsockopt on an accepted conn) concerns, by its class and its
 * OS error `code`.
 * @param err what `accept()` threw
 * @returns `conn` for an error of the pending connection, `resource` for EMFILE/ENFILE/ENOBUFS/ENOMEM, `listener`
 *   for anything else
 * @example classifyAcceptError(Object.assign(new Error("Too many open files (os error 24)"), { code: "EMFILE" }))
 *   // "resource"
 */
export function classifyAcceptError(err: unknown): AcceptErrorKind {
  if (err instanceof ResourceExhaustedError) return "resource";
  if (!(err instanceof Error)) return "listener";
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string") {
    if (CONN_CODES.has(code)) return "conn";
    if (RESOURCE_CODES.has(code)) return "resource";
  }
  if (CONN_CLASSES.some((c) => err instanceof c)) return "conn";
  return (code === undefined ? uncodedErrno(err) : undefined) ?? "listener";
}

/** Counts of the pending connections that were dropped while accepting, for logs and tests. */
export interface AcceptDrops {
  /** Connections that failed before they could be taken (reset, aborted). */
  dropped: number;
}

/**
 * Accepts the next TCP conn with TCP_NODELAY, skipping connections that fail while being taken (no delay); a
 * resource error is thrown as {@link ResourceExhaustedError}, anything else as it is.
 * @param ln the bound listener
 * @param drops counts the skipped connections, when given
 * @throws {ResourceExhaustedError} when out of fds/buffers/memory (back off briefly and call again)
 * @example const conn = await acceptTcp(Deno.listen({ port: 0 }));
 */
export async function acceptTcp(ln: Deno.TcpListener, drops?: AcceptDrops): Promise<Deno.TcpConn> {
  for (;;) {
    let conn: Deno.TcpConn;
    try {
      conn = await ln.accept();
    } catch (err) {
      const kind = classifyAcceptError(err);
      if (kind === "conn") {
        if (drops) drops.dropped++;
        continue;
      }
      if (kind === "resource") throw new ResourceExhaustedError(`accept: ${(err as Error).message}`, { cause: err });
      throw err;
    }
    try {
      conn.setNoDelay(true);
    } catch (err) {
      closeQuietly(conn);
      if (classifyAcceptError(err) === "conn") {
        if (drops) drops.dropped++;
        continue;
      }
      throw err;
    }
    return conn;
  }
}

/** The shortest and longest pause after a resource error: fds freed are in use again within the longest. */
export const RESOURCE_BACKOFF_MIN_MS = 5;
/** See {@link RESOURCE_BACKOFF_MIN_MS}. */
export const RESOURCE_BACKOFF_MAX_MS = 250;

/**
 * The next pause after a resource error: doubling from {@link RESOURCE_BACKOFF_MIN_MS} to
 * {@link RESOURCE_BACKOFF_MAX_MS} (Go's net/http uses 5 ms → 1 s).
 * @param previous the last pause, 0 for none
 * @example resourceBackoff(0) // 5
 */
export function resourceBackoff(previous: number): number {
  return previous ? Math.min(previous * 2, RESOURCE_BACKOFF_MAX_MS) : RESOURCE_BACKOFF_MIN_MS;
}
