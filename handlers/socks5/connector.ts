/**
 * The SOCKS5 client (`socks5`, `socks` connectors): greeting, method (GOST's TLS methods included), RFC 1929 auth,
 * then CONNECT, UDP ASSOCIATE or GOST's UDP-tun (docs/wire.md, "SOCKS5" and its subsections; RFC 1928, RFC 1929).
 * @module
 */
import { HandshakeReader } from "../../core/bufio.ts";
import { closeQuietly, type Conn, type Network, writeFull } from "../../core/conn.ts";
import { AuthError, DialError, errorMessage, HandshakeError } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { ClientPluginOptions, Connector, DialOptions, Listener, PacketConn } from "../../core/contracts.ts";
import { PacketTargetConn } from "../../core/udp.ts";
import { socks5Bind } from "./bind_connector.ts";
import {
  boundedHandshake,
  hexByte,
  parseConnectorMetadata,
  parseTarget,
  serverName,
  socks5ReplyText,
  type SocksConnectorMetadata,
} from "./connector_metadata.ts";
import { loadTlsClientConfig, startTls, type TlsClientConfig } from "./tls_method.ts";
import { openAssociation, relayAddress } from "./udp_connector.ts";
import { UdpTunPacketConn } from "./udptun_connector.ts";
import {
  Cmd,
  encodeGreeting,
  encodeRequest,
  encodeUserPassRequest,
  Method,
  readMethodReply,
  readReply,
  readUserPassReply,
  Rep,
  type Socks5Message,
  type SocksAddr,
} from "./wire.ts";

/** A negotiated session: the conn to speak on (TLS for 0x80/0x82) and its reader. */
interface Session {
  conn: Conn;
  r: HandshakeReader;
  method: number;
}

const commandNames: Record<number, string> = {
  [Cmd.Connect]: "CONNECT",
  [Cmd.UdpAssociate]: "UDP ASSOCIATE",
  [Cmd.UdpTun]: "UDP-tun (0xF3)",
};

/**
 * SOCKS5 connector. Offers, in GOST's order, 0x00; 0x02 with credentials; 0x80 unless `notls`; 0x82 with
 * credentials unless `notls`; and accepts whichever of 00/02/80/82 the server picks, even unoffered (old GOST
 * servers pick unoffered methods; 0x02/0x82 without credentials send an empty username and password). TLS skips
 * certificate verification unless the node's `tls.secure` is set. UDP uses standard ASSOCIATE (`relay=udp`, the
 * default) or GOST's UDP-tun (`relay=tcp`); either carries packets for many targets on one association
 * (`connectPacket`: UDP-tun at any hop, ASSOCIATE from the first only). A failed connect closes the conn it was given.
 * @example const c = new Socks5Connector({ logger, auth }); await c.init(md); conn = await c.connect(conn, "tcp", "example.com:443");
 */
export class Socks5Connector implements Connector {
  readonly #opts: ClientPluginOptions;
  #md!: SocksConnectorMetadata;
  #tls!: TlsClientConfig;
  #methods!: number[];

  constructor(opts: ClientPluginOptions) {
    this.#opts = opts;
  }

  /** @throws {ConfigError} on a bad metadata value or an unreadable TLS file */
  async init(md: Metadata): Promise<void> {
    this.#md = parseConnectorMetadata(md);
    this.#tls = await loadTlsClientConfig(this.#opts.tls);
    const creds = this.#opts.auth !== undefined;
    this.#methods = [Method.NoAuth];
    if (creds) this.#methods.push(Method.UserPass);
    if (!this.#md.noTls) this.#methods.push(Method.Tls);
    if (creds && !this.#md.noTls) this.#methods.push(Method.TlsAuth);
  }

  /**
   * Asks the server to connect to `addr`: a byte stream for `tcp`, a datagram conn for `udp`.
   * @returns for `tcp` the same conn (inside TLS for 0x80/0x82, a PrefixConn when data came behind the reply)
   * @throws {AuthError} when the server refuses the credentials or every offered method;
   *   {@link DialError} naming `addr` and the REP code when the server refuses the request;
   *   {@link HandshakeError} on a malformed answer; {@link TimeoutError} after `connectTimeout`
   */
  async connect(conn: Conn, network: Network, addr: string, opts?: DialOptions): Promise<Conn> {
    if (network !== "tcp") {
      let target: SocksAddr;
      try {
        target = parseTarget(addr);
      } catch (err) {
        closeQuietly(conn);
        throw err;
      }
      return new PacketTargetConn(await this.#associate(conn, addr, opts), target);
    }
    const { s } = await this.#handshake(conn, Cmd.Connect, addr, opts);
    return s.r.conn();
  }

  /** UDP-tun (`relay=tcp`) carries packets at any hop; standard ASSOCIATE only from the first (datagrams go direct). */
  canConnectPacket(firstHop: boolean): boolean {
    return firstHop || this.#md.relay === "tcp";
  }

  /**
   * Opens one UDP association for any number of targets: UDP-tun on the stream (`relay=tcp`) or standard ASSOCIATE.
   * @throws as {@link Socks5Connector.connect}
   */
  connectPacket(conn: Conn, opts?: DialOptions): Promise<PacketConn> {
    return this.#associate(conn, "udp association", opts);
  }

  /** The association for `what` (a target, or `udp association`), by the configured relay mode. */
  async #associate(conn: Conn, what: string, opts?: DialOptions): Promise<PacketConn> {
    const cmd = this.#md.relay === "tcp" ? Cmd.UdpTun : Cmd.UdpAssociate;
    const { reply, s } = await this.#handshake(conn, cmd, what, opts);
    if (cmd === Cmd.UdpTun) return new UdpTunPacketConn(s.r.conn());
    const ctl = s.r.conn();
    try {
      const relay = await relayAddress(reply.addr, conn, what);
      return openAssociation(ctl, relay, what, opts?.logger ?? this.#opts.logger);
    } catch (err) {
      closeQuietly(ctl);
      throw err;
    }
  }

  /** Method negotiation and one request, bounded by `connectTimeout`; a failure closes `conn`. */
  async #handshake(conn: Conn, cmd: number, addr: string, opts?: DialOptions) {
    const log = opts?.logger ?? this.#opts.logger;
    const server = serverName(conn);
    const { reply, s } = await boundedHandshake(conn, this.#md.connectTimeoutMs, opts?.signal, async () => {
      let s: Session | undefined;
      try {
        const target = cmd === Cmd.Connect ? parseTarget(addr) : { host: "", port: 0 };
        s = await this.#negotiate(conn, server);
        const reply = await this.#request(s, cmd, target.host, target.port, addr, server);
        return { reply, s };
      } catch (err) {
        closeQuietly(s?.conn);
        throw err;
      }
    });
    log.debug(`socks5 ${server} > ${addr}: ${commandNames[cmd]} granted (method ${hexByte(s.method)})`);
    return { reply, s };
  }

  /**
   * Asks the server to listen on `addr` for remote port forwarding: MBIND + smux for `tcp`, UDP-tun bind mode for
   * `udp` (bind_connector.ts). A failed bind closes the conn it was given.
   */
  bind(conn: Conn, network: Network, addr: string, opts?: DialOptions): Promise<Listener> {
    const ctx = {
      negotiate: (c: Conn, server: string) => this.#negotiate(c, server),
      connectTimeoutMs: this.#md.connectTimeoutMs,
      logger: this.#opts.logger,
    };
    return socks5Bind(ctx, conn, network, addr, opts);
  }

  /** Greeting, method reply, TLS for 0x80/0x82, RFC 1929 for 0x02/0x82. */
  async #negotiate(raw: Conn, server: string): Promise<Session> {
    await writeFull(raw, encodeGreeting(this.#methods));
    let r = new HandshakeReader(raw, 64);
    const method = await readMethodReply(r);
    let conn = raw;
    switch (method) {
      case Method.NoAuth:
      case Method.UserPass:
        break;
      case Method.Tls:
      case Method.TlsAuth:
        if (r.buffered) throw new HandshakeError(`SOCKS5 server ${server} sent data before the TLS handshake`);
        conn = await startTls(raw, this.#tls, server);
        r = new HandshakeReader(conn, 64);
        break;
      case Method.NoAcceptable:
        throw new AuthError(
          `SOCKS5 server ${server} accepts none of the methods [${this.#methods.map(hexByte).join(", ")}]` +
            (this.#opts.auth ? "" : " (it may require a username and password)"),
        );
      default:
        throw new HandshakeError(`SOCKS5 server ${server} chose unknown method ${hexByte(method)}`);
    }
    const session = { conn, r, method };
    if (method === Method.UserPass || method === Method.TlsAuth) {
      try {
        await this.#authenticate(session, server);
      } catch (err) {
        closeQuietly(conn);
        throw err;
      }
    }
    return session;
  }

  async #authenticate(s: Session, server: string): Promise<void> {
    const username = this.#opts.auth?.username ?? "";
    let req: Uint8Array;
    try {
      req = encodeUserPassRequest(username, this.#opts.auth?.password ?? "");
    } catch (err) {
      throw new AuthError(`SOCKS5 credentials for ${server}: ${errorMessage(err)}`, { cause: err });
    }
    await writeFull(s.conn, req);
    const status = await readUserPassReply(s.r);
    if (status !== 0) {
      throw new AuthError(`SOCKS5 server ${server} refused user "${username}" (status ${hexByte(status)})`);
    }
  }

  /** Sends one request and reads its reply. @throws {DialError} when REP is not 0 */
  async #request(s: Session, cmd: number, host: string, port: number, addr: string, server: string) {
    let req: Uint8Array;
    if (cmd === Cmd.Connect) {
      try {
        req = encodeRequest(cmd, host, port);
      } catch (err) {
        throw new DialError(addr, `SOCKS5 request for ${addr}: ${errorMessage(err)}`, { cause: err });
      }
    } else {
      // ASSOCIATE: the client's address is not known behind NAT, so all zeros (RFC 1928); UDP-tun: relay mode
      const v6 = cmd === Cmd.UdpAssociate && (s.conn.localAddr as Partial<Deno.NetAddr>).hostname?.includes(":");
      req = encodeRequest(cmd, v6 ? "::" : "0.0.0.0", 0);
    }
    await writeFull(s.conn, req);
    const reply: Socks5Message = await readReply(s.r);
    if (reply.code !== Rep.Succeeded) {
      const hint = cmd === Cmd.UdpTun && reply.code === Rep.CmdUnsupported ? " (set relay=udp for standard UDP)" : "";
      throw new DialError(
        addr,
        `SOCKS5 server ${server} refused ${commandNames[cmd]} to ${addr}: ${socks5ReplyText(reply.code)}${hint}`,
      );
    }
    return reply;
  }
}
