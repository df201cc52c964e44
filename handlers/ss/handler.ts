/**
 * The Shadowsocks TCP server (`ss`): the client's salt, its first chunk (the target address), then the relay to the
 * target through the router (docs/wire.md, "Shadowsocks").
 * @module
 */
import { closeQuietly, type Conn, joinHostPort } from "../../core/conn.ts";
import type { Metadata } from "../../core/metadata.ts";
import { type ConnContext, dialOptions, type Handler, type HandlerOptions } from "../../core/contracts.ts";
import { relay } from "../../core/relay.ts";
import { acceptStream } from "./accept.ts";
import { loadMethod, type SsMethod } from "./method.ts";
import { parseSsHandlerMetadata, ssCredentials, type SsHandlerMetadata } from "./metadata.ts";
import { SaltFilter } from "./salt_filter.ts";

/**
 * Shadowsocks TCP handler for the AEAD and 2022 methods. The method and password are the service's user info. A client that
 * fails the handshake (wrong key, replayed salt, garbage) is held without a reply until `readTimeout` from accept and
 * then closed (handlers/ss/probe.ts); replays are counted in {@link SsHandler.replays}.
 * @example const h = new SsHandler({ service, logger, router, credentials: { username: "aes-256-gcm", password: "pw" } });
 */
export class SsHandler implements Handler {
  readonly #opts: HandlerOptions;
  #md!: SsHandlerMetadata;
  #method!: SsMethod;
  readonly #salts = new SaltFilter();

  constructor(opts: HandlerOptions) {
    this.#opts = opts;
  }

  /** Replayed salts refused so far. */
  get replays(): number {
    return this.#salts.replays;
  }

  async init(md: Metadata): Promise<void> {
    this.#md = parseSsHandlerMetadata(md, "handler ss", true);
    this.#method = await loadMethod(ssCredentials(this.#opts.credentials, "service"), this.#md.users);
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
    const { addr, conn: client } = await acceptStream(
      conn,
      this.#method.keys,
      this.#salts,
      this.#md.readTimeoutMs,
      this.#method.serverPreamble(),
    );
    const dst = joinHostPort(addr.host, addr.port);
    ctx.dst = dst;
    ctx.logger = ctx.logger.child({ dst });
    const target = await this.#opts.router.dial("tcp", dst, dialOptions(ctx));
    ctx.logger.info(`${ctx.src} <-> ${dst}`);
    return { client, target };
  }
}
