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
import { Metadata } from "../../core/metadata.ts";
import type { ConnContext, Handler, HandlerOptions } from "../../core/contracts.ts";
import { classify } from "../forward/sniff.ts";
import { RECORD_HEADER_BYTES } from "./clienthello.ts";
import { serveHttp } from "./http.ts";
import { parseSniMetadata, type SniMetadata } from "./metadata.ts";
import { serveTls } from "./tls.ts";

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
      const kind = classify(first); // GOST's sniffing rules, as the forward handler's
      const replay = new PrefixConn(reader.conn(), first);
      if (kind === "tls") return await serveTls(replay, ctx, this.#opts, this.#md);
      if (kind === "http") return await serveHttp(replay, ctx, this.#opts, this.#md);
      throw new HandshakeError(
        `sni: refused: neither a TLS ClientHello nor an HTTP request (${kind || "first bytes"} ${hex(first)})`,
      );
    } finally {
      closeQuietly(conn);
    }
  }
}

function hex(p: Uint8Array): string {
  return Array.from(p, (b) => b.toString(16).padStart(2, "0")).join(" ");
}
