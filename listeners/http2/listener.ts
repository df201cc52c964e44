/**
 * The `http2` listener (GOST's x/listener/http2): TLS offering ALPN `h2` and `http/1.1`, as GOST's Go server does.
 * On an `h2` conn every request, whatever its method, is one conn for the `http2` handler — the request's stream
 * ({@link H2Stream}: its headers, then its DATA), which the handler answers itself (handlers/http2/handler.ts); the
 * sessions, the handshake deadline and the backlog are the h2 transports' (listeners/h2/server.ts). A conn that
 * agreed on `http/1.1` (or on no ALPN) is handed over whole, marked as {@link Http1Conn}: the handler serves it as
 * an HTTP/1.1 proxy, as GOST's handler serves Go's HTTP/1.1 requests.
 * @module
 */
import { type Conn, ConnWrapper } from "../../core/conn.ts";
import { type Listener, ListenerClosedError, type ListenerOptions } from "../../core/contracts.ts";
import { Metadata } from "../../core/metadata.ts";
import { TlsListener } from "../tls/listener.ts";
import { DEFAULT_HANDSHAKE_TIMEOUT_MS } from "../tls/options.ts";
import { DEFAULT_H2_BACKLOG, H2ServerListener } from "../h2/server.ts";
import type { H2Stream } from "../h2/stream.ts";

/** An accept error waiting in the queue. */
class AcceptFailure {
  constructor(readonly error: unknown) {}
}

/** A TLS conn of the `http2` listener that agreed on HTTP/1.1: the handler serves it whole. */
export class Http1Conn extends ConnWrapper {}

/** The TLS listener under the HTTP/2 sessions: `h2` conns go on to them, the others to `http1`. */
class AlpnSplit implements Listener {
  readonly #inner: Listener;
  readonly #http1: (c: Conn) => void;

  constructor(inner: Listener, http1: (c: Conn) => void) {
    this.#inner = inner;
    this.#http1 = http1;
  }

  init(md: Metadata): Promise<void> {
    return this.#inner.init(md);
  }

  get addr(): Deno.Addr {
    return this.#inner.addr;
  }

  async accept(): Promise<Conn> {
    for (;;) {
      const c = await this.#inner.accept();
      if ((c as { alpnProtocol?: string }).alpnProtocol === "h2") return c;
      this.#http1(new Http1Conn(c));
    }
  }

  close(): void {
    this.#inner.close();
  }
}

/** HTTP/2 proxy listener. */
export class Http2Listener extends H2ServerListener {
  readonly #opts: ListenerOptions;
  /** Accepted conns (streams and HTTP/1.1 conns) and accept errors, in order, waiting for `accept()`. */
  readonly #ready: (Conn | AcceptFailure)[] = [];
  #waiter: { resolve: (c: Conn) => void; reject: (e: unknown) => void } | null = null;
  /** True while an accept of the HTTP/2 side is pending (one at a time, so its backlog stays its own). */
  #pending = false;
  #closed = false;

  constructor(opts: ListenerOptions) {
    super(opts);
    this.#opts = opts;
  }

  /**
   * Reads `backlog` and `handshakeTimeout`, refuses what Deno cannot do (`mptcp`, the TCP keep-alive timings), then
   * binds the TLS listener with the rest (TLS keys, `keepalive` as TCP keep-alive as in GOST).
   * @throws {ConfigError} on a bad or refused value
   */
  override async init(md: Metadata): Promise<void> {
    const why = "Deno sets TCP keep-alive with the system's timings only (keepalive=true)";
    md.refuse("listener http2", [
      [["mptcp"], "Deno opens no MPTCP sockets (only plain TCP)"],
      [["keepalive.idle"], why],
      [["keepalive.interval"], why],
      [["keepalive.count"], why],
    ]);
    const backlog = md.int("backlog", 0, 0) || DEFAULT_H2_BACKLOG;
    const handshakeMs = md.duration("handshakeTimeout", DEFAULT_HANDSHAKE_TIMEOUT_MS);
    const tlsMd = new Metadata(md.toRecord());
    const options = (this.#opts.tls as { options?: { alpn?: unknown } } | undefined)?.options;
    if (!md.has("tls.alpn") && options?.alpn === undefined) tlsMd.set("tls.alpn", "h2,http/1.1");
    await this.start(
      {
        backlog,
        handshakeMs,
        session: { transport: "http2", keepalive: null },
        // the handler answers each request: no answer here
        accept: (stream: H2Stream) => Promise.resolve({ conn: stream, answer: () => Promise.resolve() }),
      },
      new AlpnSplit(new TlsListener(this.#opts, "h2"), (c) => this.#offer(c)),
      tlsMd,
    );
    this.#opts.logger.debug(`http2 listener on ${this.#opts.addr}`);
  }

  /** The next request stream or HTTP/1.1 conn. @throws {ListenerClosedError} once closed */
  override accept(): Promise<Conn> {
    if (this.#closed) return Promise.reject(new ListenerClosedError());
    const next = this.#ready.shift();
    if (next) return next instanceof AcceptFailure ? Promise.reject(next.error) : Promise.resolve(next);
    if (this.#waiter) return Promise.reject(new Error("accept() is already pending"));
    if (!this.#pending) this.#acceptStream();
    return new Promise((resolve, reject) => (this.#waiter = { resolve, reject }));
  }

  override close(): void {
    this.#closed = true;
    super.close();
    for (const c of this.#ready.splice(0)) if (!(c instanceof AcceptFailure)) c.close();
    this.#waiter?.reject(new ListenerClosedError());
    this.#waiter = null;
  }

  #offer(item: Conn | AcceptFailure): void {
    if (this.#closed) {
      if (!(item instanceof AcceptFailure)) item.close();
      return;
    }
    const w = this.#waiter;
    if (!w) {
      this.#ready.push(item);
      return;
    }
    this.#waiter = null;
    if (item instanceof AcceptFailure) w.reject(item.error);
    else w.resolve(item);
  }

  /** Takes the HTTP/2 side's next stream (or error) into the shared queue. */
  #acceptStream(): void {
    this.#pending = true;
    super.accept().then((c) => {
      this.#pending = false;
      this.#offer(c);
    }, (error) => {
      this.#pending = false;
      if (!this.#closed && !(error instanceof ListenerClosedError)) this.#offer(new AcceptFailure(error));
    });
  }
}
