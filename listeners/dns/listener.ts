/**
 * The `dns` listener (GOST's x/listener/dns): a DNS server front end whose every query is one conn for the `dns`
 * handler (listeners/dns/message_conn.ts). `mode` picks the transport: `udp` (default; one socket, a query per
 * datagram), `tcp` and `tls` (2-byte framed queries, listeners/dns/stream.ts), `https` (DoH, listeners/dns/doh.ts).
 * Queries wait for `accept()` in a queue of `backlog`; one that finds it full is dropped with a warning, as GOST
 * drops it (DoH: 503).
 * @module
 */
import { addrString, closeQuietly, type Conn } from "../../core/conn.ts";
import { type Listener, ListenerClosedError, type ListenerOptions } from "../../core/contracts.ts";
import { ConfigError, errorMessage } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import { bindListenAddr, parseListenAddr } from "../addr.ts";
import { TcpListener } from "../tcp/listener.ts";
import { TlsListener } from "../tls/listener.ts";
import { DohServer } from "./doh.ts";
import { DnsMessageConn } from "./message_conn.ts";
import { serveStream } from "./stream.ts";

/** The listener's modes. */
export const DNS_MODES = ["udp", "tcp", "tls", "https"] as const;
/** A mode of the listener. */
export type DnsMode = typeof DNS_MODES[number];

/** GOST's defaults (its docs; miekg/dns's server). */
export const DNS_LISTENER_DEFAULTS = {
  backlog: 128,
  readBufferSize: 512,
  readTimeoutMs: 2_000,
  writeTimeoutMs: 2_000,
};

/** TCP and TLS clients served at once; one more is closed at once, with a warning. */
export const MAX_STREAM_CONNS = 1024;

/** The `dns` listener. */
export class DnsListener implements Listener {
  readonly #opts: ListenerOptions;
  #mode: DnsMode = "udp";
  #backlog = DNS_LISTENER_DEFAULTS.backlog;
  #readTimeoutMs = DNS_LISTENER_DEFAULTS.readTimeoutMs;
  #writeTimeoutMs = DNS_LISTENER_DEFAULTS.writeTimeoutMs;
  #addr: Deno.Addr | null = null;
  #sock: Deno.DatagramConn | null = null;
  #inner: Listener | null = null;
  #doh: DohServer | null = null;
  readonly #queue: DnsMessageConn[] = [];
  #waiter: PromiseWithResolvers<Conn> | null = null;
  readonly #streams = new Set<Conn>();
  #closed = false;
  #dropped = 0;

  constructor(opts: ListenerOptions) {
    this.#opts = opts;
  }

  /** The mode it serves. */
  get mode(): DnsMode {
    return this.#mode;
  }

  /** Queries dropped because the queue was full. */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * Reads `mode`, `backlog`, `readBufferSize`, `readTimeout`, `writeTimeout` (and, for `tls`/`https`, the TLS keys of
   * the `tls` listener), then binds.
   * @throws {ConfigError} on an unknown mode or a bad value; `mptcp=true` (Deno has no MPTCP)
   */
  async init(md: Metadata): Promise<void> {
    const mode = md.string("mode", "udp").trim().toLowerCase() || "udp";
    if (!(DNS_MODES as readonly string[]).includes(mode)) {
      throw new ConfigError(`Invalid "mode" of listener dns: "${mode}": supported are ${DNS_MODES.join(", ")}`);
    }
    this.#mode = mode as DnsMode;
    this.#backlog = md.int("backlog", 0, 0, 1_000_000) || DNS_LISTENER_DEFAULTS.backlog;
    const bufferSize = md.int("readBufferSize", 0, 0, 65_535) || DNS_LISTENER_DEFAULTS.readBufferSize;
    this.#readTimeoutMs = md.duration("readTimeout", 0) || DNS_LISTENER_DEFAULTS.readTimeoutMs;
    this.#writeTimeoutMs = md.duration("writeTimeout", 0) || DNS_LISTENER_DEFAULTS.writeTimeoutMs;
    if (md.bool("mptcp")) throw new ConfigError(`listener dns: mptcp=true is not supported: Deno has no MPTCP`);
    const offer = (c: DnsMessageConn) => this.#offer(c);
    const logger = this.#opts.logger;
    switch (this.#mode) {
      case "udp": {
        const sock = bindListenAddr(
          parseListenAddr(this.#opts.addr),
          (hostname, port) => Deno.listenDatagram({ hostname, port, transport: "udp" }),
        );
        this.#sock = sock;
        this.#addr = sock.addr;
        this.#receive(sock, bufferSize).catch((err) => {
          if (!this.#closed) logger.warn(`dns udp: receive: ${errorMessage(err)}`);
        });
        break;
      }
      case "tcp":
      case "tls": {
        const inner = this.#mode === "tcp" ? new TcpListener(this.#opts) : new TlsListener(this.#opts);
        await inner.init(md);
        this.#inner = inner;
        this.#addr = inner.addr;
        this.#acceptStreams(inner).catch((err) => {
          if (!this.#closed) logger.warn(`dns ${this.#mode}: accept: ${errorMessage(err)}`);
        });
        break;
      }
      case "https": {
        this.#doh = await DohServer.start(this.#opts, md, {
          offer,
          readTimeoutMs: this.#readTimeoutMs,
          writeTimeoutMs: this.#writeTimeoutMs,
          logger,
        });
        this.#addr = this.#doh.addr;
        break;
      }
    }
    logger.debug(`dns listener on ${addrString(this.#addr!)}: mode ${this.#mode}`);
  }

  get addr(): Deno.Addr {
    if (!this.#addr) throw new Error("listener not initialised");
    return this.#addr;
  }

  /** One query per datagram; a datagram longer than `readBufferSize` is dropped with a log line. */
  async #receive(sock: Deno.DatagramConn, size: number): Promise<void> {
    const buf = new Uint8Array(size + 1);
    const local = sock.addr;
    while (!this.#closed) {
      let data: Uint8Array, from: Deno.Addr;
      try {
        [data, from] = await sock.receive(buf);
      } catch (err) {
        if (this.#closed) return;
        this.#opts.logger.debug(`dns udp: receive: ${errorMessage(err)}`);
        continue;
      }
      if (data.length > size) {
        this.#opts.logger.info(`dns udp: a datagram over readBufferSize (${size} bytes) dropped`, {
          remote: addrString(from),
        });
        continue;
      }
      const to = from as Deno.NetAddr;
      const msg = new DnsMessageConn(data.slice(), local, to, (reply) => sock.send(reply, to).then(() => {}));
      if (!this.#offer(msg)) msg.close();
    }
  }

  async #acceptStreams(inner: Listener): Promise<void> {
    for (;;) {
      let conn: Conn;
      try {
        conn = await inner.accept();
      } catch (err) {
        if (this.#closed || err instanceof ListenerClosedError) return;
        this.#opts.logger.warn(`dns ${this.#mode}: accept: ${errorMessage(err)}`);
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      if (this.#closed) return closeQuietly(conn);
      if (this.#streams.size >= MAX_STREAM_CONNS) {
        this.#opts.logger.warn(
          `dns ${this.#mode}: ${MAX_STREAM_CONNS} clients are served already: client ${
            addrString(conn.remoteAddr)
          } discarded`,
        );
        closeQuietly(conn);
        continue;
      }
      this.#streams.add(conn);
      serveStream(conn, {
        offer: (c) => this.#offer(c),
        readTimeoutMs: this.#readTimeoutMs,
        writeTimeoutMs: this.#writeTimeoutMs,
        mode: this.#mode,
        logger: this.#opts.logger,
      }).finally(() => this.#streams.delete(conn));
    }
  }

  /** Queues a query for `accept()`; false (with a warning, GOST's) when the queue is full. */
  #offer(c: DnsMessageConn): boolean {
    if (this.#closed) return false;
    const w = this.#waiter;
    if (w) {
      this.#waiter = null;
      w.resolve(c);
      return true;
    }
    if (this.#queue.length >= this.#backlog) {
      this.#dropped++;
      this.#opts.logger.warn(`connection queue is full, client ${addrString(c.remoteAddr)} discarded`);
      return false;
    }
    this.#queue.push(c);
    return true;
  }

  accept(): Promise<Conn> {
    if (this.#closed) return Promise.reject(new ListenerClosedError());
    const c = this.#queue.shift();
    if (c) return Promise.resolve(c);
    if (this.#waiter) return Promise.reject(new Error("accept() is already pending"));
    this.#waiter = Promise.withResolvers();
    return this.#waiter.promise;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.#sock);
    this.#inner?.close();
    this.#doh?.close();
    for (const c of this.#streams) closeQuietly(c);
    for (const c of this.#queue.splice(0)) c.close();
    this.#waiter?.reject(new ListenerClosedError());
    this.#waiter = null;
  }
}
