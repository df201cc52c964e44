/**
 * TLS over any {@link Conn} for GOST's SOCKS5 methods 0x80/0x82 (docs/wire.md, "SOCKS5 TLS methods"), client side
 * (connector) and server side (handler): the TLS handshake runs on the conn that already carried the greeting. `Deno.startTls` only takes a `Deno.TcpConn`, and the
 * conn may be a PrefixConn or a stream through earlier hops, so this uses `node:tls` over the conn through the `tls`
 * transport's bridge. Not on the hot path of plain SOCKS: only conns whose server picked a TLS method go through it.
 * @module
 */
import { closeQuietly, type Conn } from "../../core/conn.ts";
import { ConfigError, errorMessage, HandshakeError, TimeoutError } from "../../core/errors.ts";
import type { ClientTlsOptions } from "../../core/contracts.ts";
import { isIP } from "../../core/ip.ts";
import type { Metadata } from "../../core/metadata.ts";
import { nodeTlsClient, nodeTlsServer } from "../../listeners/tls/handshake.ts";
import { DEFAULT_HANDSHAKE_TIMEOUT_MS, loadServerTls, type ServerTlsMaterial } from "../../listeners/tls/options.ts";

/** TLS settings resolved once in `init()` (files read). */
export interface TlsClientConfig {
  /** Verify the server certificate (GOST skips verification unless `secure`). */
  rejectUnauthorized: boolean;
  /** SNI and verified name; never an IP literal. */
  servername?: string;
  ca?: string;
  cert?: string;
  key?: string;
}

/**
 * Reads the files of a node's TLS options.
 * @throws {ConfigError} naming the file when it cannot be read
 */
export async function loadTlsClientConfig(o: ClientTlsOptions | undefined): Promise<TlsClientConfig> {
  const read = async (key: string, path: string | undefined) => {
    if (!path) return undefined;
    try {
      return await Deno.readTextFile(path);
    } catch (err) {
      throw new ConfigError(`Cannot read tls ${key} "${path}": ${errorMessage(err)}`, { cause: err });
    }
  };
  const name = o?.serverName;
  return {
    rejectUnauthorized: o?.secure ?? false,
    servername: name && !isIP(name) ? name : undefined,
    ca: await read("caFile", o?.caFile),
    cert: await read("certFile", o?.certFile),
    key: await read("keyFile", o?.keyFile),
  };
}

/**
 * Runs a TLS client handshake over `conn` and returns the encrypted conn. The bridge is the `tls` transport's
 * (`listeners/tls/node_conn.ts`): backpressure below TLS, the TLSSocket never paused. No deadline of its own: the
 * connector's `connectTimeout` bounds the whole negotiation.
 * @throws {HandshakeError} when the handshake fails (the raw conn is closed)
 */
export async function startTls(conn: Conn, cfg: TlsClientConfig, server: string): Promise<Conn> {
  try {
    return await nodeTlsClient(conn, {
      rejectUnauthorized: cfg.rejectUnauthorized,
      servername: cfg.servername,
      ca: cfg.ca,
      cert: cfg.cert,
      key: cfg.key,
    }, 0);
  } catch (err) {
    closeQuietly(conn);
    throw new HandshakeError(`TLS handshake with ${server} failed: ${errorMessage(err)}`, { cause: err });
  }
}

/** Handler metadata keys that name a certificate (the `tls` listener's keys, docs/wire.md "SOCKS5 TLS methods"). */
const SERVER_CERT_KEYS = ["certFile", "cert", "tls.certFile", "keyFile", "key", "tls.keyFile", "caFile", "ca"];

/**
 * The SOCKS5 server's certificate for 0x80/0x82, loaded once: `certFile`/`keyFile` (and `caFile` for mTLS) of the
 * handler's metadata, else `cert.pem` + `key.pem` in the working directory, else the process-wide self-signed one.
 * Files named in metadata are read by {@link ServerTlsSource.init} so that a bad path fails the service at start;
 * the self-signed certificate is made at the first TLS-method client, not at startup.
 */
export class ServerTlsSource {
  readonly #md: Metadata;
  #material: Promise<ServerTlsMaterial> | null = null;

  constructor(md: Metadata) {
    this.#md = md;
  }

  /**
   * Loads named files now.
   * @throws {ConfigError} when a named file cannot be read or only one of certFile/keyFile is set
   */
  async init(): Promise<void> {
    if (this.#md.string(SERVER_CERT_KEYS) !== "") await this.material();
  }

  /** The certificate, key and client CA (memoized; a failure is retried next time). */
  material(): Promise<ServerTlsMaterial> {
    this.#material ??= loadServerTls(undefined, this.#md).catch((err) => {
      this.#material = null;
      throw err;
    });
    return this.#material;
  }
}

/**
 * Runs a TLS server handshake over `conn` (the conn behind the method reply) and returns the encrypted conn. Bounded
 * by `timeoutMs`, or GOST's TLS handshake deadline when 0 (the handler's `readTimeout` also bounds it).
 * @throws {HandshakeError} when the handshake fails or times out (the raw conn is closed)
 */
export async function acceptTls(conn: Conn, source: ServerTlsSource, timeoutMs: number): Promise<Conn> {
  const m = await source.material();
  try {
    return await nodeTlsServer(conn, {
      cert: m.cert,
      key: m.key,
      ca: m.ca,
      requestCert: m.ca !== undefined,
      rejectUnauthorized: m.ca !== undefined,
      // the handler's tls.minVersion/maxVersion/alpn, as the tls listener applies them (listeners/tls/protocol.ts)
      ...(m.protocol.minVersion ? { minVersion: m.protocol.minVersion } : {}),
      ...(m.protocol.maxVersion ? { maxVersion: m.protocol.maxVersion } : {}),
      ...(m.protocol.alpn.length ? { ALPNProtocols: m.protocol.alpn } : {}),
    }, timeoutMs > 0 ? timeoutMs : DEFAULT_HANDSHAKE_TIMEOUT_MS);
  } catch (err) {
    closeQuietly(conn);
    if (err instanceof HandshakeError || err instanceof TimeoutError) throw err;
    throw new HandshakeError(`SOCKS5 TLS method handshake failed: ${errorMessage(err)}`, { cause: err });
  }
}
