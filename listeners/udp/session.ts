/**
 * One client of a UDP listener as a datagram {@link Conn}: reads return the client's datagrams in order, writes
 * send to the client from the listener's socket.
 * @module
 */
import type { Conn } from "../../core/conn.ts";
import { unmappedAddr } from "../addr.ts";

/** The listener side a session needs. */
export interface SessionOwner {
  send(p: Uint8Array, to: Deno.NetAddr): Promise<number>;
  readonly addr: Deno.Addr;
  remove(session: UdpSession): void;
}

/** A per-client UDP session. */
export class UdpSession implements Conn {
  readonly datagram = true;
  readonly key: string;
  /** The client, an IPv4 one of a dual-stack socket as IPv4 (listeners/addr.ts). */
  readonly remoteAddr: Deno.NetAddr;
  /** The client as the socket names it: where replies go. */
  readonly #peer: Deno.NetAddr;
  /** Last time a datagram went either way (ms). */
  lastActive = Date.now();
  readonly #owner: SessionOwner;
  readonly #queue: Uint8Array[] = [];
  readonly #queueSize: number;
  readonly #oneShot: boolean;
  #waiter: ((d: Uint8Array | null) => void) | null = null;
  #closed = false;
  /** Datagrams dropped because the queue was full. */
  dropped = 0;

  constructor(owner: SessionOwner, key: string, remote: Deno.NetAddr, queueSize: number, keepAlive: boolean) {
    this.#owner = owner;
    this.key = key;
    this.#peer = remote;
    this.remoteAddr = unmappedAddr(remote);
    this.#queueSize = queueSize;
    this.#oneShot = !keepAlive;
  }

  get localAddr(): Deno.Addr {
    return this.#owner.addr;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Queues a datagram from the client (the listener calls this). */
  push(d: Uint8Array): void {
    if (this.#closed) return;
    this.lastActive = Date.now();
    if (this.#waiter) {
      const w = this.#waiter;
      this.#waiter = null;
      w(d);
    } else if (this.#queue.length < this.#queueSize) {
      this.#queue.push(d);
    } else {
      this.dropped++;
    }
  }

  async read(p: Uint8Array): Promise<number | null> {
    const d = await this.readDatagram();
    if (!d) return null;
    const n = Math.min(d.length, p.length);
    p.set(n === d.length ? d : d.subarray(0, n));
    return n;
  }

  /** The client's next datagram, as the listener received it (its own copy, exactly its size). */
  readDatagram(): Promise<Uint8Array | null> {
    const d = this.#queue.shift();
    if (d) return Promise.resolve(d);
    if (this.#closed) return Promise.resolve(null);
    return new Promise<Uint8Array | null>((resolve) => (this.#waiter = resolve));
  }

  async write(p: Uint8Array): Promise<number> {
    if (this.#closed) throw new Deno.errors.BadResource("UDP session closed");
    this.lastActive = Date.now();
    const n = await this.#owner.send(p, this.#peer);
    if (this.#oneShot) this.close();
    return n;
  }

  closeWrite(): Promise<void> {
    return Promise.resolve();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.length = 0;
    const w = this.#waiter;
    this.#waiter = null;
    w?.(null);
    this.#owner.remove(this);
  }
}
