/**
 * One PHT session on the listener side: the conn the handler gets, fed by pushes and drained by pulls
 * (docs/wire.md, "PHT"). Both directions are bounded by {@link SESSION_BUFFER}: a handler writing to a client that
 * does not pull waits, and so does a push the handler does not read.
 * @module
 */
import type { Conn } from "../../core/conn.ts";
import { SESSION_BUFFER } from "./wire.ts";
import { Chunks, Waiters } from "./chunks.ts";

/** Raised to a handler whose session has ended (the client closed it, stopped pulling or the listener closed). */
export class SessionClosedError extends Error {
  constructor(why: string) {
    super(`pht session closed: ${why}`);
    this.name = "SessionClosedError";
  }
}

const EMPTY = new Uint8Array(0);

/** The server side of one PHT session. */
export class PhtSession implements Conn {
  readonly token: string;
  readonly localAddr: Deno.Addr;
  readonly remoteAddr: Deno.Addr;
  /** Client → handler bytes. */
  readonly #up = new Chunks();
  /** Handler → client bytes. */
  readonly #down = new Chunks();
  readonly #upWait = new Waiters();
  readonly #downWait = new Waiters();
  /** The client sent its empty push (its EOF). */
  upEnded = false;
  /** The handler half-closed or closed: the pull ends once `#down` is drained. */
  downEnded = false;
  /** Set once the session is over for good; the reason. */
  ended: string | null = null;
  /** Pulls streaming now. */
  pulls = 0;
  /** When the last pull ended (or the session began), for the no-pull timeout. */
  lastPull = Date.now();
  readonly #onEnd: (s: PhtSession) => void;

  constructor(token: string, localAddr: Deno.Addr, remoteAddr: Deno.Addr, onEnd: (s: PhtSession) => void) {
    this.token = token;
    this.localAddr = localAddr;
    this.remoteAddr = remoteAddr;
    this.#onEnd = onEnd;
  }

  // ---- the handler's side (Conn) ----

  async read(p: Uint8Array): Promise<number | null> {
    for (;;) {
      if (this.#up.size) {
        const n = this.#up.readInto(p);
        this.#upWait.wake(); // a push waiting for room
        return n;
      }
      if (this.upEnded) return null;
      if (this.ended) throw new SessionClosedError(this.ended);
      await this.#upWait.wait();
    }
  }

  async write(p: Uint8Array): Promise<number> {
    for (;;) {
      if (this.ended) throw new SessionClosedError(this.ended);
      if (this.downEnded) throw new SessionClosedError("write after close");
      if (this.#down.size < SESSION_BUFFER) break;
      await this.#downWait.wait();
    }
    if (p.length) this.#down.push(p.slice());
    this.#downWait.wake();
    return p.length;
  }

  closeWrite(): Promise<void> {
    this.downEnded = true;
    this.#downWait.wake();
    this.settle();
    return Promise.resolve();
  }

  close(): void {
    this.downEnded = true;
    this.upEnded = true;
    this.#downWait.wake();
    this.#upWait.wake();
    // what is buffered still goes out on a streaming pull; without one the session is over now
    if (!this.pulls || !this.#down.size) this.end("closed by the server");
  }

  // ---- the HTTP side ----

  /**
   * Adds one push's bytes, waiting while the handler has {@link SESSION_BUFFER} unread.
   * @returns false when the session ended or `ms` passed first
   */
  async pushData(b: Uint8Array, ms: number): Promise<boolean> {
    const until = Date.now() + ms;
    while (!this.ended && !this.upEnded && this.#up.size >= SESSION_BUFFER) {
      const left = until - Date.now();
      if (left <= 0) return false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([this.#upWait.wait(), new Promise<void>((r) => timer = setTimeout(r, left))]);
      clearTimeout(timer);
    }
    if (this.ended || this.upEnded) return false;
    this.#up.push(b);
    this.#upWait.wake();
    return true;
  }

  /** The client's EOF (its empty push). */
  pushEnd(): void {
    this.upEnded = true;
    this.#upWait.wake();
    this.settle();
  }

  /**
   * Waits for bytes to pull (at most `ms`), then takes up to `max`.
   * @returns the bytes, an empty array on timeout, or null once the downstream is over
   */
  async pullData(max: number, ms: number, gone: Promise<void>): Promise<Uint8Array | null> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let timedOut = false;
    const timeout = new Promise<void>((r) => timer = setTimeout(() => (timedOut = true, r()), ms));
    try {
      for (;;) {
        if (this.#down.size) {
          const b = this.#down.take(max);
          this.#downWait.wake();
          return b;
        }
        if (this.downEnded || this.ended) return null;
        if (timedOut) return EMPTY;
        await Promise.race([this.#downWait.wait(), timeout, gone]);
        if (!this.#down.size && !this.downEnded && !this.ended && !timedOut) {
          // woken by `gone` or a spurious wake: the caller checks its conn
          return EMPTY;
        }
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Buffered bytes waiting to be pulled. */
  get pending(): number {
    return this.#down.size;
  }

  /** Ends the session when both sides are done with it. */
  settle(): void {
    if (this.upEnded && this.downEnded && !this.#down.size) this.end("closed");
  }

  /** Ends the session for good: waiting reads, writes and pulls return. */
  end(why: string): void {
    if (this.ended) return;
    this.ended = why;
    this.#downWait.wake();
    this.#upWait.wake();
    this.#onEnd(this);
  }
}
