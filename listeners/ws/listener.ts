/**
 * The `ws` and `wss` listeners (GOST's x/listener/ws): the conns of an inner listener (`tcp` for ws, `tls` for wss)
 * each upgraded to a WebSocket at GOST's `path`; the upgraded conns are the handler's. Upgrades run in the
 * background, each bounded in time, so a silent client never holds up `accept()`. A request that is not an upgrade
 * is answered (400/404/405) and closed with a log line; upgraded conns wait in a queue of `backlog` (GOST drops a
 * conn that finds it full, so do we). The queue and the background upgrades are listeners/handshaking.ts.
 * @module
 */
import { closeQuietly, type Conn } from "../../core/conn.ts";
import { isBenignEnd } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { Listener, ListenerOptions } from "../../core/contracts.ts";
import { timeout } from "../../core/deadline.ts";
import { HandshakingListener } from "../handshaking.ts";
import { serverHandshake, UpgradeRefusedError } from "./handshake.ts";
import { parseWsCommon } from "./options.ts";

/** GOST's default `backlog` of upgraded conns. */
export const DEFAULT_WS_BACKLOG = 128;

/** WebSocket upgrades over the conns of `inner`. */
export class WsListener extends HandshakingListener {
  readonly #inner: Listener;
  readonly #opts: ListenerOptions;
  readonly #type: string;

  /**
   * @param inner the listener of the underlying conns (not initialised yet: `init` does it)
   * @param type `ws` or `wss`, for messages
   */
  constructor(inner: Listener, opts: ListenerOptions, type: string) {
    super(opts, `${type} upgrade`);
    this.#inner = inner;
    this.#opts = opts;
    this.#type = type;
  }

  /** Reads the ws keys (listeners/ws/mod.ts), then initialises (binds) the inner listener. */
  override async init(md: Metadata): Promise<void> {
    const ws = parseWsCommon(md, `listener ${this.#type}`);
    const backlog = md.int(["ws.backlog", "backlog"], DEFAULT_WS_BACKLOG, 0) || DEFAULT_WS_BACKLOG;
    const what = `${this.#type} upgrade (readHeaderTimeout/handshakeTimeout)`;
    const upgrade = (raw: Conn) => timeout(serverHandshake(raw, ws), ws.serverMs, what, () => closeQuietly(raw));
    // attached first, so that a close during the inner init closes the inner listener too
    this.attach(this.#inner, upgrade, { timeoutMs: 0, backlog, failureLevel });
    await this.#inner.init(md);
    this.#opts.logger.debug(`${this.#type} listener on ${this.#opts.addr}: path ${ws.path}`);
  }
}

/** A refused upgrade (answered 400/404/405) or a broken one is a warning; a client that reset or went quiet, debug. */
function failureLevel(err: unknown): "debug" | "warn" {
  return err instanceof UpgradeRefusedError || !isBenignEnd(err) ? "warn" : "debug";
}
