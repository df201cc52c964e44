/**
 * TLS client over any {@link Conn}, for GOST's SOCKS5 methods 0x80/0x82 (docs/wire.md, "SOCKS5 TLS methods"): the TLS
 * handshake runs on the conn that already carried the greeting. `Deno.startTls` only takes a `Deno.TcpConn`, and the
 * conn may be a PrefixConn or a stream through earlier hops, so this uses `node:tls` over the conn through the `tls`
 * transport's bridge. Not on the hot path of plain SOCKS: only conns whose server picked a TLS method go through it.
 * @module
 */
import { closeQuietly, type Conn } from "../../core/conn.ts";
import { ConfigError, errorMessage, HandshakeError } from "../../core/errors.ts";
import type { ClientTlsOptions } from "../../core/contracts.ts";
import { isIP } from "../../core/ip.ts";
import { nodeTlsClient } from "../../listeners/tls/handshake.ts";

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
