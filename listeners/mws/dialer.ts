/**
 * The `mws` and `mwss` dialers (GOST's x/dialer/mws): a multiplexing dialer. `dial`/`handshake` open the WebSocket to
 * the node as the `ws`/`wss` dialer does; `multiplex` runs an smux client session over it, which the chain keeps and
 * opens a stream on per dial (docs/architecture.md, "Multiplexing dialers"; docs/wire.md, "WebSocket").
 * @module
 */
import type { Conn } from "../../core/conn.ts";
import { ConfigError } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { ClientPluginOptions, Dialer, DialerSession, DialOptions } from "../../core/contracts.ts";
import { type MuxConfig, parseMuxConfig } from "../../core/mux/config.ts";
import { smuxClientSession } from "../mtcp/dialer.ts";
import { TcpDialer } from "../tcp/dialer.ts";
import { TlsDialer } from "../tls/dialer.ts";
import { WsDialer } from "../ws/dialer.ts";

/** WebSocket (over TCP or TLS) + smux client; smux version 1 unless `mux.version` says otherwise, as GOST's mws. */
export class MwsDialer implements Dialer {
  readonly #ws: WsDialer;
  readonly #type: string;
  #config: Partial<MuxConfig> = {};

  /** @param tls true for mwss (TLS under the WebSocket) */
  constructor(opts: ClientPluginOptions, tls: boolean) {
    this.#type = tls ? "mwss" : "mws";
    this.#ws = new WsDialer(opts, tls ? new TlsDialer(opts) : new TcpDialer(opts), this.#type);
  }

  /** Reads the ws keys (listeners/ws/mod.ts) and the `mux.*` keys. @throws {ConfigError} on a bad value */
  async init(md: Metadata): Promise<void> {
    const type = md.string("mux.type");
    if (type && type.toLowerCase() !== "smux") {
      throw new ConfigError(`${this.#type}: "mux.type" = "${type}" is not supported: only "smux" is implemented`);
    }
    await this.#ws.init(md);
    this.#config = parseMuxConfig(md);
  }

  /** Opens the WebSocket to `addr` (the session's conn). */
  dial(addr: string, opts?: DialOptions): Promise<Conn> {
    return this.#ws.dial(addr, opts);
  }

  /** Opens the WebSocket over a conn through earlier hops. */
  handshake(conn: Conn, addr: string, opts?: DialOptions): Promise<Conn> {
    return this.#ws.handshake(conn, addr, opts);
  }

  /** Starts the smux client session over the WebSocket conn (`GET /sessions` names it `mws` or `mwss`). */
  multiplex(conn: Conn): Promise<DialerSession> {
    return Promise.resolve(smuxClientSession(conn, this.#config, 0, this.#type));
  }
}
