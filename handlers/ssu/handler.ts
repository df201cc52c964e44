/**
 * The Shadowsocks UDP server (`ssu`). On a udp listener, every client session gets one association from the router
 * (GOST's `Dial(ctx, "udp", "")`: a local socket, or one upstream association through the chain): each packet that
 * opens goes to the target it names, each reply comes back sealed naming its source; packets that do not open are
 * dropped without a reply. On a stream listener (GOST's UDP over TCP): the Shadowsocks TCP handshake, then UDP-tun
 * frames both ways (docs/wire.md, "Shadowsocks").
 * @module
 */
import { closeQuietly, type Conn, joinHostPort } from "../../core/conn.ts";
import { errorMessage } from "../../core/errors.ts";
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
import type { PacketError } from "./packet.ts";
import type { Udp2022Keys } from "./ss2022.ts";

/**
 * Shadowsocks UDP handler for the AEAD and 2022 methods (the 2022 ones on a udp listener only). The method and password are the service's user info.
 * @example const h = new SsuHandler({ service, logger, router, credentials: { username: "aes-128-gcm", password: "pw" } });
 */
export class SsuHandler implements Handler {
  readonly #opts: HandlerOptions;
  #md!: SsHandlerMetadata;
  #keys!: StreamKeys;
  readonly #salts = new SaltFilter();
  #keys2022: Udp2022Keys | null = null;
  #conn2022: typeof import("./ss2022_conn.ts") | null = null;
  /** 2022 packets refused for a replayed packet id. */
  #replays2022 = 0;
  /** Packets dropped because they did not open (wrong key, garbage), over all sessions. */
  dropped = 0;

  constructor(opts: HandlerOptions) {
    this.#opts = opts;
  }

  /** Replays refused so far: salts (packets, and streams of UDP over TCP), and 2022 packet ids. */
  get replays(): number {
    return this.#salts.replays + this.#replays2022;
  }

  async init(md: Metadata): Promise<void> {
    this.#md = parseSsHandlerMetadata(md, "handler ssu");
    const { spec, password } = ssCredentials(this.#opts.credentials, "service");
    if (spec.sip022) {
      const [{ Udp2022Keys }, conn2022] = await Promise.all([import("./ss2022.ts"), import("./ss2022_conn.ts")]);
      this.#keys2022 = new Udp2022Keys(spec, password);
      this.#conn2022 = conn2022;
      return;
    }
    this.#keys = aeadKeys(spec, password);
  }

  async handle(conn: Conn, ctx: ConnContext): Promise<void> {
    let client: PacketConn | undefined;
    try {
      const onDrop = (err: PacketError) => {
        this.dropped++;
        if (err.replay && this.#keys2022) this.#replays2022++;
        if (err.replay) ctx.logger.info(`${err.message} (${this.replays} refused so far): dropped`);
        else ctx.logger.debug(`${err.message}: dropped`);
      };
      if (this.#keys2022) {
        if (!conn.datagram) {
          ctx.logger.info(
            `${ctx.src}: Shadowsocks UDP over a stream with ${this.#keys2022.spec.name} is not implemented (serve it on a udp listener): closed`,
          );
          return;
        }
        client = new this.#conn2022!.Ss2022UdpPacketConn(conn, this.#keys2022, { server: true, onDrop });
      } else if (conn.datagram) {
        client = new SsUdpPacketConn(conn, this.#keys, { salts: this.#salts, onDrop });
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
