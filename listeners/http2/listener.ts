/**
 * The `http2` listener (GOST's x/listener/http2): HTTP/2 over TLS (ALPN `h2`); every request, whatever its method,
 * is one conn for the `http2` handler — the request's stream ({@link H2Stream}: its headers, then its DATA), which
 * the handler answers itself (handlers/http2/handler.ts). The sessions, the handshake deadline and the backlog are
 * the h2 transports' (listeners/h2/server.ts).
 * @module
 */
import type { Metadata } from "../../core/metadata.ts";
import type { ListenerOptions } from "../../core/contracts.ts";
import { TlsListener } from "../tls/listener.ts";
import { DEFAULT_HANDSHAKE_TIMEOUT_MS } from "../tls/options.ts";
import { DEFAULT_H2_BACKLOG, H2ServerListener } from "../h2/server.ts";
import type { H2Stream } from "../h2/stream.ts";

/** HTTP/2 proxy listener. */
export class Http2Listener extends H2ServerListener {
  readonly #opts: ListenerOptions;

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
    await this.start(
      {
        backlog,
        handshakeMs,
        session: { transport: "http2", keepalive: null },
        // the handler answers each request: no answer here
        accept: (stream: H2Stream) => Promise.resolve({ conn: stream, answer: () => Promise.resolve() }),
      },
      new TlsListener(this.#opts, "h2"),
      md,
    );
    this.#opts.logger.debug(`http2 listener on ${this.#opts.addr}`);
  }
}
