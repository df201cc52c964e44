/**
 * The client side of GOST's UDP-tun (SOCKS5 CMD 0xF3, docs/wire.md, "SOCKS5 UDP-tun"): after the reply, the TCP stream
 * carries datagram frames `LEN u16 | 0xFF | ADDR | DATA` both ways, each naming its own target, so one stream carries
 * an association for any number of targets. This is what GOST's own socks5 connector uses for UDP.
 * @module
 */
import { HandshakeReader } from "../../core/bufio.ts";
import { closeQuietly, type Conn, writeFull } from "../../core/conn.ts";
import type { Packet, PacketAddr, PacketConn } from "../../core/contracts.ts";
import { encodeUdpTunHeader, readUdpTunHeader } from "./wire.ts";

/**
 * An association over a UDP-tun stream: `writeTo` sends one frame to its destination, `readFrom` returns the DATA of
 * the next frame with the source address the server set. An empty write sends nothing (GOST's reader cannot take an
 * empty frame). `readFrom` returns null at EOF between frames and after `close()`.
 */
export class UdpTunPacketConn implements PacketConn {
  readonly #conn: Conn;
  readonly #r: HandshakeReader;
  /** Frames are written one at a time, so concurrent writes never interleave. */
  #writing: Promise<unknown> = Promise.resolve();
  #closed = false;

  /** @param conn the SOCKS conn past the 0xF3 reply (a PrefixConn when bytes were read ahead) */
  constructor(conn: Conn) {
    this.#conn = conn;
    this.#r = new HandshakeReader(conn, 4096);
  }

  get localAddr(): Deno.Addr {
    return this.#conn.localAddr;
  }

  /** @throws {HandshakeError} when the stream ends inside a frame or an address is malformed */
  async readFrom(): Promise<Packet | null> {
    try {
      if (await this.#r.peekByte() === null) return null;
      const { length, addr } = await readUdpTunHeader(this.#r);
      const data = await this.#r.readFull(length);
      return { data, addr };
    } catch (err) {
      if (this.#closed) return null;
      throw err;
    }
  }

  /** Sends `data` to `to` as one frame. @throws {RangeError} when it is longer than 65535 bytes */
  writeTo(data: Uint8Array, to: PacketAddr): Promise<number> {
    if (data.length === 0) return Promise.resolve(0);
    const header = encodeUdpTunHeader(data.length, to.host, to.port);
    const frame = new Uint8Array(header.length + data.length);
    frame.set(header);
    frame.set(data, header.length);
    const done = this.#writing.then(() => writeFull(this.#conn, frame)).then(() => data.length);
    this.#writing = done.catch(() => {});
    return done;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.#conn);
  }
}
