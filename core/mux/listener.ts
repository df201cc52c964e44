/**
 * A {@link Listener} over the streams a peer opens on an smux session: the client side of GOST's multiplexed BIND
 * (SOCKS5 MBIND, relay BIND), where the server opens one stream per inbound connection and starts it with a
 * protocol reply naming the peer. Replies are read concurrently and bounded, so one slow stream never holds up the
 * others; a stream with a bad reply is closed and skipped. When the session ends, `accept()` rejects with its
 * error, so the owner can bind again.
 * @module
 */
import { addrString, closeQuietly, type Conn, ConnWrapper } from "../conn.ts";
import { timeout } from "../deadline.ts";
import { errorMessage } from "../errors.ts";
import { type Logger, nopLogger } from "../log.ts";
import { type Listener, ListenerClosedError } from "../contracts.ts";
import type { MuxSession } from "./session.ts";
import type { MuxStream } from "./stream.ts";

/** A conn with other addresses than the conn it wraps (a stream's peer and bound address). */
export class AddressedConn extends ConnWrapper {
  readonly #local: Deno.Addr;
  readonly #remote: Deno.Addr;
  constructor(inner: Conn, local: Deno.Addr, remote: Deno.Addr) {
    super(inner);
    this.#local = local;
    this.#remote = remote;
  }
  override get localAddr(): Deno.Addr {
    return this.#local;
  }
  override get remoteAddr(): Deno.Addr {
    return this.#remote;
  }
}

/** Reads the reply that starts a stream; returns the conn to use (with read-ahead bytes) and the peer's address. */
export type StreamPrelude = (stream: MuxStream) => Promise<{ conn: Conn; peer: Deno.Addr }>;

/** Options of a {@link MuxListener}. */
export interface MuxListenerOptions {
  session: MuxSession;
  /** The address bound at the far end. */
  addr: Deno.Addr;
  prelude: StreamPrelude;
  /** Bound on reading one prelude (default 10 s). */
  preludeTimeoutMs?: number;
  /** Most conns ready and not accepted yet before the listener stops taking streams (default 1024). */
  backlog?: number;
  logger?: Logger;
}

/** Accepted conns of a multiplexed bind. */
export class MuxListener implements Listener {
  readonly #o: Required<MuxListenerOptions>;
  readonly #ready: Conn[] = [];
  #waiter: { resolve: (c: Conn) => void; reject: (e: Error) => void } | null = null;
  #space: (() => void) | null = null;
  #closed = false;

  constructor(opts: MuxListenerOptions) {
    this.#o = { preludeTimeoutMs: 10_000, backlog: 1024, logger: nopLogger, ...opts };
    this.#pump().catch(() => {});
    this.#o.session.done.then(() => this.#wakeWithError());
  }

  init(): Promise<void> {
    return Promise.resolve();
  }

  get addr(): Deno.Addr {
    return this.#o.addr;
  }

  /** The session, for its state and stream count. */
  get session(): MuxSession {
    return this.#o.session;
  }

  /**
   * The next conn.
   * @throws {ListenerClosedError} after `close()`; the session's error once the session ended
   */
  accept(): Promise<Conn> {
    if (this.#closed) return Promise.reject(new ListenerClosedError());
    const c = this.#ready.shift();
    if (c) {
      this.#space?.();
      return Promise.resolve(c);
    }
    if (this.#o.session.closed) return Promise.reject(this.#sessionError());
    if (this.#waiter) return Promise.reject(new Error("MuxListener: accept() is already pending"));
    return new Promise((resolve, reject) => (this.#waiter = { resolve, reject }));
  }

  /** Closes the session (the far end stops listening) and every conn not accepted yet. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#o.session.close();
    for (const c of this.#ready.splice(0)) closeQuietly(c);
    this.#waiter?.reject(new ListenerClosedError());
    this.#waiter = null;
    this.#space?.();
  }

  #sessionError(): Error {
    return new Deno.errors.ConnectionReset(
      `bind on ${addrString(this.#o.addr)}: tunnel closed${
        this.#o.session.error ? `: ${errorMessage(this.#o.session.error)}` : ""
      }`,
      { cause: this.#o.session.error },
    );
  }

  #wakeWithError(): void {
    if (this.#closed || !this.#waiter || this.#ready.length) return;
    this.#waiter.reject(this.#sessionError());
    this.#waiter = null;
  }

  async #pump(): Promise<void> {
    const { session, prelude, preludeTimeoutMs, logger } = this.#o;
    for (;;) {
      while (this.#ready.length >= this.#o.backlog && !this.#closed) {
        await new Promise<void>((r) => (this.#space = r));
      }
      if (this.#closed) return;
      let stream: MuxStream;
      try {
        stream = await session.acceptStream();
      } catch {
        return;
      }
      timeout(prelude(stream), preludeTimeoutMs, "bind stream reply", () => stream.close()).then(
        ({ conn, peer }) => this.#offer(new AddressedConn(conn, this.#o.addr, peer)),
        (err) => {
          stream.close();
          logger.debug(`bind on ${addrString(this.#o.addr)}: dropped stream ${stream.id}: ${errorMessage(err)}`);
        },
      );
    }
  }

  #offer(c: Conn): void {
    if (this.#closed) return closeQuietly(c);
    if (this.#waiter) {
      const w = this.#waiter;
      this.#waiter = null;
      w.resolve(c);
    } else {
      this.#ready.push(c);
    }
  }
}
