/**
 * The `tls` listener: TCP + TLS. It accepts TCP (`Deno.listen`, TCP_NODELAY on every conn) and runs `node:tls`
 * (rustls inside Deno) over each conn. Not `Deno.listenTls`: its conns cannot set TCP_NODELAY, so a reply written
 * in two pieces waits for the client's delayed ACK (~40 ms per exchange, measured), and it cannot request client
 * certificates (mTLS with `caFile`).
 *
 * Handshakes run in the background, each bounded by `handshakeTimeout`, so a slow or silent client never holds up
 * `accept()`; failed handshakes are logged and dropped before they reach the handler.
 * @module
 */
import { acceptTcp } from "../../core/accept.ts";
import { addrString, closeQuietly, type Conn } from "../../core/conn.ts";
import { ConfigError, errorMessage, isBenignEnd } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import { type Listener, ListenerClosedError, type ListenerOptions } from "../../core/contracts.ts";
import type { SecureContext } from "node:tls";
import { bindListenAddr, parseListenAddr, unmapConnAddrs } from "../addr.ts";
import { nodeTlsServer } from "./handshake.ts";
import { DEFAULT_HANDSHAKE_TIMEOUT_MS, loadServerTls } from "./options.ts";

/** Handshaken conns waiting for `accept()` before new TCP conns are no longer taken. */
const READY_MAX = 256;

/** TLS listener (server side of the `tls` transport). */
export class TlsListener implements Listener {
  readonly #opts: ListenerOptions;
  #ln: Deno.TcpListener | null = null;
  #context: SecureContext | null = null;
  #mutual = false;
  #alpn: string[] = [];
  #timeoutMs = DEFAULT_HANDSHAKE_TIMEOUT_MS;
  #keepAlive = false;
  #closed = false;
  #pumping = false;
  #pumpError: unknown = null;
  readonly #ready: Conn[] = [];
  readonly #pending = new Set<Conn>();
  #wake: (() => void) | null = null;

  constructor(opts: ListenerOptions) {
    this.#opts = opts;
  }

  /** Loads the certificate and the protocol options (see {@link loadServerTls}) and binds. */
  async init(md: Metadata): Promise<void> {
    this.#timeoutMs = md.duration("handshakeTimeout", DEFAULT_HANDSHAKE_TIMEOUT_MS);
    const reusePort = md.bool("reusePort");
    this.#keepAlive = md.bool("keepalive");
    const m = await loadServerTls(this.#opts.tls, md);
    try {
      const { createSecureContext } = await import("node:tls");
      const { minVersion, maxVersion } = m.protocol;
      this.#context = createSecureContext({ cert: m.cert, key: m.key, ca: m.ca, minVersion, maxVersion });
    } catch (err) {
      throw new ConfigError(`Invalid TLS certificate or key (${m.source}): ${errorMessage(err)}`, { cause: err });
    }
    this.#mutual = m.ca !== undefined;
    this.#alpn = m.protocol.alpn;
    this.#ln = bindListenAddr(
      parseListenAddr(this.#opts.addr),
      (hostname, port) => Deno.listen({ hostname, port, transport: "tcp", reusePort }),
    );
    const { minVersion, maxVersion, alpn } = m.protocol;
    this.#opts.logger.debug(
      `tls listener on ${this.#opts.addr}: certificate ${m.source}${m.ca ? ", client certificates required" : ""}` +
        `${minVersion ? `, min ${minVersion}` : ""}${maxVersion ? `, max ${maxVersion}` : ""}` +
        `${alpn.length ? `, ALPN ${alpn.join(",")}` : ""}`,
    );
  }

  get addr(): Deno.Addr {
    if (!this.#ln) throw new Error("listener not initialised");
    return this.#ln.addr;
  }

  /** True when client certificates are required (mTLS). */
  get mutual(): boolean {
    return this.#mutual;
  }

  async accept(): Promise<Conn> {
    for (;;) {
      if (this.#closed || !this.#ln) throw new ListenerClosedError();
      if (!this.#pumping && this.#pumpError === null) this.#startPump();
      const conn = this.#ready.shift();
      if (conn) return conn;
      if (this.#pumpError !== null) {
        const err = this.#pumpError;
        this.#pumpError = null;
        throw err;
      }
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  #startPump(): void {
    this.#pumping = true;
    this.#pump().catch((err) => {
      if (!this.#closed) this.#pumpError = err;
    }).finally(() => {
      this.#pumping = false;
      this.#notify();
    });
  }

  /** Takes TCP conns and starts their handshakes until the listener closes or `accept` fails. */
  async #pump(): Promise<void> {
    const ln = this.#ln!;
    while (!this.#closed && this.#ready.length < READY_MAX) {
      const tcp = await acceptTcp(ln); // conns reset before they are taken are skipped
      if (this.#keepAlive) tcp.setKeepAlive(true); // GOST's `keepalive`: TCP keep-alive, the system's timings
      const raw = unmapConnAddrs(tcp);
      if (this.#closed) {
        closeQuietly(raw);
        return;
      }
      this.#pending.add(raw);
      this.#handshake(raw).then((conn) => {
        this.#pending.delete(raw);
        if (this.#closed) return closeQuietly(conn);
        this.#ready.push(conn);
        this.#notify();
      }, (err) => {
        this.#pending.delete(raw);
        closeQuietly(raw);
        if (this.#closed) return;
        // The client's address is a field, so that one bad handshake from many clients is one (rate-limited) line.
        const msg = `TLS handshake failed: ${errorMessage(err)}`;
        const fields = { remote: addrString(raw.remoteAddr) };
        // A failed handshake is the client's doing (bytes that are not TLS, no shared cipher, our cert refused): an
        // info line; a client that reset or went quiet is a debug one.
        if (isBenignEnd(err)) this.#opts.logger.debug(msg, fields);
        else this.#opts.logger.info(msg, fields);
      });
    }
  }

  #handshake(raw: Deno.TcpConn): Promise<Conn> {
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

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.#ln);
    for (const c of this.#pending) closeQuietly(c);
    for (const c of this.#ready.splice(0)) closeQuietly(c);
    this.#pending.clear();
    this.#notify();
  }
}
