/**
 * The `ws` and `wss` dialers (GOST's x/dialer/ws): `dial` opens the conn as the `tcp` dialer does (wss: the `tls`
 * dialer, TLS included) and upgrades it; `handshake` upgrades a conn earlier chain hops opened (wss: TLS first).
 * With `keepalive` a ping goes out every `ttl` (default 15s) and a session that has not answered with a pong for
 * two periods is closed, as GOST's read deadline does.
 * @module
 */
import { closeQuietly, type Conn } from "../../core/conn.ts";
import { HandshakeError, TimeoutError } from "../../core/errors.ts";
import { Metadata } from "../../core/metadata.ts";
import type { ClientPluginOptions, Dialer, DialOptions } from "../../core/contracts.ts";
import { timeout } from "../../core/deadline.ts";
import { TcpDialer } from "../tcp/dialer.ts";
import type { WsConn } from "./conn.ts";
import { clientHandshake } from "./handshake.ts";
import { DEFAULT_WS_KEEPALIVE_MS, parseWsCommon, type WsCommon } from "./options.ts";

/** WebSocket client over TCP (ws) or TLS (wss). */
export class WsDialer implements Dialer {
  readonly #inner: Dialer;
  readonly #type: string;
  #ws: WsCommon | null = null;
  #host = "";
  #pingMs = 0;

  /**
   * @param inner the dialer of the underlying conn (`tcp` for ws, `tls` for wss), not initialised yet
   * @param type `ws` or `wss`
   */
  constructor(_opts: ClientPluginOptions, inner: Dialer, type: string) {
    this.#inner = inner;
    this.#type = type;
  }

  /** Reads the ws keys (listeners/ws/mod.ts); the inner dialer gets `tcp.keepalive` as its `keepalive`. */
  async init(md: Metadata): Promise<void> {
    this.#ws = parseWsCommon(md, `dialer ${this.#type}`);
    this.#host = md.string(["ws.host", "host"]);
    if (md.bool(["ws.keepalive", "keepalive"])) {
      this.#pingMs = md.duration(["ttl", "keepalive.interval"], 0) || DEFAULT_WS_KEEPALIVE_MS;
    }
    const record = { ...md.toRecord(), keepalive: md.bool("tcp.keepalive") };
    const innerMd = new Metadata(record);
    await this.#inner.init(innerMd);
    // what the inner dialer read (dialTimeout, TLS keys) counts as read here
    for (const k of Object.keys(record)) if (innerMd.asked(k) && k !== "keepalive") md.find(k);
  }

  /** Opens the conn to `addr` and upgrades it. @throws {DialError} or {@link HandshakeError} naming `addr` */
  async dial(addr: string, opts: DialOptions = {}): Promise<Conn> {
    return await this.#upgrade(await this.#inner.dial(addr, opts), addr, opts);
  }

  /** Upgrades `conn` (wss: after the TLS handshake). @throws {HandshakeError} naming `addr` */
  async handshake(conn: Conn, addr: string, opts: DialOptions = {}): Promise<Conn> {
    const c = this.#inner.handshake ? await this.#inner.handshake(conn, addr, opts) : conn;
    return await this.#upgrade(c, addr, opts);
  }

  async #upgrade(conn: Conn, addr: string, opts: DialOptions): Promise<Conn> {
    const ws = this.#ws!;
    const stop = () => closeQuietly(conn);
    opts.signal?.addEventListener("abort", stop, { once: true });
    let c: WsConn;
    try {
      const h = { host: this.#host || addr, path: ws.path, header: ws.header, bufferSize: ws.bufferSize };
      c = await timeout(clientHandshake(conn, h), ws.handshakeMs, `${this.#type} handshake with ${addr}`, stop);
    } catch (err) {
      closeQuietly(conn);
      if (err instanceof TimeoutError || err instanceof HandshakeError) throw err;
      throw new HandshakeError(`${this.#type} handshake with ${addr} failed: ${String(err)}`, { cause: err });
    } finally {
      opts.signal?.removeEventListener("abort", stop);
    }
    if (this.#pingMs > 0) keepAlive(c, this.#pingMs, opts);
    return c;
  }
}

/** Pings every `ms`; closes `c` when no pong came for two periods. Stops once a ping cannot be written. */
function keepAlive(c: WsConn, ms: number, opts: DialOptions): void {
  let last = Date.now();
  c.onPong = () => last = Date.now();
  const timer = setInterval(() => {
    if (Date.now() - last > 2 * ms) {
      clearInterval(timer);
      opts.logger?.debug(`ws keep-alive: no pong for ${2 * ms} ms, closing`);
      return c.close();
    }
    c.ping().catch(() => clearInterval(timer));
  }, ms);
  Deno.unrefTimer(timer);
}

/** A ws dialer over plain TCP. */
export function wsDialer(opts: ClientPluginOptions): WsDialer {
  return new WsDialer(opts, new TcpDialer(opts), "ws");
}
