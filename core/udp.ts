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
import { closeQuietly, type Conn, joinHostPort, MAX_DATAGRAM_SIZE } from "./conn.ts";
import type { Packet, PacketAddr, PacketConn } from "./contracts.ts";
import { normalizeIP } from "./ip.ts";
import { isIP } from "./ip.ts";

/** The receive buffer a UDP conn starts with. */
export const FIRST_RECEIVE_SIZE = 4 * 1024;

const isIPv6 = (h: string) => h.includes(":");

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
 * Opens a UDP conn to `host:port` from an ephemeral local port; an empty host is this host (127.0.0.1, as Go
 * dials `:53`).
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

/** Where a {@link UdpPacketConn} sends a datagram for `to`: an address, or null to drop it (the rules refuse it). */
export type PacketTargetResolver = (to: PacketAddr) => Deno.NetAddr | null | Promise<Deno.NetAddr | null>;

/** Most destinations a {@link UdpPacketConn} remembers for its replies; the least recently used goes first. */
const MAX_PEERS = 256;

const peerKey = (host: string, port: number) => `${normalizeIP(host)}\n${port}`;

/**
 * A {@link PacketConn} over one local UDP socket (a direct route's association, as GOST's): each datagram goes to
 * the address `resolve` gives for its destination (the router's rules, per packet), and only datagrams from an
 * address it sent to come back, named as the sender named that destination (`localhost:53` stays `localhost:53`).
 * The receive buffer is {@link FIRST_RECEIVE_SIZE} bytes until a datagram fills it, then 64 KiB for good; that
 * datagram is dropped and counted in `dropped`, as in {@link UdpConn}.
 */
export class UdpPacketConn implements PacketConn {
  readonly #sock: Deno.DatagramConn;
  readonly #resolve: PacketTargetResolver;
  /** Sent-to address → the destination as it was named. */
  readonly #peers = new Map<string, PacketAddr>();
  #buf: Uint8Array<ArrayBuffer> | null = null;
  #closed = false;
  /** Datagrams dropped because they filled the first, smaller receive buffer. */
  dropped = 0;

  constructor(sock: Deno.DatagramConn, resolve: PacketTargetResolver) {
    this.#sock = sock;
    this.#resolve = resolve;
  }
  get localAddr(): Deno.Addr {
    return this.#sock.addr;
  }
  async readFrom(): Promise<Packet | null> {
    for (;;) {
      const buf = this.#buf ??= new Uint8Array(FIRST_RECEIVE_SIZE);
      let data: Uint8Array, from: Deno.NetAddr;
      try {
        const [d, a] = await this.#sock.receive(buf);
        [data, from] = [d, a as Deno.NetAddr];
      } catch (err) {
        if (this.#closed) return null;
        throw err;
      }
      const addr = this.#peers.get(peerKey(from.hostname, from.port));
      if (!addr) continue;
      if (data.length === buf.length && buf.length < MAX_DATAGRAM_SIZE) {
        this.dropped++;
        this.#buf = new Uint8Array(MAX_DATAGRAM_SIZE);
        continue;
      }
      return { data, addr };
    }
  }
  async writeTo(data: Uint8Array, to: PacketAddr): Promise<number> {
    const found = this.#resolve(to);
    const addr = found instanceof Promise ? await found : found;
    if (!addr || this.#closed) return 0;
    const key = peerKey(addr.hostname, addr.port);
    this.#peers.delete(key);
    if (this.#peers.size >= MAX_PEERS) this.#peers.delete(this.#peers.keys().next().value!);
    this.#peers.set(key, to);
    return await this.#sock.send(data, addr);
  }
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.#sock);
  }
}

/**
 * Binds a UDP socket on an ephemeral port of every interface: IPv6 (which reaches IPv4 by mapped addresses) when
 * the host has it, else IPv4.
 */
export function bindUdp(): Deno.DatagramConn {
  try {
    return Deno.listenDatagram({ transport: "udp", hostname: "::", port: 0 });
  } catch {
    return Deno.listenDatagram({ transport: "udp", hostname: "0.0.0.0", port: 0 });
  }
}

/**
 * A datagram {@link Conn} to one target over a {@link PacketConn}: `write` sends to the target, `read` returns the
 * next datagram whatever its source (the association's far end names it); `close` ends the association.
 */
export class PacketTargetConn implements Conn {
  readonly datagram = true;
  readonly #pc: PacketConn;
  readonly #target: PacketAddr;

  constructor(pc: PacketConn, target: PacketAddr) {
    this.#pc = pc;
    this.#target = target;
  }
  get localAddr(): Deno.Addr {
    return this.#pc.localAddr;
  }
  get remoteAddr(): Deno.Addr {
    return { transport: "udp", hostname: this.#target.host, port: this.#target.port };
  }
  async read(p: Uint8Array): Promise<number | null> {
    const d = await this.readDatagram();
    if (d === null) return null;
    const n = Math.min(p.length, d.length);
    p.set(d.subarray(0, n));
    return n;
  }
  /** The next datagram, valid until the next call. */
  async readDatagram(): Promise<Uint8Array | null> {
    return (await this.#pc.readFrom())?.data ?? null;
  }
  write(p: Uint8Array): Promise<number> {
    return this.#pc.writeTo(p, this.#target);
  }
  closeWrite(): Promise<void> {
    return Promise.resolve();
  }
  close(): void {
    this.#pc.close();
  }
}
