/**
 * The `tls` listener: TCP + TLS. It accepts TCP (`Deno.listen`, TCP_NODELAY on every conn) and runs `node:tls`
 * (rustls inside Deno) over each conn. Not `Deno.listenTls`: its conns cannot set TCP_NODELAY, so a reply written
 * in two pieces waits for the client's delayed ACK (~40 ms per exchange, measured), and it cannot request client
 * certificates (mTLS with `caFile`).
 *
 * Handshakes run in the background, each bounded by `handshakeTimeout`, so a slow or silent client never holds up
 * `accept()`; failed handshakes are logged and dropped before they reach the handler (listeners/handshaking.ts).
 * @module
 */
import type { Conn } from "../../core/conn.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { ListenerOptions } from "../../core/contracts.ts";
import type { SecureContext } from "node:tls";
import { HandshakingListener } from "../handshaking.ts";
import { requiredAlpn } from "./dialer.ts";
import { nodeTlsServer } from "./handshake.ts";
import { DEFAULT_HANDSHAKE_TIMEOUT_MS, loadServerTls, serverSecureContext } from "./options.ts";

/** TLS listener (server side of the `tls` transport). */
export class TlsListener extends HandshakingListener {
  readonly #opts: ListenerOptions;
  #context: SecureContext | null = null;
  #mutual = false;
  #alpn: string[] = [];
  #timeoutMs = DEFAULT_HANDSHAKE_TIMEOUT_MS;
  readonly #requireAlpn: string;

  /**
   * @param requireAlpn an ALPN protocol the transport over TLS needs (`h2`): accepted when no ALPN is configured, and
   *   a configured list must include it
   */
  constructor(opts: ListenerOptions, requireAlpn = "") {
    super(opts, "TLS handshake");
    this.#opts = opts;
    this.#requireAlpn = requireAlpn;
  }

  /** Loads the certificate and the protocol options (see {@link loadServerTls}) and binds. */
  override async init(md: Metadata): Promise<void> {
    this.#timeoutMs = md.duration("handshakeTimeout", DEFAULT_HANDSHAKE_TIMEOUT_MS);
    const reusePort = md.bool("reusePort");
    const keepAlive = md.bool("keepalive");
    const m = await loadServerTls(this.#opts.tls, md);
    this.#context = await serverSecureContext(m);
    this.#mutual = m.ca !== undefined;
    this.#alpn = m.protocol.alpn = requiredAlpn(m.protocol.alpn, this.#requireAlpn);
    // The handshake keeps its own deadline (nodeTlsServer), so the shared one is off.
    this.bind((raw) => this.#handshake(raw), 0, reusePort, keepAlive);
    const { minVersion, maxVersion, alpn } = m.protocol;
    this.#opts.logger.debug(
      `tls listener on ${this.#opts.addr}: certificate ${m.source}${m.ca ? ", client certificates required" : ""}` +
        `${minVersion ? `, min ${minVersion}` : ""}${maxVersion ? `, max ${maxVersion}` : ""}` +
        `${alpn.length ? `, ALPN ${alpn.join(",")}` : ""}`,
    );
  }

  /** True when client certificates are required (mTLS). */
  get mutual(): boolean {
    return this.#mutual;
  }

  #handshake(raw: Conn): Promise<Conn> {
    const mutual = this.#mutual;
    return nodeTlsServer(
      raw,
      {
        secureContext: this.#context!,
        requestCert: mutual,
        rejectUnauthorized: mutual,
        ...(this.#alpn.length ? { ALPNProtocols: this.#alpn } : {}),
      },
      this.#timeoutMs,
    );
  }
}
