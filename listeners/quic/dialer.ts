/**
 * The `quic` dialer (GOST's x/dialer/quic): a multiplexing dialer. `dial` opens the QUIC connection to the node
 * (a `Deno.QuicEndpoint` of its own on an ephemeral UDP port, then `Deno.connectQuic`, within `handshakeTimeout`) and
 * hands it over as a placeholder conn; `multiplex` makes it the chain's session, which opens a stream per dial
 * (./session.ts). QUIC needs its own UDP path, so the node must be the first of its chain: Deno's QUIC cannot run
 * over a conn that earlier hops opened (GOST sends it as UDP through them).
 *
 * Certificates (Deno's QUIC client always verifies, it has no way to skip verification per connection):
 * - `secure=true` or a `caFile`: the server's certificate must chain to the system roots or the CA, for `serverName`
 *   (default: the node's host).
 * - GOST's default `secure=false` without a CA: the built-in certificate (./builtin_cert.ts: a gost.ts server's
 *   default) is accepted by its SHA-256, else a certificate valid under the system roots; whichever worked last is
 *   tried first. Any other certificate (GOST's own self-signed default among them) fails, with a message that says
 *   to give its CA as `caFile`.
 * @module
 */
import { addrString, type Conn, splitHostPort } from "../../core/conn.ts";
import { DialError, errorMessage, HandshakeError, TimeoutError } from "../../core/errors.ts";
import { isIP, parseIPv4 } from "../../core/ip.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { ClientPluginOptions, Dialer, DialerSession, DialOptions } from "../../core/contracts.ts";
import { type ClientTlsMaterial, loadClientTls } from "../tls/options.ts";
import { isNoIPv6Error, unmappedAddr } from "../addr.ts";
import { builtinCertHash } from "./builtin_cert.ts";
import { parseQuicOptions, quicAlpn, type QuicOptions, transportOptions } from "./options.ts";
import { QuicSession } from "./session.ts";

/** How the server's certificate is checked on one attempt. */
type Trust = "builtin" | "roots";

/** A certificate the client's verifier refused (rustls' message, the only sign Deno gives). */
function isCertificateError(err: unknown): boolean {
  return /invalid peer certificate|certificate/i.test(errorMessage(err));
}

/**
 * The QUIC connection `dial` opened, before `multiplex` makes it a session: reads end when the connection does,
 * writes fail (no bytes travel outside streams). Closing it closes the connection and its endpoint.
 */
export class QuicPathConn implements Conn {
  readonly localAddr: Deno.NetAddr;
  readonly remoteAddr: Deno.NetAddr;
  /** The connection. */
  readonly quic: Deno.QuicConn;
  /** Its endpoint. */
  readonly endpoint: Deno.QuicEndpoint;
  #taken = false;

  constructor(quic: Deno.QuicConn, endpoint: Deno.QuicEndpoint, remoteAddr: Deno.NetAddr) {
    this.quic = quic;
    this.endpoint = endpoint;
    this.remoteAddr = remoteAddr;
    const { hostname, port } = endpoint.addr;
    this.localAddr = unmappedAddr<Deno.NetAddr>({ transport: "udp", hostname, port });
  }

  /** Hands the connection to a session: closing this conn no longer closes it. */
  take(): Deno.QuicConn {
    this.#taken = true;
    return this.quic;
  }

  async read(_p: Uint8Array): Promise<number | null> {
    await this.quic.closed.catch(() => {});
    return null;
  }
  write(_p: Uint8Array): Promise<number> {
    return Promise.reject(new Deno.errors.NotSupported("quic: data travels on streams of the session, not its conn"));
  }
  closeWrite(): Promise<void> {
    return Promise.resolve();
  }
  close(): void {
    if (this.#taken) return;
    this.#taken = true;
    try {
      this.quic.close({ closeCode: 0, reason: "closed" });
    } catch {
      // closed
    }
    try {
      this.endpoint.close();
    } catch {
      // closed
    }
  }
}

/** QUIC dialer. */
export class QuicDialer implements Dialer {
  readonly #opts: ClientPluginOptions;
  #quic: QuicOptions | null = null;
  #tls: ClientTlsMaterial | null = null;
  #alpn: string[] = [];
  #trust: Trust[] = ["builtin", "roots"];

  constructor(opts: ClientPluginOptions) {
    this.#opts = opts;
  }

  /**
   * Reads the QUIC options and the TLS settings (listeners/tls/options.ts; files are read here, once).
   * @throws {ConfigError} on a bad value, `cipherKey`, or TLS below 1.3
   */
  async init(md: Metadata): Promise<void> {
    this.#quic = parseQuicOptions(md, "dialer");
    const t = this.#tls = await loadClientTls(this.#opts.tls, md);
    this.#alpn = quicAlpn(t.protocol);
    if (t.secure || t.ca) this.#trust = ["roots"];
  }

  /**
   * Opens the QUIC connection to `addr` (the handshake included) on an endpoint of its own.
   * @throws {DialError} on a bad address or a socket that cannot be bound, {@link HandshakeError} when the handshake
   *   fails (refused certificate, no common ALPN protocol, no answer), TimeoutError past `handshakeTimeout`
   */
  async dial(addr: string, opts: DialOptions = {}): Promise<Conn> {
    let host: string, port: number;
    try {
      ({ host, port } = splitHostPort(addr));
    } catch (err) {
      throw new DialError(addr, errorMessage(err), { cause: err });
    }
    host ||= "127.0.0.1"; // a node `:8443` is dialed on this host, as a TCP one
    const errors: string[] = [];
    for (const [i, trust] of this.#trust.entries()) {
      try {
        const conn = await this.#connect(addr, host, port, trust, opts);
        if (i > 0) this.#trust = [trust, ...this.#trust.filter((t) => t !== trust)]; // try it first next time
        return conn;
      } catch (err) {
        if (!isCertificateError(err) || opts.signal?.aborted) throw err;
        const cause = err instanceof Error && err.cause !== undefined ? err.cause : err;
        errors.push(`${trust === "builtin" ? "the built-in certificate" : "the system roots"}: ${errorMessage(cause)}`);
        if (i < this.#trust.length - 1) continue;
        if (errors.length < 2) throw err;
        throw new HandshakeError(
          `quic handshake with ${addr} failed: the server's certificate is neither the built-in one nor valid under ` +
            `the system roots (${errors.join("; ")}). Deno's QUIC cannot skip verification (GOST's secure=false): ` +
            `give the server's certificate or its CA as caFile`,
          { cause: err },
        );
      }
    }
    throw new HandshakeError(`quic handshake with ${addr} failed`); // unreachable: the last attempt throws
  }

  async #connect(addr: string, host: string, port: number, trust: Trust, opts: DialOptions): Promise<QuicPathConn> {
    const t = this.#tls!;
    const q = this.#quic!;
    const endpoint = this.#endpoint(addr, host);
    const options: Deno.ConnectQuicOptions<false> & Record<string, unknown> = {
      hostname: host,
      port,
      endpoint,
      alpnProtocols: this.#alpn,
      serverName: t.serverName || host,
      ...transportOptions(q),
      ...(t.cert && t.key ? { cert: t.cert, key: t.key } : {}), // taken by Deno, not in its types
    };
    if (trust === "builtin") {
      options.serverCertificateHashes = [{ algorithm: "sha-256", value: await builtinCertHash() }];
    } else if (t.ca) options.caCerts = [t.ca];
    let expired = false;
    const stop = () => {
      try {
        endpoint.close();
      } catch {
        // closed
      }
    };
    const timer = setTimeout(() => {
      expired = true;
      stop();
    }, q.handshakeMs);
    opts.signal?.addEventListener("abort", stop, { once: true });
    try {
      if (opts.signal?.aborted) throw new Error("aborted");
      const quic = await Deno.connectQuic(options);
      const { hostname, port: remotePort } = quic.remoteAddr;
      const remote = unmappedAddr<Deno.NetAddr>({ transport: "udp", hostname, port: remotePort });
      return new QuicPathConn(quic, endpoint, remote);
    } catch (err) {
      stop();
      if (opts.signal?.aborted) throw new HandshakeError(`quic handshake with ${addr} aborted`, { cause: err });
      if (expired) {
        throw new TimeoutError(`quic handshake with ${addr} timed out after ${q.handshakeMs} ms`, { cause: err });
      }
      throw new HandshakeError(`quic handshake with ${addr} failed: ${errorMessage(err)}`, { cause: err });
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", stop);
    }
  }

  /** An endpoint on an ephemeral port of the node's address family (dual-stack unless the host is IPv4). */
  #endpoint(addr: string, host: string): Deno.QuicEndpoint {
    const v4 = parseIPv4(host) !== null;
    try {
      try {
        return new Deno.QuicEndpoint({ hostname: v4 ? "0.0.0.0" : "::", port: 0 });
      } catch (err) {
        if (v4 || isIP(host) || !isNoIPv6Error(err)) throw err;
        return new Deno.QuicEndpoint({ hostname: "0.0.0.0", port: 0 });
      }
    } catch (err) {
      throw new DialError(addr, `dial quic ${addr}: cannot bind a UDP socket: ${errorMessage(err)}`, { cause: err });
    }
  }

  /**
   * Makes the connection `dial` opened the chain's session to the node.
   * @throws {DialError} when `conn` is not one `dial` opened: the node is not the first of its chain
   */
  multiplex(conn: Conn, addr: string): Promise<DialerSession> {
    if (!(conn instanceof QuicPathConn)) {
      return Promise.reject(
        new DialError(
          addr,
          `quic node ${addr} must be the first node of its chain: Deno's QUIC sends its own UDP datagrams and cannot ` +
            `run over the conn that earlier hops opened (${addrString(conn.remoteAddr)})`,
        ),
      );
    }
    const quic = conn.take();
    return Promise.resolve(
      new QuicSession(quic, {
        endpoint: conn.endpoint,
        remoteAddr: conn.remoteAddr,
        localAddr: conn.localAddr,
        idleMs: this.#quic!.maxIdleMs,
      }),
    );
  }
}
