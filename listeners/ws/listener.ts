/**
 * The `ws` and `wss` listeners (GOST's x/listener/ws): the conns of an inner listener (`tcp` for ws, `tls` for wss)
 * each upgraded to a WebSocket at GOST's `path`; the upgraded conns are the handler's. Upgrades run in the
 * background, each bounded in time, so a silent client never holds up `accept()`. A request that is not an upgrade
 * is answered (400/404/405) and closed with a log line; upgraded conns wait in a queue of `backlog` (GOST drops a
 * conn that finds it full, so do we).
 * @module
 */
import { addrString, closeQuietly, type Conn } from "../../core/conn.ts";
import { errorMessage, isBenignEnd } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import { type Listener, ListenerClosedError, type ListenerOptions } from "../../core/contracts.ts";
import { timeout } from "../../core/deadline.ts";
import { serverHandshake, UpgradeRefusedError } from "./handshake.ts";
import { parseWsCommon, type WsCommon } from "./options.ts";

/** GOST's default `backlog` of upgraded conns. */
export const DEFAULT_WS_BACKLOG = 128;

/** WebSocket upgrades over the conns of `inner`. */
export class WsListener implements Listener {
  readonly #inner: Listener;
  readonly #opts: ListenerOptions;
  readonly #type: string;
  #ws: WsCommon | null = null;
  #backlog = DEFAULT_WS_BACKLOG;
  #closed = false;
  #pumping = false;
  #pumpError: unknown = null;
  readonly #ready: Conn[] = [];
  readonly #pending = new Set<Conn>();
  #wake: (() => void) | null = null;

  /**
   * @param inner the listener of the underlying conns (not initialised yet: `init` does it)
   * @param type `ws` or `wss`, for messages
   */
  constructor(inner: Listener, opts: ListenerOptions, type: string) {
    this.#inner = inner;
    this.#opts = opts;
    this.#type = type;
  }

  /** Reads the ws keys (listeners/ws/mod.ts), then initialises (binds) the inner listener. */
  async init(md: Metadata): Promise<void> {
    this.#ws = parseWsCommon(md, `listener ${this.#type}`);
    this.#backlog = md.int(["ws.backlog", "backlog"], DEFAULT_WS_BACKLOG, 0) || DEFAULT_WS_BACKLOG;
    await this.#inner.init(md);
    this.#opts.logger.debug(`${this.#type} listener on ${this.#opts.addr}: path ${this.#ws.path}`);
  }

  get addr(): Deno.Addr {
    return this.#inner.addr;
  }

  async accept(): Promise<Conn> {
    for (;;) {
      if (this.#closed) throw new ListenerClosedError();
      if (!this.#pumping && this.#pumpError === null) this.#startPump();
      const conn = this.#ready.shift();
      if (conn) return conn;
      if (this.#pumpError !== null) {
        const err = this.#pumpError;
        this.#pumpError = null;
        throw err;
      }
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  #startPump(): void {
    this.#pumping = true;
    this.#pump().catch((err) => {
      if (!this.#closed) this.#pumpError = err;
    }).finally(() => {
      this.#pumping = false;
      this.#notify();
    });
  }

  /** Takes conns and starts their upgrades until the listener closes or the inner `accept` fails. */
  async #pump(): Promise<void> {
    const ws = this.#ws!;
    while (!this.#closed) {
      const raw = await this.#inner.accept();
      if (this.#closed) return closeQuietly(raw);
      this.#pending.add(raw);
      const what = `${this.#type} upgrade (readHeaderTimeout/handshakeTimeout)`;
      timeout(serverHandshake(raw, ws), ws.serverMs, what, () => closeQuietly(raw)).then((conn) => {
        this.#pending.delete(raw);
        if (this.#closed) return closeQuietly(conn);
        if (this.#ready.length >= this.#backlog) {
          closeQuietly(conn);
          return this.#opts.logger.warn(`connection queue is full, client ${addrString(raw.remoteAddr)} discarded`);
        }
        this.#ready.push(conn);
        this.#notify();
      }, (err) => {
        this.#pending.delete(raw);
        closeQuietly(raw);
        if (this.#closed) return;
        const fields = { remote: addrString(raw.remoteAddr) };
        const msg = `${this.#type} upgrade failed: ${errorMessage(err)}`;
        if (err instanceof UpgradeRefusedError || !isBenignEnd(err)) this.#opts.logger.warn(msg, fields);
        else this.#opts.logger.debug(msg, fields);
      });
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#inner.close();
    for (const c of this.#pending) closeQuietly(c);
    for (const c of this.#ready.splice(0)) closeQuietly(c);
    this.#pending.clear();
    this.#notify();
  }
}
