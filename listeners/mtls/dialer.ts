/**
 * The `mtls` dialer (GOST's x/dialer/mtls): a multiplexing dialer. `dial` opens TCP + TLS to the node and
 * `handshake` runs TLS over a conn through earlier hops (as `tls`); `multiplex` runs an smux client session over the
 * TLS conn, which the chain keeps and opens a stream on per dial (docs/architecture.md, "Multiplexing dialers").
 * @module
 */
import type { Conn } from "../../core/conn.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { ClientPluginOptions, DialerSession } from "../../core/contracts.ts";
import { type MuxConfig, parseMuxConfig } from "../../core/mux/config.ts";
import { smuxClientSession } from "../mtcp/dialer.ts";
import { rejectUnsupported } from "../mtcp/unsupported.ts";
import { TlsDialer } from "../tls/dialer.ts";

/** TLS + smux client (smux version 1 unless `mux.version` says otherwise, as GOST's mtls). */
export class MtlsDialer extends TlsDialer {
  #config: Partial<MuxConfig> = {};
  #openTimeoutMs = 0;

  constructor(opts: ClientPluginOptions) {
    super(opts);
  }

  /**
   * Reads the `tls` dialer's keys (`handshakeTimeout` bounds the TLS handshake, and here also opening a stream)
   * and the `mux.*` keys.
   * @throws {ConfigError} on a bad value or an option gost.ts does not implement (see listeners/mtcp/unsupported.ts)
   */
  override async init(md: Metadata): Promise<void> {
    rejectUnsupported(md, "mtls", "dialer");
    await super.init(md);
    this.#config = parseMuxConfig(md);
    this.#openTimeoutMs = md.duration("handshakeTimeout", 0);
  }

  /** Starts the smux client session over the TLS conn `dial` or `handshake` opened. */
  multiplex(conn: Conn): Promise<DialerSession> {
    return Promise.resolve(smuxClientSession(conn, this.#config, this.#openTimeoutMs, "mtls"));
  }
}
