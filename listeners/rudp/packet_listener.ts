/**
 * A UDP listener over any datagram transport — the far end of a remote UDP bind (SOCKS5 UDP-tun bind mode, relay
 * UDP BIND), where datagrams from peers arrive as frames on one tunnel stream. As the `udp` listener does, each
 * peer address becomes a {@link UdpSession} (a datagram conn); a session ends after `ttl` without traffic. When
 * the transport ends, every session ends and `accept()` rejects with the tunnel error so the owner can bind again.
 * @module
 */
import { addrString, type Conn } from "../../core/conn.ts";
import { errorMessage } from "../../core/errors.ts";
import { type Logger, nopLogger } from "../../core/log.ts";
import { type DialOptions, type Listener, ListenerClosedError } from "../../core/contracts.ts";
import { type SessionOwner, UdpSession } from "../udp/session.ts";

/** Session settings of a remote UDP bind (the rudp listener's `ttl`, `readBufferSize`, … options). */
export interface UdpBindOptions {
  /** A session ends after this long without traffic either way. */
  ttlMs: number;
  /** Largest datagram accepted. */
  readBufferSize: number;
  /** Datagrams queued per session before drops. */
  readQueueSize: number;
  /** New sessions waiting to be accepted before new peers are dropped. */
  backlog: number;
}

/** Defaults: the `udp` listener's (GOST's rudp: ttl 5 s, buffer 1500). */
export const UDP_BIND_DEFAULTS: Readonly<UdpBindOptions> = Object.freeze({
  ttlMs: 60_000,
  readBufferSize: 65_535,
  readQueueSize: 128,
  backlog: 128,
});

/** Options of `Router.bind` / `Connector.bind`: dial options plus the UDP session settings. */
export interface BindOptions extends DialOptions {
  udp?: Partial<UdpBindOptions>;
}

/** Datagrams in and out of a tunnel, each with the peer's address. */
export interface PacketTransport {
  /** The next datagram (owned by the caller) and its peer; null when the tunnel ended. */
  receive(): Promise<{ data: Uint8Array; from: Deno.NetAddr } | null>;
  /** Sends one datagram to a peer. */
  send(p: Uint8Array, to: Deno.NetAddr): Promise<void>;
  close(): void;
}

/** Per-peer UDP sessions over a {@link PacketTransport}. */
export class PacketListener implements Listener {
  readonly #transport: PacketTransport;
  readonly #addr: Deno.NetAddr;
  readonly #o: UdpBindOptions;
  readonly #log: Logger;
  readonly #sessions = new Map<string, UdpSession>();
  readonly #pending: UdpSession[] = [];
  #waiter: { resolve: (c: Conn) => void; reject: (e: Error) => void } | null = null;
  readonly #owner: SessionOwner;
  #sweeper: ReturnType<typeof setInterval>;
  #closed = false;
  #broken: Error | null = null;

  /** @param addr the address bound at the far end */
  constructor(transport: PacketTransport, addr: Deno.NetAddr, opts: Partial<UdpBindOptions> = {}, logger = nopLogger) {
    this.#transport = transport;
    this.#addr = addr;
    this.#o = { ...UDP_BIND_DEFAULTS, ...opts };
    this.#log = logger;
    this.#owner = {
      addr,
      send: async (p, to) => {
        await transport.send(p, to);
        return p.length;
      },
      remove: (s) => {
        if (this.#sessions.get(s.key) === s) this.#sessions.delete(s.key);
      },
    };
    this.#sweeper = setInterval(() => this.#sweep(), Math.max(100, Math.min(this.#o.ttlMs / 2, 1000)));
    this.#receiveLoop();
  }

  init(): Promise<void> {
    return Promise.resolve();
  }

  get addr(): Deno.Addr {
    return this.#addr;
  }

  /**
   * The next new peer's session.
   * @throws {ListenerClosedError} after `close()`; a `ConnectionReset` once the tunnel ended
   */
  accept(): Promise<Conn> {
    if (this.#closed) return Promise.reject(new ListenerClosedError());
    const s = this.#pending.shift();
    if (s) return Promise.resolve(s);
    if (this.#broken) return Promise.reject(this.#broken);
    if (this.#waiter) return Promise.reject(new Error("PacketListener: accept() is already pending"));
    return new Promise((resolve, reject) => (this.#waiter = { resolve, reject }));
  }

  /** Closes the tunnel and every session. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#end();
    this.#waiter?.reject(new ListenerClosedError());
    this.#waiter = null;
  }

  async #receiveLoop(): Promise<void> {
    let why = "the tunnel closed";
    try {
      for (;;) {
        const got = await this.#transport.receive();
        if (!got) break;
        if (got.data.length === 0 || got.data.length > this.#o.readBufferSize) continue;
        this.#deliver(got.data, got.from);
      }
    } catch (err) {
      why = errorMessage(err);
    }
    if (this.#closed) return;
    this.#broken = new Deno.errors.ConnectionReset(`udp bind on ${addrString(this.#addr)}: ${why}`);
    this.#log.debug(this.#broken.message);
    this.#end();
    this.#waiter?.reject(this.#broken);
    this.#waiter = null;
  }

  #deliver(data: Uint8Array, from: Deno.NetAddr): void {
    const key = addrString(from);
    let s = this.#sessions.get(key);
    if (!s) {
      if (this.#pending.length >= this.#o.backlog) return;
      s = new UdpSession(this.#owner, key, from, this.#o.readQueueSize, true);
      this.#sessions.set(key, s);
      if (this.#waiter) {
        const w = this.#waiter;
        this.#waiter = null;
        w.resolve(s);
      } else {
        this.#pending.push(s);
      }
    }
    s.push(data);
  }

  #sweep(): void {
    const now = Date.now();
    for (const s of this.#sessions.values()) if (now - s.lastActive >= this.#o.ttlMs) s.close();
  }

  #end(): void {
    clearInterval(this.#sweeper);
    this.#transport.close();
    for (const s of [...this.#sessions.values()]) s.close();
    this.#pending.length = 0;
  }
}
