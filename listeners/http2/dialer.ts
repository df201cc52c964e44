/**
 * The `http2` dialer (GOST's x/dialer/http2): HTTP/2 over TLS (ALPN `h2`) to an HTTP/2 proxy. The chain keeps one
 * session per node (listeners/h2/client.ts); every dial through the node hands the node's `http2` connector that
 * session ({@link H2SessionConn}), on which it opens one `CONNECT` stream for the target — the target, not the
 * node, is the stream's `:authority`, so the connector and not the dialer sends the request.
 * @module
 */
import type { Conn } from "../../core/conn.ts";
import type { ClientPluginOptions } from "../../core/contracts.ts";
import type { Metadata } from "../../core/metadata.ts";
import { DEFAULT_HANDSHAKE_TIMEOUT_MS } from "../tls/options.ts";
import { H2ClientDialer } from "../h2/client.ts";
import { H2_KEEPALIVE, H2_KEEPALIVE_KEYS } from "../h2/dialer.ts";
import { parseKeepalive, transportMetadata } from "../h2/options.ts";
import type { H2Session } from "../h2/session.ts";
import { H2SessionConn } from "./session_conn.ts";

/** HTTP/2 proxy client transport. */
export class Http2Dialer extends H2ClientDialer {
  constructor(opts: ClientPluginOptions) {
    super(opts, "http2");
  }

  /**
   * Reads `handshakeTimeout` and the PING keep-alive keys (listeners/http2/mod.ts), then the TCP/TLS keys.
   * @throws {ConfigError} on a bad value
   */
  async init(md: Metadata): Promise<void> {
    const keepalive = parseKeepalive(md, H2_KEEPALIVE_KEYS, H2_KEEPALIVE);
    const handshakeMs = md.duration("handshakeTimeout", DEFAULT_HANDSHAKE_TIMEOUT_MS);
    await this.initTransport(transportMetadata(md, "dialer http2"), { keepalive, handshakeMs }, true);
  }

  /** The session itself, for the connector to open its stream on. */
  protected openStream(session: H2Session, addr: string): Promise<Conn> {
    return Promise.resolve(new H2SessionConn(session, addr));
  }
}
