/**
 * The `mtcp` dialer (GOST's x/dialer/mtcp): a multiplexing dialer. `dial` opens the TCP conn to the node (as `tcp`),
 * `multiplex` runs an smux client session over it; the chain keeps that session and opens a stream per dial
 * (docs/architecture.md, "Multiplexing dialers"). No bytes of its own precede smux (docs/wire.md, "mtcp and mtls").
 * @module
 */
import type { Conn } from "../../core/conn.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { ClientPluginOptions, DialerSession } from "../../core/contracts.ts";
import { timeout } from "../../core/deadline.ts";
import { type MuxConfig, parseMuxConfig } from "../../core/mux/config.ts";
import { MuxSession } from "../../core/mux/session.ts";
import { TcpDialer } from "../tcp/dialer.ts";
import { rejectUnsupported } from "./unsupported.ts";

/** mtcp's smux default: GOST's mtcp dialer and listener set version 2 when `mux.version` is absent. */
export const MTCP_MUX_DEFAULTS: Partial<MuxConfig> = Object.freeze({ version: 2 });

/**
 * An smux client session over `conn`, as a chain's {@link DialerSession}.
 * @param openTimeoutMs GOST's `handshakeTimeout`: opening a stream (its SYN written) that takes longer ends the
 *   session, as GOST's deadline on the conn does; 0: only smux's own control timeout
 * @param transport the dialer's type, as the Web API's `GET /sessions` shows it
 */
export function smuxClientSession(
  conn: Conn,
  config: Partial<MuxConfig>,
  openTimeoutMs = 0,
  transport = "smux",
): DialerSession {
  const s = MuxSession.client(conn, config);
  return {
    open: () => timeout(s.openStream(), openTimeoutMs, "opening an smux stream (handshakeTimeout)", () => s.close()),
    get closed() {
      return s.closed;
    },
    done: s.done,
    close: () => s.close(),
    stats: () => s.stats(transport),
  };
}

/** TCP + smux client. */
export class MtcpDialer extends TcpDialer {
  #config: Partial<MuxConfig> = MTCP_MUX_DEFAULTS;
  #openTimeoutMs = 0;

  constructor(opts: ClientPluginOptions) {
    super(opts);
  }

  /**
   * Reads `dialTimeout`, `handshakeTimeout` (bound on opening a stream) and the `mux.*` keys.
   * @throws {ConfigError} on a bad value or an option gost.ts does not implement (see unsupported.ts)
   */
  override async init(md: Metadata): Promise<void> {
    rejectUnsupported(md, "mtcp", "dialer");
    await super.init(md);
    this.#config = parseMuxConfig(md, MTCP_MUX_DEFAULTS);
    this.#openTimeoutMs = md.duration("handshakeTimeout", 0);
  }

  /** Starts the smux client session over `conn` (the TCP conn `dial` opened, or one through earlier hops). */
  multiplex(conn: Conn): Promise<DialerSession> {
    return Promise.resolve(smuxClientSession(conn, this.#config, this.#openTimeoutMs, "mtcp"));
  }
}
