/**
 * The SOCKS5 server (`socks5`, `socks`): greeting, method selection, RFC 1929 auth, then CONNECT, BIND or UDP
 * ASSOCIATE. The whole handshake up to the request is bounded by `readTimeout`.
 * @module
 */
import { HandshakeReader } from "../../core/bufio.ts";
import { closeQuietly, type Conn, joinHostPort, writeFull } from "../../core/conn.ts";
import { withDeadline } from "../../core/deadline.ts";
import { AuthError, BadVersionError, HandshakeError } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { ConnContext, Handler, HandlerOptions } from "../../core/contracts.ts";
import { parseSocksMetadata, type SocksMetadata } from "./metadata.ts";
import {
  AddrTypeError,
  Cmd,
  encodeMethodReply,
  encodeUserPassReply,
  Method,
  readGreeting,
  readRequest,
  readUserPassRequest,
  Rep,
  type Socks5Message,
} from "./wire.ts";
import { bind } from "./bind.ts";
import { type CommandScope, sendError } from "./command.ts";
import { connect } from "./connect.ts";
import { muxBind } from "./mbind.ts";
import { udpAssociate } from "./udp.ts";
import { udpTun } from "./udptun.ts";

/**
 * SOCKS5 handler. Method selection: with an authenticator 0x02 if offered, else 0xFF; without one 0x00 if
 * offered, else 0xFF. GOST's TLS methods 0x80/0x82 are not selected yet (as if `notls` were always set).
 * @example const h = new Socks5Handler({ service, logger, router, auth }); await h.init(md); await h.handle(conn, ctx);
 */
export class Socks5Handler implements Handler {
  readonly #opts: HandlerOptions;
  #md!: SocksMetadata;

  constructor(opts: HandlerOptions) {
    this.#opts = opts;
  }

  init(md: Metadata): Promise<void> {
    this.#md = parseSocksMetadata(md);
    return Promise.resolve();
  }

  /**
   * Serves one client on any conn (a sniffing handler may pass a PrefixConn); closes it before settling. A promise
   * chain, not an async function: no suspended frame is kept for the life of a relay (idle memory).
   */
  handle(conn: Conn, ctx: ConnContext): Promise<void> {
    const done = () => closeQuietly(conn);
    return this.#request(conn, ctx)
      .then(({ code, scope }) => this.#command(code, scope, conn))
      .then(done, (err) => {
        done();
        throw err;
      });
  }

  /** Runs the command; settles when it ends (a CONNECT: when its relay ends). */
  #command(code: number, scope: CommandScope, conn: Conn): Promise<unknown> {
    switch (code) {
      case Cmd.Connect:
        return connect(scope);
      case Cmd.Bind:
        return bind(scope);
      case Cmd.UdpAssociate:
        return udpAssociate(scope);
      case Cmd.MuxBind:
        return muxBind(scope);
      case Cmd.UdpTun:
        return udpTun(scope);
      default:
        return sendError(conn, Rep.CmdUnsupported).then(() => {
          throw new HandshakeError(`SOCKS5 command 0x${code.toString(16)} is not supported`);
        });
    }
  }

  /**
   * The handshake, bounded by `readTimeout`, and the command's scope. A function of its own so that the reader
   * and its buffer are garbage once it returns, not kept by a relay that may idle for hours.
   */
  async #request(conn: Conn, ctx: ConnContext): Promise<{ code: number; scope: CommandScope }> {
    const r = new HandshakeReader(conn, 512);
    const req = await withDeadline(conn, this.#md.readTimeoutMs, () => this.#handshake(conn, r, ctx));
    const dst = joinHostPort(req.addr.host, req.addr.port);
    ctx.dst = dst;
    ctx.logger = ctx.logger.child({ dst });
    return { code: req.code, scope: { conn: r.conn(), addr: req.addr, ctx, opts: this.#opts, md: this.#md } };
  }

  /** Greeting, method choice, auth and request. */
  async #handshake(conn: Conn, r: HandshakeReader, ctx: ConnContext): Promise<Socks5Message> {
    const methods = await readGreeting(r);
    const auth = this.#opts.auth;
    const want = auth ? Method.UserPass : Method.NoAuth;
    const method = methods.includes(want) ? want : Method.NoAcceptable;
    await writeFull(conn, encodeMethodReply(method));
    if (method === Method.NoAcceptable) {
      if (methods.length === 0) throw new HandshakeError("SOCKS5 greeting offers no methods");
      throw new AuthError(`No acceptable method among [${methods.join(", ")}]`);
    }
    if (auth) {
      let creds: { username: string; password: string };
      try {
        creds = await readUserPassRequest(r);
      } catch (err) {
        if (err instanceof BadVersionError) await writeFull(conn, encodeUserPassReply(0x01)).catch(() => {});
        throw err;
      }
      const id = auth.authenticate(creds.username, creds.password);
      if (id === null) {
        await writeFull(conn, encodeUserPassReply(0x01)).catch(() => {});
        throw new AuthError(`SOCKS5 user "${creds.username}" refused`);
      }
      await writeFull(conn, encodeUserPassReply(0x00));
      ctx.clientId = id;
      ctx.logger = ctx.logger.child({ user: id });
    }
    try {
      return await readRequest(r);
    } catch (err) {
      if (err instanceof AddrTypeError) await sendError(conn, Rep.AddrUnsupported);
      throw err;
    }
  }
}
