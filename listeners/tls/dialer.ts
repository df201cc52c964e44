/**
 * The `tls` dialer (client side of the `tls` transport).
 *
 * - `dial(addr)`: TCP connect (TCP_NODELAY) + TLS handshake.
 * - `handshake(conn, addr)`: TLS over any conn (one that reached the node through earlier chain hops); a chain
 *   calls it only for nodes after the first.
 *
 * Both use `node:tls` over our conn (rustls inside Deno). Not `Deno.connectTls`: it cannot skip verification
 * (GOST's default `secure: false`), cannot send an SNI other than the dialed host, and its conns cannot set
 * TCP_NODELAY (~40 ms stalls when a request goes out in two writes, measured).
 * @module
 */
import { closeQuietly, type Conn, splitHostPort } from "../../core/conn.ts";
import { ConfigError, DialError, errorMessage, HandshakeError, TimeoutError } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { ClientPluginOptions, Dialer, DialOptions } from "../../core/contracts.ts";
import { DEFAULT_DIAL_TIMEOUT_MS, dialTcp } from "../../core/routing/router.ts";
import type { ConnectionOptions, SecureContext } from "node:tls";
import { isIP } from "../../core/ip.ts";
import { nodeTlsClient } from "./handshake.ts";
import { type ClientTlsMaterial, DEFAULT_HANDSHAKE_TIMEOUT_MS, loadClientTls } from "./options.ts";

/** TLS dialer. */
export class TlsDialer implements Dialer {
  readonly #opts: ClientPluginOptions;
  readonly #requireAlpn: string;
  #tls: ClientTlsMaterial = { secure: false, serverName: "", protocol: { alpn: [] } };
  #context: SecureContext | null = null;
  #handshakeMs = DEFAULT_HANDSHAKE_TIMEOUT_MS;
  #dialMs = DEFAULT_DIAL_TIMEOUT_MS;
  #keepAlive = false;

  /**
   * @param requireAlpn an ALPN protocol the transport over TLS needs (`h2`): offered when no ALPN is configured, and a
   *   configured list must include it
   */
  constructor(opts: ClientPluginOptions, requireAlpn = "") {
    this.#opts = opts;
    this.#requireAlpn = requireAlpn;
  }

  /** Reads `handshakeTimeout`, `dialTimeout` and the TLS settings (files are read here, once). */
  async init(md: Metadata): Promise<void> {
    this.#handshakeMs = md.duration("handshakeTimeout", DEFAULT_HANDSHAKE_TIMEOUT_MS);
    this.#dialMs = md.duration(["dialTimeout", "timeout"], DEFAULT_DIAL_TIMEOUT_MS);
    this.#keepAlive = md.bool("keepalive");
    const t = this.#tls = await loadClientTls(this.#opts.tls, md);
    t.protocol.alpn = requiredAlpn(t.protocol.alpn, this.#requireAlpn);
    try {
      const { createSecureContext } = await import("node:tls");
      const { minVersion, maxVersion } = t.protocol;
      this.#context = createSecureContext({ ca: t.ca, cert: t.cert, key: t.key, minVersion, maxVersion });
    } catch (err) {
      throw new ConfigError(`Invalid TLS client certificate, key or CA: ${errorMessage(err)}`, { cause: err });
    }
  }

  /**
   * Connects to `addr` and completes the TLS handshake.
   * @throws {DialError} when TCP fails, {@link HandshakeError} when TLS fails, TimeoutError past `handshakeTimeout`
   */
  async dial(addr: string, opts: DialOptions = {}): Promise<Conn> {
    let host: string, port: number;
    try {
      ({ host, port } = splitHostPort(addr));
    } catch (err) {
      throw new DialError(addr, errorMessage(err), { cause: err });
    }
    return await this.#tlsOver(await this.#dialTcp(addr, host, port, opts), addr, host, opts);
  }

  /**
   * Runs the client TLS handshake over `conn` (closed on failure).
   * @throws {HandshakeError} naming `addr`, or TimeoutError past `handshakeTimeout`
   */
  handshake(conn: Conn, addr: string, opts: DialOptions = {}): Promise<Conn> {
    let host = "";
    try {
      host = splitHostPort(addr).host;
    } catch {
      // not host:port: the server name must come from serverName
    }
    return this.#tlsOver(conn, addr, host, opts);
  }

  async #dialTcp(addr: string, host: string, port: number, opts: DialOptions): Promise<Conn> {
    try {
      const conn = await dialTcp(host, port, this.#dialMs, opts.signal);
      if (this.#keepAlive) (conn as Deno.TcpConn).setKeepAlive(true);
      return conn;
    } catch (err) {
      throw new DialError(addr, `dial tls ${addr}: ${errorMessage(err)}`, { cause: err });
    }
  }

  /** `node:tls` over `conn`: any conn, insecure or verified, any SNI. */
  async #tlsOver(conn: Conn, addr: string, host: string, opts: DialOptions): Promise<Conn> {
    const t = this.#tls;
    const name = t.serverName || host;
    const options: ConnectionOptions = {
      rejectUnauthorized: t.secure,
      // SNI carries host names only (RFC 6066); `host` is the name the certificate is checked against.
      servername: name && !isIP(name) ? name : undefined,
      host: name || undefined,
      secureContext: this.#context ?? undefined,
      ...(t.protocol.alpn.length ? { ALPNProtocols: t.protocol.alpn } : {}),
    };
    const stop = () => closeQuietly(conn);
    opts.signal?.addEventListener("abort", stop, { once: true });
    try {
      if (opts.signal?.aborted) throw new Error("aborted");
      return await nodeTlsClient(conn, options, this.#handshakeMs);
    } catch (err) {
      closeQuietly(conn);
      if (opts.signal?.aborted) throw new HandshakeError(`TLS handshake with ${addr} aborted`, { cause: err });
      throw handshakeError(addr, err, this.#handshakeMs);
    } finally {
      opts.signal?.removeEventListener("abort", stop);
    }
  }
}

/**
 * The ALPN list of a transport that needs protocol `need` over TLS: `[need]` when none is configured; a configured
 * list must include it.
 * @throws {ConfigError} when `alpn` is configured without `need`
 */
export function requiredAlpn(alpn: string[], need: string): string[] {
  if (!need) return alpn;
  if (alpn.length === 0) return [need];
  if (!alpn.includes(need)) {
    throw new ConfigError(`tls.alpn ${JSON.stringify(alpn)} must include "${need}" for this transport`);
  }
  return alpn;
}

function handshakeError(addr: string, err: unknown, ms: number): Error {
  if (err instanceof TimeoutError) {
    return new TimeoutError(`TLS handshake with ${addr} timed out after ${ms} ms`, { cause: err });
  }
  return new HandshakeError(`TLS handshake with ${addr} failed: ${errorMessage(err)}`, { cause: err });
}
