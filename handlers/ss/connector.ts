/**
 * The Shadowsocks TCP client (`ss` connector): a salt and the target address as the first chunk, sent at once, then
 * the stream (docs/wire.md, "Shadowsocks").
 * @module
 */
import { type Conn, type Network, splitHostPort } from "../../core/conn.ts";
import { DialError, errorMessage } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { ClientPluginOptions, Connector, DialOptions } from "../../core/contracts.ts";
import { boundedHandshake } from "../socks5/connector_metadata.ts";
import { encodeAddr } from "../socks5/wire.ts";
import { loadMethod, type SsMethod } from "./method.ts";
import { parseSsConnectorMetadata, type SsConnectorMetadata, ssCredentials } from "./metadata.ts";
import { SsStreamConn } from "./stream.ts";

/**
 * The target address block of `addr` (`host:port`).
 * @throws {DialError} naming it when it is not `host:port` or the host is too long for the address block
 */
export function targetAddr(addr: string): Uint8Array {
  try {
    const { host, port } = splitHostPort(addr);
    if (!host) throw new Error("empty host");
    return encodeAddr(host, port);
  } catch (err) {
    throw new DialError(addr, `Invalid target "${addr}": ${errorMessage(err)}`, { cause: err });
  }
}

/**
 * Shadowsocks TCP connector for the AEAD and 2022 methods. The method and password are the node's user info. The salt and
 * the target go out when `connect` runs (GOST sends them with the first data; a protocol whose server speaks first
 * would wait forever). A server that refuses our key answers nothing and closes: the first read ends.
 * @example const c = new SsConnector({ logger, auth: { username: "chacha20-ietf-poly1305", password: "pw" } });
 */
export class SsConnector implements Connector {
  readonly #opts: ClientPluginOptions;
  #md!: SsConnectorMetadata;
  #method!: SsMethod;

  constructor(opts: ClientPluginOptions) {
    this.#opts = opts;
  }

  async init(md: Metadata): Promise<void> {
    this.#md = parseSsConnectorMetadata(md, "connector ss");
    this.#method = await loadMethod(ssCredentials(this.#opts.auth, "node"));
  }

  /**
   * Opens the stream to `addr` on `conn`.
   * @throws {DialError} for `udp` (the ssu connector carries it) and for an invalid target; {@link TimeoutError}
   */
  async connect(conn: Conn, network: Network, addr: string, opts?: DialOptions): Promise<Conn> {
    if (network !== "tcp") {
      throw new DialError(addr, `The ss connector carries TCP only (use ssu for UDP to ${addr})`);
    }
    const header = targetAddr(addr);
    return await boundedHandshake(conn, this.#md.connectTimeoutMs, opts?.signal, async () => {
      const preamble = this.#method.clientPreamble(header);
      const ss = new SsStreamConn(conn, this.#method.keys, preamble ? { preamble } : { header });
      await ss.flush();
      return ss;
    });
  }
}
