/**
 * Idle upstream conns of the http handler, shared by its client conns: a client that closes after one request
 * (`Connection: close`, a new conn per request) no longer costs a new dial to the origin — or a new chain — for
 * the next one. A conn is kept under the router's `reuseKey` (the target, and the path to it when that
 * path is always the same), only after a body-less request whose response ended cleanly, and for at most
 * `idleTimeout`; the most recently used is taken first. A kept conn the origin has closed meanwhile is noticed by
 * the request that takes it, which retries once on a new conn (only body-less requests take kept conns).
 * @module
 */
import { closeQuietly, type Conn } from "../../core/conn.ts";
import { after } from "../../core/deadline.ts";

/** Default bound on how long an upstream conn waits idle for the next request. */
export const DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS = 30_000;
/** Default cap on idle upstream conns kept per target. */
export const DEFAULT_UPSTREAM_MAX_IDLE = 64;

interface Idle {
  conn: Conn;
  cancel: () => void;
}

/**
 * Idle upstream conns by reuse key.
 * @example
 * const pool = new UpstreamPool(30_000, 64);
 * pool.put("example.com:80", conn); // later, from another client conn:
 * const kept = pool.take("example.com:80"); // conn, or undefined
 */
export class UpstreamPool {
  readonly #idleTimeoutMs: number;
  readonly #maxIdle: number;
  readonly #idle = new Map<string, Idle[]>();
  #closed = false;

  constructor(idleTimeoutMs: number, maxIdlePerKey: number) {
    this.#idleTimeoutMs = idleTimeoutMs;
    this.#maxIdle = maxIdlePerKey;
  }

  /** How many idle conns are kept (all keys). */
  get size(): number {
    let n = 0;
    for (const list of this.#idle.values()) n += list.length;
    return n;
  }

  /** The most recently kept idle conn for `key`, taken out of the pool; undefined when there is none. */
  take(key: string): Conn | undefined {
    const list = this.#idle.get(key);
    const e = list?.pop();
    if (!e) return undefined;
    if (list!.length === 0) this.#idle.delete(key);
    e.cancel();
    return e.conn;
  }

  /** Keeps an idle conn for the next request under `key` (closes it when the pool is full or closed). */
  put(key: string, conn: Conn): void {
    let list = this.#idle.get(key);
    if (this.#closed || (list?.length ?? 0) >= this.#maxIdle) {
      closeQuietly(conn);
      return;
    }
    if (!list) this.#idle.set(key, list = []);
    const e: Idle = { conn, cancel: () => {} };
    e.cancel = after(this.#idleTimeoutMs, () => this.#expire(key, e));
    list.push(e);
  }

  #expire(key: string, e: Idle): void {
    const list = this.#idle.get(key);
    const i = list?.indexOf(e) ?? -1;
    if (i < 0) return;
    list!.splice(i, 1);
    if (list!.length === 0) this.#idle.delete(key);
    closeQuietly(e.conn);
  }

  /** Closes every idle conn; later `put`s close their conn at once. */
  close(): void {
    this.#closed = true;
    for (const list of this.#idle.values()) {
      for (const e of list) {
        e.cancel();
        closeQuietly(e.conn);
      }
    }
    this.#idle.clear();
  }
}
