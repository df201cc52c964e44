/**
 * The `mtcp` dialer (GOST's x/dialer/mtcp): a multiplexing dialer. `dial` opens the TCP conn to the node (as `tcp`),
 * `multiplex` runs an smux client session over it; the chain keeps that session and opens a stream per dial
 * (docs/architecture.md, "Multiplexing dialers"). No bytes of its own precede smux (docs/wire.md, "mtcp and mtls").
 * @module
 */
import type { Conn } from "../../core/conn.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { ClientPluginOptions, DialerSession } from "../../core/contracts.ts";
import { type MuxConfig, parseMuxConfig } from "../../core/mux/config.ts";
import { MuxSession } from "../../core/mux/session.ts";
import { TcpDialer } from "../tcp/dialer.ts";

/** mtcp's smux default: GOST's mtcp dialer and listener set version 2 when `mux.version` is absent. */
export const MTCP_MUX_DEFAULTS: Partial<MuxConfig> = Object.freeze({ version: 2 });

/** An smux client session over `conn`, as a chain's {@link DialerSession}. */
export function smuxClientSession(conn: Conn, config: Partial<MuxConfig>): DialerSession {
  const s = MuxSession.client(conn, config);
  return {
    open: () => s.openStream(),
    get closed() {
      return s.closed;
    },
    done: s.done,
    close: () => s.close(),
  };
}

/** TCP + smux client. */
export class MtcpDialer extends TcpDialer {
  #config: Partial<MuxConfig> = MTCP_MUX_DEFAULTS;

  constructor(opts: ClientPluginOptions) {
    super(opts);
  }

  /** Reads `dialTimeout` and the `mux.*` keys. */
  override async init(md: Metadata): Promise<void> {
    await super.init(md);
    this.#config = parseMuxConfig(md, MTCP_MUX_DEFAULTS);
  }

  /** Starts the smux client session over `conn` (the TCP conn `dial` opened, or one through earlier hops). */
  multiplex(conn: Conn): Promise<DialerSession> {
    return Promise.resolve(smuxClientSession(conn, this.#config));
  }
}
