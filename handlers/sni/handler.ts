/**
 * The `sni` handler (GOST's x/handler/sni): an SNI proxy. It reads the first 5 bytes of a conn within `readTimeout`:
 * a TLS handshake record is a ClientHello, routed to its `server_name` on port 443 (handlers/sni/tls.ts); the start
 * of an HTTP request is served as plain HTTP proxying, each request routed by its `Host` (handlers/sni/http.ts);
 * anything else is refused with a log line. Targets are reached through the router (bypass, hosts, resolver,
 * chain), as every handler's.
 * @module
 */
import { HandshakeReader } from "../../core/bufio.ts";
import { closeQuietly, type Conn, PrefixConn } from "../../core/conn.ts";
import { withDeadline } from "../../core/deadline.ts";
import { ConfigError, HandshakeError, TimeoutError } from "../../core/errors.ts";
import { latin1Decode } from "../../core/http1/head.ts";
import { Metadata } from "../../core/metadata.ts";
import type { ConnContext, Handler, HandlerOptions } from "../../core/contracts.ts";
import { CONTENT_HANDSHAKE, RECORD_HEADER_BYTES } from "./clienthello.ts";
import { serveHttp } from "./http.ts";
import { parseSniMetadata, type SniMetadata } from "./metadata.ts";
import { serveTls } from "./tls.ts";

/** The request methods an HTTP conn may start with (GOST's sniffer: these and the HTTP/2 preface). */
const METHODS = ["GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "HEAD", "CONNECT", "TRACE", "PRI"];

/** What the first 5 bytes of a conn are. */
export function sniff(first: Uint8Array): "tls" | "http" | null {
  const version = (first[1] << 8) | first[2];
  if (first[0] === CONTENT_HANDSHAKE && version >= 0x0300 && version <= 0x0304) return "tls";
  const s = latin1Decode(first);
  return METHODS.some((m) => `${m} `.startsWith(s) || s.startsWith(`${m} `)) ? "http" : null;
}

/** Serves SNI proxy clients. */
export class SniHandler implements Handler {
  readonly #opts: HandlerOptions;
  #md: SniMetadata = parseSniMetadata(new Metadata());

  constructor(opts: HandlerOptions) {
    this.#opts = opts;
  }

  init(md: Metadata): Promise<void> {
    try {
      if (this.#opts.auth) {
        throw new ConfigError(
          "handler sni: authentication is not supported (an SNI proxy has no way to ask for credentials; GOST's " +
            "ignores auth): remove auth/authers, or use the http or socks5 handler",
        );
      }
      this.#md = parseSniMetadata(md);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async handle(conn: Conn, ctx: ConnContext): Promise<void> {
    const reader = new HandshakeReader(conn, 4096);
    try {
      const ms = this.#md.readTimeoutMs;
      const first = await withDeadline(conn, ms, () => reader.readFull(RECORD_HEADER_BYTES)).catch((err) => {
        throw err instanceof TimeoutError
          ? new HandshakeError(`sni: nothing to route by: fewer than 5 bytes within ${ms} ms`, { cause: err })
          : err;
      });
      const kind = sniff(first);
      const replay = new PrefixConn(reader.conn(), first);
      if (kind === "tls") return await serveTls(replay, ctx, this.#opts, this.#md);
      if (kind === "http") return await serveHttp(replay, ctx, this.#opts, this.#md);
      throw new HandshakeError(
        `sni: refused: neither a TLS ClientHello nor an HTTP request (first bytes ${hex(first)})`,
      );
    } finally {
      closeQuietly(conn);
    }
  }
}

function hex(p: Uint8Array): string {
  return Array.from(p, (b) => b.toString(16).padStart(2, "0")).join(" ");
}
