/**
 * The client side the HTTP/2 transports share (h2, h2c, grpc): a multiplexing dialer. `dial` opens TCP (h2c, gRPC
 * with `grpcInsecure`) or TCP + TLS offering ALPN `h2`, `handshake` runs TLS over a conn through earlier hops, and
 * `multiplex` starts an HTTP/2 client session on the conn and waits for the server's SETTINGS (`handshakeTimeout`).
 * The chain keeps that session and opens a stream on it for every dial (docs/architecture.md, "Multiplexing
 * dialers"); how a stream is opened (a CONNECT, a gRPC call) is the transport's {@link H2ClientDialer.openStream}.
 * @module
 */
import { closeQuietly, type Conn } from "../../core/conn.ts";
import type { ClientPluginOptions, Dialer, DialerSession, DialOptions } from "../../core/contracts.ts";
import { timeout } from "../../core/deadline.ts";
import { errorMessage, HandshakeError, TimeoutError } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import { TcpDialer } from "../tcp/dialer.ts";
import { TlsDialer } from "../tls/dialer.ts";
import { DEFAULT_HANDSHAKE_TIMEOUT_MS } from "../tls/options.ts";
import { H2Session, type KeepaliveConfig } from "./session.ts";

/** What a transport's client side reads before the shared part starts. */
export interface H2ClientSettings {
  /** PING keep-alive of each session (null: none). */
  keepalive: KeepaliveConfig | null;
  /** Deadline for the server's SETTINGS after the conn is open (and the TLS handshake's, via the tls dialer). */
  handshakeMs: number;
}

/** An HTTP/2 multiplexing dialer; subclasses say how a stream is opened. */
export abstract class H2ClientDialer implements Dialer {
  readonly #opts: ClientPluginOptions;
  readonly #transport: string;
  #tls = false;
  #inner: Dialer | null = null;
  #settings: H2ClientSettings = { keepalive: null, handshakeMs: DEFAULT_HANDSHAKE_TIMEOUT_MS };

  /** @param transport the dialer's type (`h2`, `h2c`, `grpc`), for stats and messages */
  constructor(opts: ClientPluginOptions, transport: string) {
    this.#opts = opts;
    this.#transport = transport;
  }

  /** Reads the transport's keys; implementations call {@link initTransport}. */
  abstract init(md: Metadata): Promise<void>;

  /** Opens one stream on `session`: the conn the node's connector speaks on. */
  protected abstract openStream(session: H2Session, addr: string): Promise<Conn>;

  /**
   * Sets the shared settings and initialises the TCP dialer, or the TLS dialer offering ALPN `h2` when `tls`, with
   * `inner` (see listeners/h2/options.ts, `transportMetadata`).
   */
  protected async initTransport(inner: Metadata, settings: H2ClientSettings, tls: boolean): Promise<void> {
    this.#settings = settings;
    this.#tls = tls;
    const d = tls ? new TlsDialer(this.#opts, "h2") : new TcpDialer(this.#opts);
    await d.init(inner);
    this.#inner = d;
  }

  #dialer(): Dialer {
    if (!this.#inner) throw new Error(`${this.#transport} dialer not initialised`);
    return this.#inner;
  }

  /** Opens TCP (and TLS) to `addr`: the session's conn. */
  async dial(addr: string, opts?: DialOptions): Promise<Conn> {
    return this.#checkAlpn(await this.#dialer().dial(addr, opts), addr);
  }

  /** Runs TLS over a conn through earlier hops (h2, grpc over TLS); h2c uses the conn as is. */
  async handshake(conn: Conn, addr: string, opts?: DialOptions): Promise<Conn> {
    const d = this.#dialer();
    if (!this.#tls || !d.handshake) return conn;
    return this.#checkAlpn(await d.handshake(conn, addr, opts), addr);
  }

  /**
   * Starts the HTTP/2 client session on `conn` and waits for the server's SETTINGS.
   * @throws {HandshakeError} when the server does not speak HTTP/2, or a TimeoutError past `handshakeTimeout`
   */
  async multiplex(conn: Conn, addr: string): Promise<DialerSession> {
    const session = H2Session.client(conn, { transport: this.#transport, keepalive: this.#settings.keepalive });
    try {
      await timeout(session.ready, this.#settings.handshakeMs, `${this.#transport} handshake with ${addr}`);
    } catch (err) {
      session.close();
      if (err instanceof HandshakeError || err instanceof TimeoutError) throw err;
      throw new HandshakeError(`${this.#transport} handshake with ${addr} failed: ${errorMessage(err)}`, {
        cause: err,
      });
    }
    return {
      open: () => this.openStream(session, addr),
      get closed() {
        return session.closed;
      },
      done: session.done,
      close: () => session.close(),
      stats: () => session.stats(),
    };
  }

  /** The transport's handshake deadline (for opening streams). */
  protected get handshakeMs(): number {
    return this.#settings.handshakeMs;
  }

  #checkAlpn(conn: Conn, addr: string): Conn {
    const alpn = (conn as { alpnProtocol?: string }).alpnProtocol;
    if (this.#tls && alpn && alpn !== "h2") {
      closeQuietly(conn);
      throw new HandshakeError(`${this.#transport}: ${addr} agreed on ALPN "${alpn}", not "h2"`);
    }
    return conn;
  }
}
