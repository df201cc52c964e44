/**
 * The Shadowsocks TCP server (`ss`): the client's salt, its first chunk (the target address), then the relay to the
 * target through the router (docs/wire.md, "Shadowsocks").
 * @module
 */
import { HandshakeReader, UnexpectedEofError } from "../../core/bufio.ts";
import { closeQuietly, type Conn, joinHostPort } from "../../core/conn.ts";
import { withDeadline } from "../../core/deadline.ts";
import { AuthError, HandshakeError, TimeoutError } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import { type ConnContext, dialOptions, type Handler, type HandlerOptions } from "../../core/contracts.ts";
import { relay } from "../../core/relay.ts";
import { readAddr } from "../socks5/wire.ts";
import { aeadKeys, type StreamKeys } from "./cipher.ts";
import { ChunkAuthError } from "./chunks.ts";
import { parseSsHandlerMetadata, ssCredentials, type SsHandlerMetadata } from "./metadata.ts";
import { hold, ReplayError } from "./probe.ts";
import { SaltFilter } from "./salt_filter.ts";
import { SsStreamConn } from "./stream.ts";

/**
 * Shadowsocks TCP handler for the AEAD methods. The method and password are the service's user info. A client that
 * fails the handshake (wrong key, replayed salt, garbage) is held without a reply until `readTimeout` from accept and
 * then closed (handlers/ss/probe.ts); replays are counted in {@link SsHandler.replays}.
 * @example const h = new SsHandler({ service, logger, router, credentials: { username: "aes-256-gcm", password: "pw" } });
 */
export class SsHandler implements Handler {
  readonly #opts: HandlerOptions;
  #md!: SsHandlerMetadata;
  #keys!: StreamKeys;
  readonly #salts = new SaltFilter();

  constructor(opts: HandlerOptions) {
    this.#opts = opts;
  }

  /** Replayed salts refused so far. */
  get replays(): number {
    return this.#salts.replays;
  }

  init(md: Metadata): Promise<void> {
    this.#md = parseSsHandlerMetadata(md, "handler ss");
    const { spec, password } = ssCredentials(this.#opts.credentials, "service");
    this.#keys = aeadKeys(spec, password);
    return Promise.resolve();
  }

  async handle(conn: Conn, ctx: ConnContext): Promise<void> {
    try {
      const { client, target } = await this.#open(conn, ctx);
      await relay(client, target);
    } finally {
      closeQuietly(conn);
    }
  }

  /** The handshake and the dial; a function of its own so that its reader is garbage once the relay runs. */
  async #open(conn: Conn, ctx: ConnContext): Promise<{ client: Conn; target: Conn }> {
    const started = Date.now();
    const timeoutMs = this.#md.readTimeoutMs;
    const salts = this.#salts;
    const ss = new SsStreamConn(conn, this.#keys, {
      onPeerSalt: (salt) => {
        if (!salts.check(salt)) throw new ReplayError(`Shadowsocks: replayed salt (${salts.replays} refused so far)`);
      },
      onOwnSalt: (salt) => salts.add(salt),
    });
    const r = new HandshakeReader(ss, 512);
    let addr;
    try {
      addr = await withDeadline(conn, timeoutMs, () => readAddr(r));
    } catch (err) {
      throw await this.#refuse(conn, err, timeoutMs - (Date.now() - started));
    }
    const dst = joinHostPort(addr.host, addr.port);
    ctx.dst = dst;
    ctx.logger = ctx.logger.child({ dst });
    const target = await this.#opts.router.dial("tcp", dst, dialOptions(ctx));
    ctx.logger.info(`${ctx.src} <-> ${dst}`);
    return { client: r.conn(), target };
  }

  /** Holds a client that failed the handshake (no reply), then returns the error to end the conn with. */
  async #refuse(conn: Conn, err: unknown, leftMs: number): Promise<unknown> {
    if (err instanceof TimeoutError || err instanceof UnexpectedEofError) return err; // closed already, or by the client
    if (!(err instanceof HandshakeError || err instanceof AuthError)) return err;
    const closedByClient = await hold(conn, leftMs);
    const end = closedByClient ? "until the client closed" : "until the handshake deadline";
    if (err instanceof ReplayError) return new ReplayError(`${err.message}; held ${end}`, { cause: err });
    if (err instanceof ChunkAuthError && err.first) {
      return new AuthError(`Shadowsocks: wrong key or method (the first chunk does not authenticate); held ${end}`, {
        cause: err,
      });
    }
    return new HandshakeError(`Shadowsocks: ${err.message}; held ${end}`, { cause: err });
  }
}
