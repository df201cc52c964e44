/**
 * Deadlines for handshakes: GOST sets one read deadline on the whole handshake; we close the conn when it passes.
 * @module
 */
import type { Conn } from "./conn.ts";
import { closeQuietly } from "./conn.ts";
import { TimeoutError } from "./errors.ts";

/**
 * Runs `fn` with a deadline: when `ms` pass first, the conn is closed and a {@link TimeoutError} is thrown.
 * @param conn the conn to close on timeout
 * @param ms the deadline in milliseconds; 0 or less means none
 * @param fn the handshake
 * @throws {TimeoutError} when the deadline passes
 * @example const req = await withDeadline(conn, 15_000, () => readRequest(reader));
 */
export async function withDeadline<T>(conn: Conn, ms: number, fn: () => Promise<T>): Promise<T> {
  if (!(ms > 0)) return await fn();
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    closeQuietly(conn);
  }, ms);
  try {
    return await fn();
  } catch (err) {
    if (expired) throw new TimeoutError(`Handshake timed out after ${ms} ms`, { cause: err });
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Races a promise against a timeout, calling `onTimeout` (to release resources) when time runs out first.
 * @throws {TimeoutError} when `ms` pass first
 */
export async function timeout<T>(p: Promise<T>, ms: number, what: string, onTimeout?: () => void): Promise<T> {
  if (!(ms > 0)) return await p;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new TimeoutError(`${what} timed out after ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}
