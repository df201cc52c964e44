/**
 * Shadowsocks 2022 UDP as a {@link PacketConn} over a datagram conn (handlers/ssu/ss2022.ts): the client's face
 * sends type 0 packets of its own session and takes type 1 packets naming that session; the server's face takes
 * type 0 packets and answers with type 1 packets of its own session naming the client's latest one.
 * @module
 */
import { closeQuietly, type Conn, nextDatagram } from "../../core/conn.ts";
import type { Packet, PacketAddr, PacketConn } from "../../core/contracts.ts";
import { PacketError } from "./packet.ts";
import { open2022, OwnSession, PeerSessions, seal2022, type Udp2022Keys } from "./ss2022.ts";

/** Options of an {@link Ss2022UdpPacketConn}. */
export interface Ss2022UdpOptions {
  /** True for the server's face. */
  server: boolean;
  /** Called for every datagram dropped because it did not open (no reply is ever sent for one). */
  onDrop?: (err: PacketError) => void;
}

/** Shadowsocks 2022 UDP packets over a datagram conn. */
export class Ss2022UdpPacketConn implements PacketConn {
  readonly #conn: Conn;
  readonly #keys: Udp2022Keys;
  readonly #opts: Ss2022UdpOptions;
  readonly #own = new OwnSession();
  readonly #peers = new PeerSessions();
  /** The server's face: the session id of the client's latest packet. */
  #client: Uint8Array | null = null;
  #closed = false;
  /** Datagrams dropped because they did not open. */
  dropped = 0;

  /** @param conn a datagram conn to the peer (a udp dialer's conn, or a udp listener's session) */
  constructor(conn: Conn, keys: Udp2022Keys, opts: Ss2022UdpOptions) {
    this.#conn = conn;
    this.#keys = keys;
    this.#opts = opts;
  }

  get localAddr(): Deno.Addr {
    return this.#conn.localAddr;
  }

  /** The next packet that opens; those that do not are dropped. Null when the conn ends or is closed. */
  async readFrom(): Promise<Packet | null> {
    for (;;) {
      let d: Uint8Array | null;
      try {
        d = await nextDatagram(this.#conn);
      } catch (err) {
        if (this.#closed) return null;
        throw err;
      }
      if (d === null) return null;
      try {
        const got = await open2022(this.#keys, d, this.#peers, !this.#opts.server);
        if (this.#opts.server) this.#client = got.sessionId;
        else if (!got.clientSessionId!.every((b, i) => b === this.#own.id[i])) {
          throw new PacketError("Shadowsocks 2022 UDP reply naming another client session");
        }
        return { data: got.payload, addr: got.addr };
      } catch (err) {
        if (!(err instanceof PacketError)) throw err;
        this.dropped++;
        this.#opts.onDrop?.(err);
      }
    }
  }

  /** Seals `data` naming `to` and sends it (the server's face only after a packet of the client opened). */
  async writeTo(data: Uint8Array, to: PacketAddr): Promise<number> {
    if (this.#opts.server && !this.#client) return 0;
    const pkt = await seal2022(this.#keys, this.#own, to, data, this.#opts.server ? this.#client! : undefined);
    if (this.#closed) return 0;
    await this.#conn.write(pkt);
    return data.length;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.#conn);
  }
}
