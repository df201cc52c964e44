/**
 * The SOCKS4/4a client (`socks4`, `socks4a` connectors): one CONNECT request, one 8-byte reply
 * (docs/wire.md, "SOCKS4 and SOCKS4a").
 * @module
 */
import { systemLookup } from "../../core/routing/system_lookup.ts";
import { HandshakeReader } from "../../core/bufio.ts";
import { type Conn, type Network, writeFull } from "../../core/conn.ts";
import { AuthError, DialError, errorMessage, HandshakeError } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { ClientPluginOptions, Connector, DialOptions } from "../../core/contracts.ts";
import {
  boundedHandshake,
  hexByte,
  parseConnectorMetadata,
  parseTarget,
  serverName,
  socks4ReplyText,
  type SocksConnectorMetadata,
} from "../socks5/connector_metadata.ts";
import { parseIPv4 } from "../../core/ip.ts";
import type { SocksAddr } from "../socks5/wire.ts";
import { encodeSocks4Request, readSocks4Reply, Socks4Cmd, Socks4Reply } from "./wire.ts";

/** What a SOCKS4 connector does with host names. */
export type Socks4Variant = "socks4" | "socks4a";

/**
 * SOCKS4/4a connector. The USERID is the configured username (empty without auth; the password is not sent).
 * IPv4 targets always go as SOCKS4. Host names go as SOCKS4a (DSTIP 0.0.0.1, the server resolves) for `socks4a`;
 * `socks4`, or `disable4a=true`, resolves them locally to IPv4 first, as curl's `--socks4` does. IPv6 targets and
 * UDP cannot be carried. A failed connect closes the conn it was given.
 * @example const c = new Socks4Connector({ logger }, "socks4a"); await c.init(md); conn = await c.connect(conn, "tcp", "example.com:80");
 */
export class Socks4Connector implements Connector {
  readonly #opts: ClientPluginOptions;
  readonly #variant: Socks4Variant;
  #md!: SocksConnectorMetadata;

  constructor(opts: ClientPluginOptions, variant: Socks4Variant = "socks4") {
    this.#opts = opts;
    this.#variant = variant;
  }

  init(md: Metadata): Promise<void> {
    this.#md = parseConnectorMetadata(md);
    return Promise.resolve();
  }

  /**
   * Asks the server to connect to `addr`.
   * @returns the same conn (a PrefixConn when the server sent data right behind the reply)
   * @throws {AuthError} on reply 0x5D; {@link DialError} naming `addr` and the code on 0x5B/0x5C, for IPv6 or
   *   unresolvable targets and for `udp`; {@link HandshakeError} on a malformed reply; {@link TimeoutError}
   */
  async connect(conn: Conn, network: Network, addr: string, opts?: DialOptions): Promise<Conn> {
    const log = opts?.logger ?? this.#opts.logger;
    const server = serverName(conn);
    return await boundedHandshake(conn, this.#md.connectTimeoutMs, opts?.signal, async () => {
      if (network !== "tcp") throw new DialError(addr, `SOCKS4 cannot carry ${network} (to ${addr})`);
      const target = await this.#target(parseTarget(addr), addr);
      const userid = this.#opts.auth?.username ?? "";
      let req: Uint8Array;
      try {
        req = encodeSocks4Request({ cmd: Socks4Cmd.Connect, host: target.host, port: target.port, userid });
      } catch (err) {
        throw new DialError(addr, `SOCKS4 request for ${addr}: ${errorMessage(err)}`, { cause: err });
      }
      await writeFull(conn, req);
      const r = new HandshakeReader(conn, 64);
      const reply = await readSocks4Reply(r);
      if (reply.version !== 0 && reply.version !== 4) {
        throw new HandshakeError(`SOCKS4 server ${server} sent a reply with version ${hexByte(reply.version)}`);
      }
      if (reply.code === Socks4Reply.AuthFailed) {
        throw new AuthError(`SOCKS4 server ${server} refused user id "${userid}": ${socks4ReplyText(reply.code)}`);
      }
      if (reply.code === Socks4Reply.Failed || reply.code === Socks4Reply.Blocked) {
        throw new DialError(addr, `SOCKS4 server ${server} refused CONNECT to ${addr}: ${socks4ReplyText(reply.code)}`);
      }
      if (reply.code !== Socks4Reply.Granted) {
        throw new HandshakeError(`SOCKS4 server ${server} sent unknown reply code ${hexByte(reply.code)}`);
      }
      log.debug(`socks4 ${server} > ${addr}: granted`);
      return r.conn();
    });
  }

  /** IPv4 literals as they are; names as SOCKS4a or resolved locally; IPv6 refused. */
  async #target(t: SocksAddr, addr: string): Promise<SocksAddr> {
    if (parseIPv4(t.host)) return t;
    if (t.host.includes(":")) throw new DialError(addr, `SOCKS4 cannot carry the IPv6 target ${addr}`);
    if (this.#variant === "socks4a" && !this.#md.disable4a) return t;
    try {
      const address = (await systemLookup(t.host, 4))?.[0];
      if (!address) throw new Error("this process may not resolve names (Deno's --allow-net lists names only)");
      return { host: address, port: t.port };
    } catch (err) {
      throw new DialError(addr, `SOCKS4 cannot resolve ${t.host} to IPv4: ${errorMessage(err)}`, { cause: err });
    }
  }
}
