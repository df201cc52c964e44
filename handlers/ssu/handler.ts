/**
 * The Shadowsocks UDP server (`ssu`). On a udp listener, every client session gets one association from the router
 * (GOST's `Dial(ctx, "udp", "")`: a local socket, or one upstream association through the chain): each packet that
 * opens goes to the target it names, each reply comes back sealed naming its source; packets that do not open are
 * dropped without a reply. On a stream listener (GOST's UDP over TCP): the Shadowsocks TCP handshake, then UDP-tun
 * frames both ways (docs/wire.md, "Shadowsocks").
 * @module
 */
import { closeQuietly, type Conn, joinHostPort } from "../../core/conn.ts";
import { ConfigError, errorMessage } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import type { Metadata } from "../../core/metadata.ts";
import {
  type ConnContext,
  dialOptions,
  type Handler,
  type HandlerOptions,
  type PacketConn,
} from "../../core/contracts.ts";
import { dialPacket } from "../../core/routing/packet_route.ts";
import { acceptStream } from "../ss/accept.ts";
import { aeadKeys, type StreamKeys } from "../ss/cipher.ts";
import { parseSsHandlerMetadata, ssCredentials, type SsHandlerMetadata } from "../ss/metadata.ts";
import { SaltFilter } from "../ss/salt_filter.ts";
import { UdpTunPacketConn } from "../socks5/udptun_connector.ts";
import { SsUdpPacketConn } from "./packet_conn.ts";

/**
 * Shadowsocks UDP handler for the AEAD methods. The method and password are the service's user info.
 * @example const h = new SsuHandler({ service, logger, router, credentials: { username: "aes-128-gcm", password: "pw" } });
 */
export class SsuHandler implements Handler {
  readonly #opts: HandlerOptions;
  #md!: SsHandlerMetadata;
  #keys!: StreamKeys;
  readonly #salts = new SaltFilter();
  /** Packets dropped because they did not open (wrong key, garbage), over all sessions. */
  dropped = 0;

  constructor(opts: HandlerOptions) {
    this.#opts = opts;
  }

  /** Replayed salts refused so far (packets, and streams of UDP over TCP). */
  get replays(): number {
    return this.#salts.replays;
  }

  init(md: Metadata): Promise<void> {
    this.#md = parseSsHandlerMetadata(md, "handler ssu");
    const { spec, password } = ssCredentials(this.#opts.credentials, "service");
    if (spec.sip022) {
      throw new ConfigError(`Shadowsocks UDP (ssu) with ${spec.name} is not implemented: use an AEAD method for UDP`);
    }
    this.#keys = aeadKeys(spec, password);
    return Promise.resolve();
  }

  async handle(conn: Conn, ctx: ConnContext): Promise<void> {
    let client: PacketConn | undefined;
    try {
      if (conn.datagram) {
        client = new SsUdpPacketConn(conn, this.#keys, {
          salts: this.#salts,
          onDrop: (err) => {
            this.dropped++;
            if (err.replay) ctx.logger.info(`${err.message} (${this.#salts.replays} refused so far): dropped`);
            else ctx.logger.debug(`${err.message}: dropped`);
          },
        });
      } else {
        const { conn: stream } = await acceptStream(conn, this.#keys, this.#salts, this.#md.readTimeoutMs);
        client = new UdpTunPacketConn(stream);
      }
      await this.#serve(client, ctx);
    } finally {
      closeQuietly(client);
      closeQuietly(conn);
    }
  }

  /** Relays between the client and one association from the router, opened at the client's first packet. */
  async #serve(client: PacketConn, ctx: ConnContext): Promise<void> {
    const first = await client.readFrom();
    if (!first) return;
    const upstream = await dialPacket(this.#opts.router, dialOptions(ctx), ctx.logger, this.#md.udpBufferSize);
    ctx.logger.info(`${ctx.src} <-> udp association`);
    let closed = false;
    const log = ctx.logger;
    try {
      const down = (async () => {
        try {
          for (;;) {
            const p = await upstream.readFrom();
            if (!p) break;
            await client.writeTo(p.data, p.addr);
          }
        } catch (err) {
          if (!closed) log.debug(`ssu: replies: ${errorMessage(err)}`);
        }
        if (!closed) closeQuietly(client);
      })();
      await send(upstream, first.data, first.addr, log);
      for (;;) {
        const p = await client.readFrom().catch((err) => {
          if (!closed) log.debug(`ssu: client: ${errorMessage(err)}`);
          return null;
        });
        if (!p) break;
        await send(upstream, p.data, p.addr, log);
      }
      closed = true;
      closeQuietly(upstream);
      await down;
    } finally {
      closed = true;
      closeQuietly(upstream);
    }
  }
}

/** Sends one datagram upstream; a failure drops it (logged at debug), as a lost datagram. */
async function send(pc: PacketConn, data: Uint8Array, to: { host: string; port: number }, log: Logger): Promise<void> {
  if (!to.host || !to.port) return;
  try {
    await pc.writeTo(data, to);
  } catch (err) {
    log.debug(`ssu: to ${joinHostPort(to.host, to.port)}: ${errorMessage(err)}`);
  }
}
