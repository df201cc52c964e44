/**
 * The client side of GOST's UDP-tun (SOCKS5 CMD 0xF3, docs/wire.md, "SOCKS5 UDP-tun"): after the reply, the TCP stream
 * carries datagram frames `LEN u16 | 0xFF | ADDR | DATA` both ways. This is what GOST's own socks5 connector uses for
 * UDP.
 * @module
 */
import { HandshakeReader } from "../../core/bufio.ts";
import { closeQuietly, type Conn, writeFull } from "../../core/conn.ts";
import { encodeUdpTunHeader, readUdpTunHeader, type SocksAddr } from "./wire.ts";

/**
 * A datagram conn to one target over a UDP-tun stream: `write` sends one frame to the target, `read` returns the
 * DATA of the next frame (whatever its source address, which the server sets). An empty write sends nothing (GOST's
 * reader cannot take an empty frame); datagrams longer than `p` are truncated. `read` returns null at EOF between
 * frames and after `close()`.
 */
export class UdpTunConn implements Conn {
  readonly datagram = true;
  readonly #conn: Conn;
  readonly #r: HandshakeReader;
  readonly #target: SocksAddr;
  readonly #remote: Deno.NetAddr;
  /** Frames are written one at a time, so concurrent writes never interleave. */
  #writing: Promise<unknown> = Promise.resolve();
  #closed = false;

  /** @param conn the SOCKS conn past the 0xF3 reply (a PrefixConn when bytes were read ahead) */
  constructor(conn: Conn, target: SocksAddr) {
    this.#conn = conn;
    this.#r = new HandshakeReader(conn, 4096);
    this.#target = target;
    this.#remote = { transport: "udp", hostname: target.host, port: target.port };
  }

  get localAddr(): Deno.Addr {
    return this.#conn.localAddr;
  }
  get remoteAddr(): Deno.Addr {
    return this.#remote;
  }

  /** @throws {HandshakeError} when the stream ends inside a frame or an address is malformed */
  async read(p: Uint8Array): Promise<number | null> {
    try {
      if (await this.#r.peekByte() === null) return null;
      const { length } = await readUdpTunHeader(this.#r);
      const data = await this.#r.readFull(length);
      const n = Math.min(p.length, data.length);
      p.set(data.subarray(0, n));
      return n;
    } catch (err) {
      if (this.#closed) return null;
      throw err;
    }
  }

  /** Sends `p` as one frame. @throws {RangeError} when it is longer than 65535 bytes */
  write(p: Uint8Array): Promise<number> {
    if (p.length === 0) return Promise.resolve(0);
    const header = encodeUdpTunHeader(p.length, this.#target.host, this.#target.port);
    const frame = new Uint8Array(header.length + p.length);
    frame.set(header);
    frame.set(p, header.length);
    const done = this.#writing.then(() => writeFull(this.#conn, frame)).then(() => p.length);
    this.#writing = done.catch(() => {});
    return done;
  }

  closeWrite(): Promise<void> {
    return Promise.resolve();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.#conn);
  }
}
