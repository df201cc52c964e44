/**
 * Shadowsocks UDP as a {@link PacketConn} over a datagram conn: each datagram one packet (handlers/ssu/packet.ts).
 * The client's face (datagrams to the server name their target, those from it their source) and the server's (the
 * other way round) are the same.
 * @module
 */
import { closeQuietly, type Conn, nextDatagram } from "../../core/conn.ts";
import type { Packet, PacketAddr, PacketConn } from "../../core/contracts.ts";
import type { StreamKeys } from "../ss/cipher.ts";
import type { SaltFilter } from "../ss/salt_filter.ts";
import { openPacket, PacketError, sealPacket } from "./packet.ts";

/** Options of an {@link SsUdpPacketConn}. */
export interface SsUdpOptions {
  /** The server's replay filter (it also learns the salts the server sends). */
  salts?: SaltFilter;
  /** Called for every datagram dropped because it did not open (no reply is ever sent for one). */
  onDrop?: (err: PacketError) => void;
}

/** Shadowsocks UDP packets over a datagram conn. */
export class SsUdpPacketConn implements PacketConn {
  readonly #conn: Conn;
  readonly #keys: StreamKeys;
  readonly #opts: SsUdpOptions;
  #closed = false;
  /** Datagrams dropped because they did not open. */
  dropped = 0;

  /** @param conn a datagram conn to the peer (a udp dialer's conn, or a udp listener's session) */
  constructor(conn: Conn, keys: StreamKeys, opts: SsUdpOptions = {}) {
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
        const { addr, payload } = await openPacket(this.#keys, d, this.#opts.salts);
        return { data: payload, addr };
      } catch (err) {
        if (!(err instanceof PacketError)) throw err;
        this.dropped++;
        this.#opts.onDrop?.(err);
      }
    }
  }

  /** Seals `data` naming `to` and sends it. */
  async writeTo(data: Uint8Array, to: PacketAddr): Promise<number> {
    const pkt = await sealPacket(this.#keys, to, data, this.#opts.salts);
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
