/**
 * Idle upstream conns of the http handler, kept between its client conns: a client that closes after one request
 * (`Connection: close`, a new conn per request) no longer costs a new dial to the origin — or a new chain — for
 * its next one. A conn is kept under the router's `reuseKey` (the target, and the path to it when that path is
 * always the same) joined with the client's identity (session.ts: the same user or client IP takes it again,
 * unless `upstreamShared`), only after a body-less request whose response ended cleanly, and for at most `idleTimeout`;
 * the most recently used is taken first. While it waits, a read is pending on it: the origin closing it (or
 * sending anything unasked, such as a 408) drops it from the pool at once, and the request that takes it gets the
 * response through that same read. A conn that closes as it is taken is noticed by the request, which retries once
 * on a new conn (only body-less requests take kept conns).
 * @module
 */
import type { HandshakeReader } from "../../core/bufio.ts";
import { closeQuietly, type Conn } from "../../core/conn.ts";
import { after } from "../../core/deadline.ts";

/** Default bound on how long an upstream conn waits idle for the next request. */
export const DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS = 30_000;
/** Default cap on idle upstream conns kept per target. */
export const DEFAULT_UPSTREAM_MAX_IDLE = 64;
/** Cap on idle upstream conns kept by one handler, all targets together (file descriptors are finite). */
export const MAX_IDLE_TOTAL = 1024;

/** An idle upstream conn and its reader (empty). */
export interface IdleConn {
  conn: Conn;
  reader: HandshakeReader;
}

interface Entry {
  idle: IdleConn;
  cancel: () => void;
}

/**
 * Idle upstream conns by reuse key.
 * @example
 * const pool = new UpstreamPool(30_000, 64);
 * pool.put("example.com:80", { conn, reader }); // later, from another client conn:
 * const kept = pool.take("example.com:80"); // { conn, reader }, or undefined
 */
export class UpstreamPool {
  readonly #idleTimeoutMs: number;
  readonly #maxIdle: number;
  readonly #maxTotal: number;
  readonly #idle = new Map<string, Entry[]>();
  #size = 0;
  #closed = false;

  constructor(idleTimeoutMs: number, maxIdlePerKey: number, maxTotal = MAX_IDLE_TOTAL) {
    this.#idleTimeoutMs = idleTimeoutMs;
    this.#maxIdle = maxIdlePerKey;
    this.#maxTotal = maxTotal;
  }

  /** How many idle conns are kept (all keys). */
  get size(): number {
    return this.#size;
  }

  /** The most recently kept idle conn for `key`, taken out of the pool; undefined when there is none. */
  take(key: string): IdleConn | undefined {
    const list = this.#idle.get(key);
    const e = list?.pop();
    if (!e) return undefined;
    this.#size--;
    if (list!.length === 0) this.#idle.delete(key);
    e.cancel();
    return e.idle;
  }

  /**
   * Keeps an idle conn (nothing buffered in its reader) for the next request under `key`; closes it when the pool
   * is closed or holds its caps (per key, in all).
   */
  put(key: string, idle: IdleConn): void {
    let list = this.#idle.get(key);
    const full = (list?.length ?? 0) >= this.#maxIdle || this.#size >= this.#maxTotal;
    if (this.#closed || full || idle.reader.buffered > 0) {
      closeQuietly(idle.conn);
      return;
    }
    if (!list) this.#idle.set(key, list = []);
    const e: Entry = { idle, cancel: () => {} };
    e.cancel = after(this.#idleTimeoutMs, () => this.#drop(key, e));
    const drop = () => this.#drop(key, e);
    idle.reader.readAhead().then(drop, drop);
    list.push(e);
    this.#size++;
  }

  /** Closes `e` if it is still in the pool (expired, or closed or spoken to by the origin while idle). */
  #drop(key: string, e: Entry): void {
    const list = this.#idle.get(key);
    const i = list?.indexOf(e) ?? -1;
    if (i < 0) return;
    list!.splice(i, 1);
    this.#size--;
    if (list!.length === 0) this.#idle.delete(key);
    e.cancel();
    closeQuietly(e.idle.conn);
  }

  /** Closes every idle conn; later `put`s close their conn at once. */
  close(): void {
    this.#closed = true;
    for (const list of this.#idle.values()) {
      for (const e of list) {
        e.cancel();
        closeQuietly(e.idle.conn);
      }
    }
    this.#idle.clear();
    this.#size = 0;
  }
}
