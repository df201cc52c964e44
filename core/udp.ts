/**
 * UDP as a datagram {@link Conn}: one read returns one datagram, one write sends one.
 *
 * A socket's pending receive holds its buffer for as long as it waits, so an idle session costs its receive
 * buffer. {@link UdpConn.readDatagram} starts on {@link FIRST_RECEIVE_SIZE} bytes (GOST's UDP read buffer; the
 * datagrams of DNS, QUIC, WireGuard and OpenVPN fit) and moves to a 64 KiB buffer for good once a datagram fills it; that
 * datagram may have been cut by the kernel, so it is dropped (as a lost datagram, never passed on cut) and counted
 * in `dropped` (docs/architecture.md, "Datagram sessions").
 * @module
 */
import { type Conn, joinHostPort, MAX_DATAGRAM_SIZE } from "./conn.ts";

/** The receive buffer a UDP conn starts with. */
export const FIRST_RECEIVE_SIZE = 4 * 1024;

const isIPv6 = (h: string) => h.includes(":");
const isIP = (h: string) => isIPv6(h) || /^\d{1,3}(\.\d{1,3}){3}$/.test(h);

/** A UDP socket bound to an ephemeral port and aimed at one target. */
export class UdpConn implements Conn {
  readonly datagram = true;
  readonly #sock: Deno.DatagramConn;
  readonly #target: Deno.NetAddr;
  readonly #filter: boolean;
  #buf: Uint8Array<ArrayBuffer> | null = null;
  /** Datagrams dropped because they filled the first, smaller receive buffer. */
  dropped = 0;

  constructor(sock: Deno.DatagramConn, target: Deno.NetAddr) {
    this.#sock = sock;
    this.#target = target;
    this.#filter = isIP(target.hostname);
  }
  get localAddr(): Deno.Addr {
    return this.#sock.addr;
  }
  get remoteAddr(): Deno.Addr {
    return this.#target;
  }
  async read(p: Uint8Array): Promise<number | null> {
    for (;;) {
      const [data, from] = await this.#sock.receive(p);
      const src = from as Deno.NetAddr;
      if (this.#filter && (src.port !== this.#target.port || src.hostname !== this.#target.hostname)) continue;
      if (data.buffer !== p.buffer || data.byteOffset !== p.byteOffset) p.set(data.subarray(0, p.length));
      return Math.min(data.length, p.length);
    }
  }
  /** The next datagram from the target, valid until the next call. */
  async readDatagram(): Promise<Uint8Array | null> {
    for (;;) {
      const buf = this.#buf ??= new Uint8Array(FIRST_RECEIVE_SIZE);
      const [data, from] = await this.#sock.receive(buf);
      const src = from as Deno.NetAddr;
      if (this.#filter && (src.port !== this.#target.port || src.hostname !== this.#target.hostname)) continue;
      if (data.length === buf.length && buf.length < MAX_DATAGRAM_SIZE) {
        this.dropped++;
        this.#buf = new Uint8Array(MAX_DATAGRAM_SIZE);
        continue;
      }
      return data;
    }
  }
  write(p: Uint8Array): Promise<number> {
    return this.#sock.send(p, this.#target);
  }
  closeWrite(): Promise<void> {
    return Promise.resolve();
  }
  close(): void {
    this.#sock.close();
  }
}

/**
 * Opens a UDP conn to `host:port` from an ephemeral local port.
 * @example const c = dialUdp("127.0.0.1", 53); await c.write(query);
 */
export function dialUdp(host: string, port: number): UdpConn {
  const sock = Deno.listenDatagram({ transport: "udp", hostname: isIPv6(host) ? "::" : "0.0.0.0", port: 0 });
  return new UdpConn(sock, { transport: "udp", hostname: host || "127.0.0.1", port });
}

/** The string form of a UDP target. */
export function udpTarget(host: string, port: number): string {
  return joinHostPort(host, port);
}
