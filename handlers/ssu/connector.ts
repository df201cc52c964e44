/**
 * The Shadowsocks UDP client (`ssu` connector). Over a datagram conn (the node is the route's first, its dialer
 * `udp`): one packet per datagram. Over a stream (a node after another hop; GOST's UDP over TCP): a Shadowsocks TCP
 * session whose first chunk is the target address and whose data are UDP-tun frames, each naming its own target
 * (docs/wire.md, "Shadowsocks").
 * @module
 */
import { type Conn, type Network, splitHostPort } from "../../core/conn.ts";
import { DialError } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { ClientPluginOptions, Connector, DialOptions, PacketConn } from "../../core/contracts.ts";
import { PacketTargetConn } from "../../core/udp.ts";
import { boundedHandshake } from "../socks5/connector_metadata.ts";
import { UdpTunPacketConn } from "../socks5/udptun_connector.ts";
import { aeadKeys, type StreamKeys } from "../ss/cipher.ts";
import { targetAddr } from "../ss/connector.ts";
import { parseSsConnectorMetadata, type SsConnectorMetadata, ssCredentials } from "../ss/metadata.ts";
import { SsStreamConn } from "../ss/stream.ts";
import { SsUdpPacketConn } from "./packet_conn.ts";
import type { Udp2022Keys } from "./ss2022.ts";

/**
 * Shadowsocks UDP connector for the AEAD and 2022 methods (the 2022 ones on a first hop only). The method and password are the node's user info.
 * @example const c = new SsuConnector({ logger, auth: { username: "aes-128-gcm", password: "pw" } });
 */
export class SsuConnector implements Connector {
  readonly #opts: ClientPluginOptions;
  #md!: SsConnectorMetadata;
  #keys!: StreamKeys;
  #keys2022: Udp2022Keys | null = null;
  #conn2022: typeof import("./ss2022_conn.ts") | null = null;

  constructor(opts: ClientPluginOptions) {
    this.#opts = opts;
  }

  async init(md: Metadata): Promise<void> {
    this.#md = parseSsConnectorMetadata(md, "connector ssu", true);
    const { spec, password } = ssCredentials(this.#opts.auth, "node");
    if (spec.sip022) {
      const [{ Udp2022Keys }, conn2022] = await Promise.all([import("./ss2022.ts"), import("./ss2022_conn.ts")]);
      this.#keys2022 = new Udp2022Keys(spec, password);
      this.#conn2022 = conn2022;
      return;
    }
    this.#keys = aeadKeys(spec, password);
  }

  /**
   * A datagram conn to `addr` through the server.
   * @throws {DialError} for `tcp` (the ss connector carries it) and for an invalid target
   */
  async connect(conn: Conn, network: Network, addr: string, opts?: DialOptions): Promise<Conn> {
    if (network !== "udp") throw new DialError(addr, `The ssu connector carries UDP only (use ss for TCP to ${addr})`);
    targetAddr(addr);
    const { host, port } = splitHostPort(addr);
    return new PacketTargetConn(await this.#open(conn, addr, opts), { host, port });
  }

  /** Both ways work at any place in the route: datagrams on a first hop, UDP over TCP after one. */
  canConnectPacket(_firstHop: boolean): boolean {
    return true;
  }

  /** One association for any number of targets. */
  connectPacket(conn: Conn, opts?: DialOptions): Promise<PacketConn> {
    return this.#open(conn, "0.0.0.0:0", opts);
  }

  async #open(conn: Conn, addr: string, opts?: DialOptions): Promise<PacketConn> {
    if (this.#keys2022) {
      if (!conn.datagram) {
        throw new DialError(
          addr,
          `Shadowsocks UDP over a stream (ssu after another hop) with ${this.#keys2022.spec.name} is not implemented: use an AEAD method there`,
        );
      }
      return new this.#conn2022!.Ss2022UdpPacketConn(conn, this.#keys2022, { server: false });
    }
    if (conn.datagram) return new SsUdpPacketConn(conn, this.#keys);
    const header = targetAddr(addr);
    return await boundedHandshake(conn, this.#md.connectTimeoutMs, opts?.signal, async () => {
      const ss = new SsStreamConn(conn, this.#keys, { header });
      await ss.flush();
      return new UdpTunPacketConn(ss);
    });
  }
}
