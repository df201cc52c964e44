/**
 * Deadlines for handshakes: GOST sets one read deadline on the whole handshake; we close the conn when it passes.
 * @module
 */
import type { Conn } from "./conn.ts";
import { closeQuietly } from "./conn.ts";
import { TimeoutError } from "./errors.ts";

/** How often pending deadlines are checked: a deadline fires at most this late. */
export const DEADLINE_TICK_MS = 50;

interface Pending {
  at: number;
  fire: () => void;
}

const pending = new Set<Pending>();
let ticker: ReturnType<typeof setInterval> | undefined;

function tick(): void {
  const now = Date.now();
  for (const p of pending) {
    if (p.at > now) continue;
    pending.delete(p);
    try {
      p.fire();
    } catch {
      // a deadline callback must not break the others
    }
  }
  if (pending.size === 0 && ticker !== undefined) {
    clearInterval(ticker);
    ticker = undefined;
  }
}

/**
 * Calls `fire` after about `ms` (at most {@link DEADLINE_TICK_MS} late). One shared ticker serves every pending
 * deadline, so the per-connection cost is a set insert and delete instead of a timer each (the connection rate
 * depends on it). The ticker runs while deadlines are pending and stops on the first tick without any.
 * @returns a function that cancels the deadline
 * @example const cancel = after(15_000, () => conn.close()); … cancel();
 */
export function after(ms: number, fire: () => void): () => void {
  const p: Pending = { at: Date.now() + ms, fire };
  pending.add(p);
  if (ticker === undefined) {
    ticker = setInterval(tick, DEADLINE_TICK_MS);
    Deno.unrefTimer(ticker as unknown as number);
  }
  // The ticker stops on its next idle tick, not here: a conn rate of a few per tick would otherwise create and
  // clear an interval timer for every conn.
  return () => pending.delete(p);
}

/**
 * An abort signal that fires after about `ms` (see {@link after}), with a {@link TimeoutError} as its reason, or
 * when `outer` aborts (with `outer`'s reason).
 * @param what what times out, for the reason's message (`dial` → "dial timed out after 10000 ms")
 * @param onExpire called with the reason when the deadline (not `outer`) fires
 * @returns the signal, whether the deadline fired, and a function releasing the deadline
 */
export function deadlineSignal(ms: number, outer?: AbortSignal, what = "", onExpire?: (reason: TimeoutError) => void): {
  signal: AbortSignal;
  expired: () => boolean;
  release: () => void;
} {
  const ctl = new AbortController();
  let expired = false;
  const cancel = after(ms, () => {
    expired = true;
    const reason = new TimeoutError(`${what ? `${what} ` : ""}timed out after ${ms} ms`);
    ctl.abort(reason);
    onExpire?.(reason);
  });
  const onAbort = () => ctl.abort(outer?.reason);
  if (outer?.aborted) ctl.abort(outer.reason);
  else outer?.addEventListener("abort", onAbort, { once: true });
  return {
    signal: ctl.signal,
    expired: () => expired,
    release: () => {
      cancel();
      outer?.removeEventListener("abort", onAbort);
    },
  };
}

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
  const cancel = after(ms, () => {
    expired = true;
    closeQuietly(conn);
  });
  try {
    return await fn();
  } catch (err) {
    if (expired) throw new TimeoutError(`Handshake timed out after ${ms} ms`, { cause: err });
    throw err;
  } finally {
    cancel();
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
