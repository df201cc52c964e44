/**
 * The `udp` listener: one socket, one {@link UdpSession} per client address. A session ends after `ttl` without
 * traffic either way. Defaults differ from GOST on purpose (its most reported complaint, UDP sessions dying after
 * 5 s): `ttl` 60 s and `keepAlive` true; `keepAlive=false` restores GOST's one-reply sessions.
 * @module
 */
import { addrString, type Conn } from "../../core/conn.ts";
import type { Metadata } from "../../core/metadata.ts";
import { type Listener, ListenerClosedError, type ListenerOptions } from "../../core/contracts.ts";
import { bindListenAddr, parseListenAddr } from "../addr.ts";
import { UdpSession } from "./session.ts";

/** Defaults of the UDP listener's metadata. */
export const UDP_DEFAULTS = {
  ttlMs: 60_000,
  keepAlive: true,
  readBufferSize: 65_535,
  readQueueSize: 128,
  backlog: 128,
};

/** UDP listener with per-client sessions. */
export class UdpListener implements Listener {
  readonly #opts: ListenerOptions;
  #sock: Deno.DatagramConn | null = null;
  readonly #sessions = new Map<string, UdpSession>();
  readonly #pending: UdpSession[] = [];
  #acceptWaiter: { resolve: (s: UdpSession) => void; reject: (e: Error) => void } | null = null;
  #closed = false;
  #sweeper: ReturnType<typeof setInterval> | undefined;
  #ttlMs = UDP_DEFAULTS.ttlMs;
  #keepAlive = UDP_DEFAULTS.keepAlive;
  #bufferSize = UDP_DEFAULTS.readBufferSize;
  #queueSize = UDP_DEFAULTS.readQueueSize;
  #backlog = UDP_DEFAULTS.backlog;

  constructor(opts: ListenerOptions) {
    this.#opts = opts;
  }

  init(md: Metadata): Promise<void> {
    this.#ttlMs = md.duration("ttl", UDP_DEFAULTS.ttlMs);
    this.#keepAlive = md.bool("keepAlive", UDP_DEFAULTS.keepAlive);
    this.#bufferSize = md.int(
      ["readBufferSize", "udp.bufferSize", "udpBufferSize"],
      UDP_DEFAULTS.readBufferSize,
      512,
      65_535,
    );
    this.#queueSize = md.int("readQueueSize", UDP_DEFAULTS.readQueueSize, 1, 1_000_000);
    this.#backlog = md.int("backlog", UDP_DEFAULTS.backlog, 1, 1_000_000);
    this.#sock = bindListenAddr(
      parseListenAddr(this.#opts.addr),
      (hostname, port) => Deno.listenDatagram({ hostname, port, transport: "udp" }),
    );
    const tick = Math.max(100, Math.min(this.#ttlMs / 2, 1000));
    this.#sweeper = setInterval(() => this.#sweep(), tick);
    this.#receiveLoop().catch((err) => this.#opts.logger.debug(`udp receive: ${err}`));
    return Promise.resolve();
  }

  get addr(): Deno.Addr {
    if (!this.#sock) throw new Error("listener not initialised");
    return this.#sock.addr;
  }

  async #receiveLoop(): Promise<void> {
    const sock = this.#sock!;
    const buf = new Uint8Array(this.#bufferSize);
    while (!this.#closed) {
      let data: Uint8Array, from: Deno.Addr;
      try {
        [data, from] = await sock.receive(buf);
      } catch (err) {
        if (this.#closed) return;
        this.#opts.logger.warn(`udp receive: ${err}`);
        continue;
      }
      const key = addrString(from);
      let s = this.#sessions.get(key);
      if (!s) {
        if (this.#pending.length >= this.#backlog) continue;
        s = new UdpSession(this, key, from as Deno.NetAddr, this.#queueSize, this.#keepAlive);
        this.#sessions.set(key, s);
        this.#offer(s);
      }
      s.push(data.slice());
    }
  }

  #offer(s: UdpSession): void {
    if (this.#acceptWaiter) {
      const w = this.#acceptWaiter;
      this.#acceptWaiter = null;
      w.resolve(s);
    } else {
      this.#pending.push(s);
    }
  }

  #sweep(): void {
    const now = Date.now();
    for (const s of this.#sessions.values()) if (now - s.lastActive >= this.#ttlMs) s.close();
  }

  /** Sends from the listener socket (sessions call this). */
  send(p: Uint8Array, to: Deno.NetAddr): Promise<number> {
    return this.#sock!.send(p, to);
  }

  /** Forgets a closed session (sessions call this). */
  remove(s: UdpSession): void {
    if (this.#sessions.get(s.key) === s) this.#sessions.delete(s.key);
  }

  accept(): Promise<Conn> {
    if (this.#closed) return Promise.reject(new ListenerClosedError());
    const s = this.#pending.shift();
    if (s) return Promise.resolve(s);
    return new Promise((resolve, reject) => (this.#acceptWaiter = { resolve, reject }));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweeper);
    for (const s of [...this.#sessions.values()]) s.close();
    this.#pending.length = 0;
    try {
      this.#sock?.close();
    } catch {
      // already closed
    }
    this.#acceptWaiter?.reject(new ListenerClosedError());
    this.#acceptWaiter = null;
  }
}
