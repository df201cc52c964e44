/**
 * The SOCKS5 server (`socks5`, `socks`): greeting, method selection (GOST's TLS methods included), RFC 1929 auth,
 * then CONNECT, BIND or UDP ASSOCIATE. The whole handshake up to the request is bounded by `readTimeout`.
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
import { acceptTls, ServerTlsSource } from "./tls_method.ts";

/** The session after method selection: the conn to speak on (TLS for 0x80/0x82) and its reader. */
interface Session {
  conn: Conn;
  r: HandshakeReader;
}

/**
 * SOCKS5 handler. Method selection: with an authenticator 0x82 (TLS, then RFC 1929 inside it) if offered and
 * not `notls`, else 0x02 if offered, else 0xFF; without one 0x80 (TLS) if offered and not `notls`, else 0x00 if
 * offered, else 0xFF (docs/wire.md, "SOCKS5 TLS methods").
 * @example const h = new Socks5Handler({ service, logger, router, auth }); await h.init(md); await h.handle(conn, ctx);
 */
export class Socks5Handler implements Handler {
  readonly #opts: HandlerOptions;
  #md!: SocksMetadata;
  #tls: ServerTlsSource | null = null;

  /** Set when the auto handler runs it: probe resistance keys are then the http side's. */
  readonly #inAuto: boolean;

  /** @param inAuto true when the auto handler runs it */
  constructor(opts: HandlerOptions, inAuto = false) {
    this.#opts = opts;
    this.#inAuto = inAuto;
  }

  /** @throws {ConfigError} on a bad metadata value or an unreadable certificate file */
  async init(md: Metadata): Promise<void> {
    this.#md = parseSocksMetadata(md, this.#inAuto ? null : "handler socks5");
    if (!this.#md.noTls) {
      this.#tls = new ServerTlsSource(md);
      await this.#tls.init();
    }
  }

  /**
   * Serves one client on any conn (a sniffing handler may pass a PrefixConn); closes it before settling. A promise
   * chain, not an async function: no suspended frame is kept for the life of a relay (idle memory).
   */
  handle(conn: Conn, ctx: ConnContext): Promise<void> {
    let inner: Conn | null = null;
    const done = () => {
      if (inner) closeQuietly(inner);
      closeQuietly(conn);
    };
    return this.#request(conn, ctx)
      .then(({ code, scope }) => {
        if (scope.conn !== conn) inner = scope.conn;
        return this.#command(code, scope, scope.conn);
      })
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
    const { req, session } = await withDeadline(conn, this.#md.readTimeoutMs, () => this.#handshake(conn, ctx));
    const dst = joinHostPort(req.addr.host, req.addr.port);
    ctx.dst = dst;
    ctx.logger = ctx.logger.child({ dst });
    const scope = { conn: session.r.conn(), addr: req.addr, ctx, opts: this.#opts, md: this.#md };
    return { code: req.code, scope };
  }

  /** The method for the offered ones (see the class doc). */
  #select(methods: number[]): number {
    const [tls, plain] = this.#opts.auth ? [Method.TlsAuth, Method.UserPass] : [Method.Tls, Method.NoAuth];
    if (this.#tls && methods.includes(tls)) return tls;
    return methods.includes(plain) ? plain : Method.NoAcceptable;
  }

  /** Greeting, method choice, TLS for 0x80/0x82, auth and request. */
  async #handshake(raw: Conn, ctx: ConnContext): Promise<{ req: Socks5Message; session: Session }> {
    let r = new HandshakeReader(raw, 512);
    const methods = await readGreeting(r);
    const method = this.#select(methods);
    await writeFull(raw, encodeMethodReply(method));
    if (method === Method.NoAcceptable) {
      if (methods.length === 0) throw new HandshakeError("SOCKS5 greeting offers no methods");
      throw new AuthError(`No acceptable method among [${methods.join(", ")}]`);
    }
    let conn = raw;
    if (method === Method.Tls || method === Method.TlsAuth) {
      // Bytes read behind the greeting are the start of the ClientHello: r.conn() puts them back in front.
      conn = await acceptTls(r.conn(), this.#tls!, this.#md.readTimeoutMs);
      r = new HandshakeReader(conn, 512);
    }
    try {
      return { req: await this.#authAndRequest(conn, r, ctx), session: { conn, r } };
    } catch (err) {
      if (conn !== raw) closeQuietly(conn);
      throw err;
    }
  }

  /** RFC 1929 (when an authenticator is set) and the request, on the session conn. */
  async #authAndRequest(conn: Conn, r: HandshakeReader, ctx: ConnContext): Promise<Socks5Message> {
    const auth = this.#opts.auth;
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
