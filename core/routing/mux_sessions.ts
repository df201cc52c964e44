/**
 * The sessions of a chain's multiplexing nodes (docs/architecture.md, "Multiplexing dialers"): one live session per
 * node, shared by every dial through it. Concurrent dials that find no session wait for the one being opened instead
 * of opening their own, so 100 dials at once ride one conn. An open is abandoned only when every dial waiting for it
 * has given up; a session that has ended is forgotten, and the next dial opens a new one.
 * @module
 */
import { closeQuietly } from "../conn.ts";
import type { DialerSession, MuxCloseReason } from "../contracts.ts";
import { abortReason } from "../errors.ts";

/** A session being opened, and the dials waiting for it. */
interface Opening {
  readonly promise: Promise<DialerSession>;
  readonly abort: AbortController;
  waiters: number;
}

/** A session handed to a dial, and whether this dial opened it. */
export interface SessionLease {
  /** The live session (shared with every other dial through the node). */
  readonly session: DialerSession;
  /** True when the dial's own call opened the session (its conn's step is already recorded). */
  readonly fresh: boolean;
}

/** What a {@link MuxSessions} tells about the sessions it kept. */
export interface MuxSessionsOptions<K> {
  /** Called once a live session has ended (after it was forgotten), with why (`local` when its dialer has no stats). */
  onEnd?: (key: K, session: DialerSession, reason: MuxCloseReason) => void;
}

/**
 * One session per key (a chain node).
 * @example
 * const { session } = await sessions.session(node, (signal) => openSession(node, signal), opts.signal);
 * const conn = await session.open();
 */
export class MuxSessions<K extends object> {
  readonly #live = new Map<K, DialerSession>();
  readonly #opening = new Map<K, Opening>();
  readonly #ended = new Map<MuxCloseReason, number>();
  readonly #onEnd?: (key: K, session: DialerSession, reason: MuxCloseReason) => void;
  #closed = false;

  /** Sessions kept per key; `opts.onEnd` hears of each one that ends. */
  constructor(opts: MuxSessionsOptions<K> = {}) {
    this.#onEnd = opts.onEnd;
  }

  /** The live sessions and their keys (the Web API's `GET /sessions`). */
  entries(): [K, DialerSession][] {
    return [...this.#live].filter(([, s]) => !s.closed);
  }

  /** Sessions that ended so far, by reason (`keepalive`, `peer`, `error`, `local`). */
  endedCounts(): Partial<Record<MuxCloseReason, number>> {
    return Object.fromEntries(this.#ended);
  }

  /** The live session of `key`, if any (for tests and the API). */
  get(key: K): DialerSession | undefined {
    const s = this.#live.get(key);
    return s && !s.closed ? s : undefined;
  }

  /** Live sessions now. */
  get size(): number {
    let n = 0;
    for (const s of this.#live.values()) if (!s.closed) n++;
    return n;
  }

  /**
   * The session of `key`: the live one, else the one being opened, else one that `open` opens now. `open` gets a
   * signal of its own that aborts once every dial waiting for it has aborted (the last one's reason).
   * @throws what `open` threw, to every dial that waited for it; the reason of `signal` once it aborts
   */
  session(
    key: K,
    open: (signal: AbortSignal) => Promise<DialerSession>,
    signal?: AbortSignal,
  ): Promise<SessionLease> {
    if (this.#closed) return Promise.reject(new Deno.errors.ConnectionReset("chain closed: no new mux sessions"));
    const live = this.get(key);
    if (live) return Promise.resolve({ session: live, fresh: false });
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    let opening = this.#opening.get(key);
    let fresh = false;
    if (!opening) {
      fresh = true;
      opening = this.#start(key, open);
    }
    const o = opening;
    o.waiters++;
    return new Promise<SessionLease>((resolve, reject) => {
      let settled = false;
      const onAbort = () => {
        if (settled) return;
        settled = true;
        if (--o.waiters === 0) o.abort.abort(signal!.reason);
        reject(abortReason(signal!));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      o.promise.then((session) => {
        signal?.removeEventListener("abort", onAbort);
        if (settled) return;
        settled = true;
        o.waiters--;
        resolve({ session, fresh });
      }, (err) => {
        signal?.removeEventListener("abort", onAbort);
        if (settled) return;
        settled = true;
        o.waiters--;
        reject(err);
      });
    });
  }

  #start(key: K, open: (signal: AbortSignal) => Promise<DialerSession>): Opening {
    const abort = new AbortController();
    const promise = open(abort.signal).then((session) => {
      if (this.#opening.get(key) === opening) this.#opening.delete(key);
      if (this.#closed || opening.waiters === 0) {
        // nobody wants it any more (every waiter gave up, or the chain closed meanwhile)
        session.close();
        throw new Deno.errors.ConnectionReset("mux session opened after every dial gave up");
      }
      this.#live.set(key, session);
      session.done.then(() => {
        if (this.#live.get(key) === session) this.#live.delete(key);
        const reason = session.stats?.().closeReason ?? "local";
        this.#ended.set(reason, (this.#ended.get(reason) ?? 0) + 1);
        this.#onEnd?.(key, session, reason);
      });
      return session;
    }, (err) => {
      if (this.#opening.get(key) === opening) this.#opening.delete(key);
      throw err;
    });
    promise.catch(() => {}); // every waiter handles it; none may be left
    const opening: Opening = { promise, abort, waiters: 0 };
    this.#opening.set(key, opening);
    return opening;
  }

  /** Ends `session` and forgets it (a stream failed to open on it): the next dial through `key` opens a new one. */
  drop(key: K, session: DialerSession): void {
    if (this.#live.get(key) === session) this.#live.delete(key);
    closeQuietly(session);
  }

  /** Ends every session and refuses new ones (the chain was replaced or removed). Idempotent. */
  close(): void {
    this.#closed = true;
    for (const o of this.#opening.values()) o.abort.abort(new Deno.errors.ConnectionReset("chain closed"));
    for (const s of this.#live.values()) closeQuietly(s);
    this.#live.clear();
  }
}
