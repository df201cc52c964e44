/**
 * The server side the HTTP/2 transports share (h2, h2c, grpc): every conn of the inner listener (tcp; tls with ALPN
 * `h2`, whose handshakes run in the background under `handshakeTimeout`) carries an HTTP/2 server session, and
 * every request the transport accepts on it is one conn for the handler. A client that has not sent the preface
 * and its SETTINGS within the handshake deadline, or sends bytes that are not HTTP/2, is dropped with a log line;
 * its session ends alone. Accepted tunnels are answered and wait in a queue of `backlog`; while it is full, new ones
 * wait unanswered (a burst of HEADERS in one read arrives at once, where GOST's goroutines race the accept loop),
 * up to {@link MAX_UNANSWERED}; beyond that a tunnel is refused (RST_STREAM REFUSED_STREAM) with a warning, as GOST
 * drops it. Closing the listener ends every session.
 * @module
 */
import { addrString, closeQuietly, type Conn } from "../../core/conn.ts";
import { after } from "../../core/deadline.ts";
import { errorMessage, isBenignEnd } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import { type Listener, ListenerClosedError, type ListenerOptions } from "../../core/contracts.ts";
import { ErrorCode, H2ConnectionError } from "./errors.ts";
import { H2Session, type H2SessionConfig } from "./session.ts";
import type { H2Stream } from "./stream.ts";

/** GOST's queue of accepted tunnels (`backlog`). */
export const DEFAULT_H2_BACKLOG = 128;
/** Tunnels waiting unanswered while the queue is full, over all sessions, before new ones are refused. */
export const MAX_UNANSWERED = 4096;

/** A tunnel the transport accepted: the handler's conn, and the answer that opens it (a 200 response). */
export interface AcceptedTunnel {
  conn: Conn;
  answer: () => Promise<void>;
}

/** How an {@link H2ServerListener} runs. */
export interface H2ServerSettings {
  /** Accepted streams waiting for the handler before new ones are refused. */
  backlog: number;
  /** Deadline for the client's preface and SETTINGS once its conn is accepted (after TLS). */
  handshakeMs: number;
  /** Session settings (keep-alive, ping policy, idle limit). */
  session: Omit<H2SessionConfig, "onRequest" | "logger">;
  /**
   * Looks at a request: resolves with the tunnel (not answered yet), or null when the request was answered with an
   * error (the transport logs and answers it; the stream is closed here).
   */
  accept: (stream: H2Stream, remote: string) => Promise<AcceptedTunnel | null>;
}

/** HTTP/2 tunnels over the conns of `inner`. */
export class H2ServerListener implements Listener {
  #inner: Listener | null = null;
  readonly #opts: ListenerOptions;
  #h2: H2ServerSettings | null = null;
  readonly #ready: Conn[] = [];
  readonly #unanswered: AcceptedTunnel[] = [];
  readonly #sessions = new Set<H2Session>();
  #waiter: { resolve: (c: Conn) => void; reject: (e: unknown) => void } | null = null;
  #pumping = false;
  #pumpError: unknown = null;
  #closed = false;

  constructor(opts: ListenerOptions) {
    this.#opts = opts;
  }

  /**
   * Transports read their keys, then call this with their settings and the listener of the underlying conns (tcp,
   * or tls with ALPN h2), which it initialises with `innerMd`.
   */
  async start(h2: H2ServerSettings, inner: Listener, innerMd: Metadata): Promise<void> {
    this.#h2 = h2;
    this.#inner = inner;
    if (this.#closed) throw new ListenerClosedError();
    await inner.init(innerMd);
  }

  /** Implemented by the transports (they read their keys and call {@link start}). */
  init(_md: Metadata): Promise<void> {
    return Promise.reject(new Error("H2ServerListener.init: the transport starts it"));
  }

  get addr(): Deno.Addr {
    if (!this.#inner) throw new Error("listener not initialised");
    return this.#inner.addr;
  }

  /** HTTP/2 sessions running now (one per client conn). */
  get sessions(): number {
    return this.#sessions.size;
  }

  /**
   * The next accepted tunnel.
   * @throws {ListenerClosedError} once closed; what the inner listener's `accept` threw (once per failure)
   */
  accept(): Promise<Conn> {
    if (this.#closed || !this.#inner) return Promise.reject(new ListenerClosedError());
    const c = this.#ready.shift();
    if (c) {
      const next = this.#unanswered.shift();
      if (next) this.#queue(next);
      return Promise.resolve(c);
    }
    if (this.#pumpError !== null) {
      const err = this.#pumpError;
      this.#pumpError = null;
      return Promise.reject(err);
    }
    if (this.#waiter) return Promise.reject(new Error("accept() is already pending"));
    if (!this.#pumping) this.#startPump();
    return new Promise((resolve, reject) => (this.#waiter = { resolve, reject }));
  }

  /** Stops accepting and ends every session (and its streams). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#inner?.close();
    for (const s of this.#sessions) s.close();
    this.#sessions.clear();
    for (const c of this.#ready.splice(0)) closeQuietly(c);
    for (const t of this.#unanswered.splice(0)) closeQuietly(t.conn);
    this.#waiter?.reject(new ListenerClosedError());
    this.#waiter = null;
  }

  #startPump(): void {
    this.#pumping = true;
    this.#pump().catch((err) => {
      if (this.#closed) return;
      if (this.#waiter) {
        this.#waiter.reject(err);
        this.#waiter = null;
      } else {
        this.#pumpError = err;
      }
    }).finally(() => (this.#pumping = false));
  }

  async #pump(): Promise<void> {
    const inner = this.#inner!;
    for (;;) {
      const conn = await inner.accept();
      if (this.#closed) return closeQuietly(conn);
      this.#serve(conn);
    }
  }

  /** Runs a server session on `conn` until it ends. */
  #serve(conn: Conn): void {
    const h2 = this.#h2!;
    const remote = addrString(conn.remoteAddr);
    const log = this.#opts.logger;
    const session = H2Session.server(conn, {
      ...h2.session,
      logger: log,
      onRequest: (stream) => this.#request(stream, remote),
    });
    this.#sessions.add(session);
    const transport = h2.session.transport;
    const cancel = after(h2.handshakeMs, () => {
      log.info(`${transport} handshake failed: no HTTP/2 preface and SETTINGS within ${h2.handshakeMs} ms`, { remote });
      session.close();
    });
    session.ready.then(cancel, cancel);
    session.done.then(() => {
      this.#sessions.delete(session);
      const err = session.error;
      // protocol errors were logged by the session as they happened
      if (err && !(err instanceof H2ConnectionError)) {
        const msg = `${transport} session ended: ${errorMessage(err)}`;
        if (isBenignEnd(err)) log.debug(msg, { remote });
        else log.info(msg, { remote });
      }
    });
  }

  #request(stream: H2Stream, remote: string): void {
    this.#h2!.accept(stream, remote).then((tunnel) => {
      if (tunnel === null) return stream.close();
      if (this.#closed) return closeQuietly(tunnel.conn);
      this.#offer(tunnel, remote);
    }, (err) => {
      stream.close();
      if (!this.#closed) {
        this.#opts.logger.debug(`${this.#h2!.session.transport} request: ${errorMessage(err)}`, { remote });
      }
    });
  }

  #offer(t: AcceptedTunnel, remote: string): void {
    if (this.#waiter) {
      const w = this.#waiter;
      this.#waiter = null;
      t.answer().catch(() => {}); // queued before anything the handler writes
      return w.resolve(t.conn);
    }
    if (this.#ready.length < this.#h2!.backlog) return this.#queue(t);
    if (this.#unanswered.length < MAX_UNANSWERED) {
      this.#unanswered.push(t);
      return;
    }
    (t.conn as { close(code?: number): void }).close(ErrorCode.REFUSED_STREAM);
    this.#opts.logger.warn("connection queue is full, stream discarded", { remote });
  }

  /** Answers `t` and queues its conn for `accept()`. */
  #queue(t: AcceptedTunnel): void {
    t.answer().catch(() => {});
    this.#ready.push(t.conn);
  }
}
