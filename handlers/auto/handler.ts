/**
 * The `auto` handler (GOST's default): sniffs the first byte — 0x04 → SOCKS4, 0x05 → SOCKS5, anything else →
 * HTTP — and hands the conn, with that byte put back, to the matching handler.
 * @module
 */
import { type Conn, PrefixConn } from "../../core/conn.ts";
import { withDeadline } from "../../core/deadline.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { ConnContext, Handler, HandlerOptions } from "../../core/contracts.ts";
import { HttpHandler } from "../http/handler.ts";
import { PROBE_RESISTANCE_KEYS } from "../http/probe.ts";
import { Socks4Handler } from "../socks4/handler.ts";
import { Socks5Handler } from "../socks5/handler.ts";

const DEFAULT_READ_TIMEOUT_MS = 15_000;

/** Dispatches to socks4, socks5 or http by the first byte. */
export class AutoHandler implements Handler {
  readonly #http: Handler;
  readonly #socks4: Handler;
  readonly #socks5: Handler;
  #readTimeoutMs = DEFAULT_READ_TIMEOUT_MS;
  readonly #opts: HandlerOptions;

  constructor(opts: HandlerOptions) {
    this.#opts = opts;
    this.#http = new HttpHandler(opts, true);
    this.#socks4 = new Socks4Handler(opts, true);
    this.#socks5 = new Socks5Handler(opts, true);
  }

  async init(md: Metadata): Promise<void> {
    this.#readTimeoutMs = md.duration("readTimeout", DEFAULT_READ_TIMEOUT_MS);
    await Promise.all([this.#http.init(md), this.#socks4.init(md), this.#socks5.init(md)]);
    if (md.string([...PROBE_RESISTANCE_KEYS])) {
      this.#opts.logger.warn(
        `service ${this.#opts.service}: probeResistance hides the HTTP side of the auto handler only: SOCKS4/5 ` +
          "clients get the usual SOCKS answers (as in GOST); use an http service to hide the proxy",
      );
    }
  }

  async handle(conn: Conn, ctx: ConnContext): Promise<void> {
    const first = new Uint8Array(1);
    const n = await withDeadline(conn, this.#readTimeoutMs, () => conn.read(first));
    if (!n) {
      conn.close();
      return;
    }
    const sniffed = new PrefixConn(conn, first);
    if (first[0] === 0x05) return await this.#socks5.handle(sniffed, ctx);
    if (first[0] === 0x04) return await this.#socks4.handle(sniffed, ctx);
    return await this.#http.handle(sniffed, ctx);
  }

  close(): void {
    for (const h of [this.#http, this.#socks4, this.#socks5]) h.close?.();
  }
}
