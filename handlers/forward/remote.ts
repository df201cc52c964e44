/**
 * Remote port forwarding handlers (`rtcp`, `rudp`): they serve the conns an `rtcp`/`rudp` listener accepts at the
 * far end of its chain and forward each to a forwarder node, exactly as local forwarding does (node selection,
 * failover, marking). A datagram conn (an `rudp` peer session) is forwarded over UDP.
 * @module
 */
import { ConfigError } from "../../core/errors.ts";
import type { Conn } from "../../core/conn.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { ConnContext, Handler, HandlerOptions } from "../../core/contracts.ts";
import { ForwardHandler } from "./handler.ts";

/** The `rtcp` and `rudp` handlers. */
export class RemoteForwardHandler implements Handler {
  readonly #name: "rtcp" | "rudp";
  readonly #opts: HandlerOptions;
  readonly #inner: ForwardHandler;

  constructor(opts: HandlerOptions, name: "rtcp" | "rudp") {
    this.#name = name;
    this.#opts = opts;
    this.#inner = new ForwardHandler(opts, name === "rudp" ? "udp" : "tcp");
  }

  /** @throws {ConfigError} without forward targets */
  init(md: Metadata): Promise<void> {
    if (!this.#opts.forwarder?.nodes.length) {
      return Promise.reject(
        new ConfigError(
          `handler "${this.#name}": no forward targets (forwarder.nodes is empty; ` +
            `on the command line: -L ${this.#name}://:port/target:port)`,
        ),
      );
    }
    return this.#inner.init(md);
  }

  handle(conn: Conn, ctx: ConnContext): Promise<void> {
    return this.#inner.handle(conn, ctx);
  }
}
