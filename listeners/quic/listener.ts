/**
 * The `quic` listener (GOST's x/listener/quic): one `Deno.QuicEndpoint` on the service's UDP address. Every QUIC
 * connection runs its handshake in the background (bounded by `handshakeTimeout`, at most {@link MAX_HANDSHAKES} at
 * once: more are refused), then every bidirectional stream the client opens is one conn for the handler. Accepted
 * streams wait in a queue of `backlog`; one that finds it full is closed with a warning, as GOST drops it. The peer
 * may have `maxStreams` streams open at once (QUIC's stream credit: the client cannot open more). Datagrams that are
 * not QUIC, or not for a connection of ours, never reach this code: quinn drops them. Closing the listener closes
 * the endpoint, and every connection with it.
 * @module
 */
import { addrString, closeQuietly, type Conn } from "../../core/conn.ts";
import { ConfigError, errorMessage } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import { type Listener, ListenerClosedError, type ListenerOptions } from "../../core/contracts.ts";
import { bindListenAddr, parseListenAddr, unmappedAddr } from "../addr.ts";
import { loadServerTls } from "../tls/options.ts";
import { BUILTIN_QUIC_CERT, BUILTIN_QUIC_KEY } from "./builtin_cert.ts";
import { DEFAULT_BACKLOG, parseQuicOptions, quicAlpn, type QuicOptions, transportOptions } from "./options.ts";
import { QuicStreamConn } from "./stream_conn.ts";

/** Handshakes running at once; an incoming connection past this is refused (a flood of Initial packets). */
export const MAX_HANDSHAKES = 1024;

/** A UDP address from what Deno's QUIC reports (`{hostname, port}`, IPv4-mapped IPv6 unmapped). */
function udpAddr(a: { hostname: string; port: number }): Deno.NetAddr {
  return unmappedAddr({ transport: "udp", hostname: a.hostname, port: a.port });
}

/** QUIC listener. */
export class QuicListener implements Listener {
  readonly #opts: ListenerOptions;
  #endpoint: Deno.QuicEndpoint | null = null;
  #listener: Deno.QuicListener | null = null;
  #addr: Deno.NetAddr | null = null;
  #quic: QuicOptions | null = null;
  #alpn: string[] = [];
  #backlog = DEFAULT_BACKLOG;
  #handshakes = 0;
  readonly #conns = new Set<Deno.QuicConn>();
  readonly #ready: Conn[] = [];
  #wake: (() => void) | null = null;
  #error: unknown = null;
  #closed = false;

  constructor(opts: ListenerOptions) {
    this.#opts = opts;
  }

  /**
   * Reads the QUIC options, `backlog` and the TLS settings (listeners/tls/options.ts: `certFile`/`keyFile`, else
   * `cert.pem`/`key.pem` in the working directory, else the built-in certificate), then binds the UDP address.
   * @throws {ConfigError} on a bad value, `cipherKey`, `caFile` (client certificates) or TLS below 1.3
   */
  async init(md: Metadata): Promise<void> {
    this.#quic = parseQuicOptions(md, "listener");
    this.#backlog = md.int("backlog", 0, 0) || DEFAULT_BACKLOG;
    const tls = await loadServerTls(this.#opts.tls, md);
    if (tls.ca !== undefined) {
      throw new ConfigError(
        `quic listener: caFile (client certificates, mTLS) is not supported: Deno's QUIC server cannot request or ` +
          `verify client certificates (Deno.QuicEndpoint.listen takes only a certificate and key)`,
      );
    }
    this.#alpn = quicAlpn(tls.protocol);
    // The process-wide self-signed default of the other TLS listeners is replaced by the built-in certificate, which
    // a gost.ts dialer trusts with GOST's default secure=false (./builtin_cert.ts).
    const builtin = tls.source === "self-signed";
    const [cert, key] = builtin ? [BUILTIN_QUIC_CERT, BUILTIN_QUIC_KEY] : [tls.cert, tls.key];
    const endpoint = bindListenAddr(
      parseListenAddr(this.#opts.addr),
      (hostname, port) => new Deno.QuicEndpoint({ hostname, port }),
    );
    try {
      this.#listener = endpoint.listen({ alpnProtocols: this.#alpn, cert, key, ...transportOptions(this.#quic) });
    } catch (err) {
      endpoint.close();
      throw new ConfigError(
        `quic listener: invalid TLS certificate or key (${builtin ? "built-in" : tls.source}): ${errorMessage(err)}`,
        { cause: err },
      );
    }
    this.#endpoint = endpoint;
    this.#addr = udpAddr(endpoint.addr);
    this.#opts.logger.debug(
      `quic listener on ${addrString(this.#addr)}: certificate ${builtin ? "built-in" : tls.source}, ` +
        `ALPN ${this.#alpn.join(",")}, max streams ${this.#quic.maxStreams}, idle timeout ${this.#quic.maxIdleMs} ms`,
    );
    this.#acceptLoop().catch((err) => {
      if (this.#closed) return;
      this.#error = err;
      this.#notify();
    });
  }

  get addr(): Deno.Addr {
    if (!this.#addr) throw new Error("listener not initialised");
    return this.#addr;
  }

  /** The next stream of any connection. Rejects with {@link ListenerClosedError} once closed. */
  async accept(): Promise<Conn> {
    for (;;) {
      if (this.#closed || !this.#listener) throw new ListenerClosedError();
      const conn = this.#ready.shift();
      if (conn) return conn;
      if (this.#error !== null) {
        const err = this.#error;
        this.#error = null;
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

  /** Takes incoming connections until the listener stops; each handshake runs on its own. */
  async #acceptLoop(): Promise<void> {
    const ln = this.#listener!;
    for (;;) {
      let incoming: Deno.QuicIncoming;
      try {
        incoming = await ln.incoming();
      } catch (err) {
        if (this.#closed || err instanceof Deno.errors.BadResource) return;
        throw err;
      }
      if (this.#closed) return incoming.refuse();
      if (this.#handshakes >= MAX_HANDSHAKES) {
        incoming.refuse();
        this.#opts.logger.warn(`quic: ${MAX_HANDSHAKES} handshakes running, a new connection refused`);
        continue;
      }
      this.#handshake(incoming);
    }
  }

  /**
   * Completes one handshake within `handshakeTimeout`, then serves the connection's streams. The client's address
   * is not known before the handshake ends: in Deno 2.9 reading `QuicIncoming.remoteAddr` (or `localIp`,
   * `remoteAddressValidated`) consumes the incoming connection, which is then refused.
   */
  #handshake(incoming: Deno.QuicIncoming): void {
    const ms = this.#quic!.handshakeMs;
    // Counted until it settles: one past its deadline cannot be aborted (Deno has no handle on it before it
    // completes), quinn ends it at the idle timeout.
    this.#handshakes++;
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      this.#opts.logger.debug(`quic handshake failed: timed out after ${ms} ms`);
    }, ms);
    incoming.accept<false>().then((conn) => {
      clearTimeout(timer);
      this.#handshakes--;
      if (late || this.#closed) return conn.close({ closeCode: 0, reason: late ? "handshake timeout" : "closed" });
      this.#serve(conn).catch((err) => {
        const remote = addrString(udpAddr(conn.remoteAddr));
        if (!this.#closed) this.#opts.logger.debug(`quic connection ended: ${errorMessage(err)}`, { remote });
      });
    }, (err) => {
      clearTimeout(timer);
      this.#handshakes--;
      // A client's bad TLS (wrong ALPN, refused certificate) or a peer gone mid-handshake: its fault, one
      // rate-limited line (the same text for every client).
      if (!late && !this.#closed) this.#opts.logger.info(`quic handshake failed: ${errorMessage(err)}`);
    });
  }

  /** Hands out every bidirectional stream of `conn` as a conn, until the connection ends. */
  async #serve(conn: Deno.QuicConn): Promise<void> {
    this.#conns.add(conn);
    const remoteAddr = udpAddr(conn.remoteAddr);
    const localAddr = this.#addr!;
    conn.closed.catch(() => {}).finally(() => this.#conns.delete(conn));
    const reader = conn.incomingBidirectionalStreams.getReader();
    try {
      for (;;) {
        const { value: stream, done } = await reader.read();
        if (done) return;
        const c = new QuicStreamConn(stream, localAddr, remoteAddr);
        if (this.#closed) return closeQuietly(c);
        if (this.#ready.length >= this.#backlog) {
          closeQuietly(c);
          this.#opts.logger.warn(`connection queue is full, client ${addrString(remoteAddr)} discarded`);
          continue;
        }
        this.#ready.push(c);
        this.#notify();
      }
    } finally {
      reader.releaseLock();
    }
  }

  /** Stops accepting and closes the endpoint with every connection; a pending `accept()` rejects. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const c of this.#ready.splice(0)) closeQuietly(c);
    try {
      this.#listener?.stop();
    } catch {
      // stopped
    }
    for (const c of this.#conns) {
      try {
        c.close({ closeCode: 0, reason: "listener closed" });
      } catch {
        // closed
      }
    }
    this.#conns.clear();
    try {
      this.#endpoint?.close({ closeCode: 0, reason: "listener closed" });
    } catch {
      // closed
    }
    this.#notify();
  }
}
