/**
 * The server side of the multiplexing transports (GOST's x/listener/mtcp and x/listener/mtls): every conn the inner
 * listener accepts (tcp, tls) carries an smux server session at once, and every stream the client opens on it is one
 * conn for the handler (docs/wire.md, "mtcp and mtls"). Streams wait in a queue of `backlog` conns; a stream that
 * finds it full is closed, as GOST drops it. Closing the listener ends the sessions with it. A session the client
 * broke (a malformed smux or WebSocket frame) ends with one warning naming why; a client that left, at debug.
 * @module
 */
import { addrString, closeQuietly, type Conn } from "../../core/conn.ts";
import { errorMessage, HandshakeError, isBenignEnd } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import { type Listener, ListenerClosedError, type ListenerOptions } from "../../core/contracts.ts";
import { type MuxConfig, parseMuxConfig } from "../../core/mux/config.ts";
import { MuxSession } from "../../core/mux/session.ts";
import { rejectUnsupported } from "./unsupported.ts";

/** GOST's queue of accepted streams (`backlog`). */
export const DEFAULT_MUX_BACKLOG = 128;

/** Streams of smux sessions over the conns of `inner`. */
export class MuxServerListener implements Listener {
  readonly #inner: Listener;
  readonly #opts: ListenerOptions;
  readonly #base: Partial<MuxConfig>;
  readonly #transport: string;
  #config: Partial<MuxConfig> = {};
  #backlog = DEFAULT_MUX_BACKLOG;
  readonly #ready: Conn[] = [];
  readonly #sessions = new Set<MuxSession>();
  #waiter: { resolve: (c: Conn) => void; reject: (e: unknown) => void } | null = null;
  #pumping = false;
  #pumpError: unknown = null;
  #closed = false;

  /**
   * @param inner the listener of the underlying conns (not initialised yet: `init` does it)
   * @param base the transport's smux defaults (mtcp: version 2, mtls: version 1)
   * @param transport the transport's name, for config errors (`mtcp`, `mtls`)
   */
  constructor(inner: Listener, opts: ListenerOptions, base: Partial<MuxConfig> = {}, transport = "mtcp") {
    this.#inner = inner;
    this.#opts = opts;
    this.#base = base;
    this.#transport = transport;
  }

  /**
   * Reads `mux.*` and `backlog`, then binds the inner listener.
   * @throws {ConfigError} on a bad value or an option gost.ts does not implement (see unsupported.ts)
   */
  async init(md: Metadata): Promise<void> {
    rejectUnsupported(md, this.#transport, "listener");
    this.#config = parseMuxConfig(md, this.#base);
    this.#backlog = md.int("backlog", 0, 0) || DEFAULT_MUX_BACKLOG;
    await this.#inner.init(md);
  }

  get addr(): Deno.Addr {
    return this.#inner.addr;
  }

  /** Sessions running now (one per client conn). */
  get sessions(): number {
    return this.#sessions.size;
  }

  /**
   * The next stream.
   * @throws {ListenerClosedError} once closed; what the inner listener's `accept` threw (once per failure)
   */
  accept(): Promise<Conn> {
    if (this.#closed) return Promise.reject(new ListenerClosedError());
    const c = this.#ready.shift();
    if (c) return Promise.resolve(c);
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
    this.#inner.close();
    for (const s of this.#sessions) s.close();
    this.#sessions.clear();
    for (const c of this.#ready.splice(0)) closeQuietly(c);
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

  /** Accepts underlying conns until the inner listener fails or closes. */
  async #pump(): Promise<void> {
    for (;;) {
      const conn = await this.#inner.accept();
      if (this.#closed) return closeQuietly(conn);
      this.#serve(conn);
    }
  }

  /** Runs a server session on `conn` and queues its streams. */
  async #serve(conn: Conn): Promise<void> {
    const remote = addrString(conn.remoteAddr);
    let session: MuxSession;
    try {
      session = MuxSession.server(conn, this.#config);
    } catch (err) {
      closeQuietly(conn);
      this.#opts.logger.error(`mux session: ${errorMessage(err)}`, { remote });
      return;
    }
    this.#sessions.add(session);
    try {
      for (;;) {
        const stream = await session.acceptStream();
        if (this.#closed) return closeQuietly(stream);
        this.#offer(stream, remote);
      }
    } catch (err) {
      // the session's own error: acceptStream wraps it in a ConnectionReset, which would read as a benign end
      const cause = session.error ?? err;
      const msg = `mux session ended: ${errorMessage(cause)}`;
      if (cause instanceof HandshakeError) this.#opts.logger.warn(msg, { remote });
      else if (isBenignEnd(cause)) this.#opts.logger.debug(msg, { remote });
      else this.#opts.logger.info(msg, { remote });
    } finally {
      this.#sessions.delete(session);
      session.close();
    }
  }

  #offer(c: Conn, remote: string): void {
    if (this.#waiter) {
      const w = this.#waiter;
      this.#waiter = null;
      return w.resolve(c);
    }
    if (this.#ready.length >= this.#backlog) {
      closeQuietly(c);
      this.#opts.logger.warn("connection queue is full, stream discarded", { remote });
      return;
    }
    this.#ready.push(c);
  }
}
