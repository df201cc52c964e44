/**
 * The SOCKS4/4a server (`socks4`, `socks4a`): CONNECT to an IPv4 address or a SOCKS4a hostname.
 * @module
 */
import { HandshakeReader, UnexpectedEofError } from "../../core/bufio.ts";
import { closeQuietly, type Conn, joinHostPort, writeFull } from "../../core/conn.ts";
import { withDeadline } from "../../core/deadline.ts";
import {
  AuthError,
  BadVersionError,
  DialError,
  errorMessage,
  HandshakeError,
  PolicyError,
  TimeoutError,
} from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import { type ConnContext, dialOptions, type Handler, type HandlerOptions } from "../../core/contracts.ts";
import { relay } from "../../core/relay.ts";
import { parseSocksMetadata, type SocksMetadata } from "../socks5/metadata.ts";
import { encodeSocks4Reply, readSocks4Request, Socks4Cmd, Socks4Reply } from "./wire.ts";

/**
 * SOCKS4/4a handler. With an authenticator the USERID is checked as a username with an empty password, which the
 * built-in authenticators never accept: SOCKS4 with auth configured refuses every client (0x5D).
 * @example const h = new Socks4Handler({ service, logger, router }); await h.init(md); await h.handle(conn, ctx);
 */
export class Socks4Handler implements Handler {
  readonly #opts: HandlerOptions;
  #md!: SocksMetadata;

  /** Set when the auto handler runs it: probe resistance keys are then the http side's. */
  readonly #inAuto: boolean;

  /** @param inAuto true when the auto handler runs it */
  constructor(opts: HandlerOptions, inAuto = false) {
    this.#opts = opts;
    this.#inAuto = inAuto;
  }

  init(md: Metadata): Promise<void> {
    this.#md = parseSocksMetadata(md, this.#inAuto ? null : "handler socks4");
    return Promise.resolve();
  }

  /** Serves one client on any conn (a sniffing handler may pass a PrefixConn); closes it before settling. */
  async handle(conn: Conn, ctx: ConnContext): Promise<void> {
    try {
      const { client, target } = await this.#open(conn, ctx);
      await relay(client, target);
    } finally {
      closeQuietly(conn);
    }
  }

  /**
   * Request, auth, dial and reply, then the conns to relay. A function of its own so that the handshake reader and
   * its buffer are garbage once it returns, not kept by a relay that may idle for hours.
   */
  async #open(conn: Conn, ctx: ConnContext): Promise<{ client: Conn; target: Conn }> {
    const r = new HandshakeReader(conn, 512);
    const req = await withDeadline(conn, this.#md.readTimeoutMs, () => readSocks4Request(r)).catch(async (err) => {
      // a malformed request gets 0x5B; a wrong version, EOF or timeout just closes
      if (
        err instanceof HandshakeError && !(err instanceof BadVersionError) && !(err instanceof UnexpectedEofError) &&
        !(err instanceof TimeoutError)
      ) await reply(conn, Socks4Reply.Failed);
      throw err;
    });
    const dst = joinHostPort(req.host, req.port);
    ctx.dst = dst;
    ctx.logger = ctx.logger.child({ dst });

    const auth = this.#opts.auth;
    if (auth) {
      const id = auth.authenticate(req.userid, "");
      if (id === null) {
        await reply(conn, Socks4Reply.AuthFailed);
        throw new AuthError(`SOCKS4 user "${req.userid}" refused`);
      }
      ctx.clientId = id;
      ctx.logger = ctx.logger.child({ user: id });
    }

    if (req.cmd !== Socks4Cmd.Connect) {
      // GOST closes BIND without a reply; we answer 0x5B so the client learns why
      await reply(conn, Socks4Reply.Failed);
      throw new HandshakeError(`SOCKS4 command 0x${req.cmd.toString(16)} is not supported`);
    }

    let target: Conn;
    try {
      target = await this.#opts.router.dial("tcp", dst, dialOptions(ctx));
    } catch (err) {
      await reply(conn, err instanceof PolicyError ? Socks4Reply.Blocked : Socks4Reply.Failed);
      throw err instanceof DialError || err instanceof PolicyError
        ? err
        : new DialError(dst, errorMessage(err), { cause: err });
    }
    try {
      await writeFull(conn, encodeSocks4Reply(Socks4Reply.Granted));
    } catch (err) {
      closeQuietly(target);
      throw err;
    }
    ctx.logger.info(`${ctx.src} <-> ${dst}`);
    return { client: r.conn(), target };
  }
}

/** Best-effort error reply: the client may already be gone. */
async function reply(conn: Conn, code: number): Promise<void> {
  await writeFull(conn, encodeSocks4Reply(code)).catch(() => {});
}
