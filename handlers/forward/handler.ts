/**
 * Local port forwarding (`tcp`, `udp`, `forward` handlers): every accepted conn goes to a forwarder node picked
 * by the selector; a node that fails to connect is marked and the next one is tried.
 * @module
 */
import { closeQuietly, type Conn, type Network } from "../../core/conn.ts";
import { ConfigError, DialError, errorMessage } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import { type ConnContext, dialOptions, type Handler, type HandlerOptions } from "../../core/contracts.ts";
import type { Node } from "../../core/contracts.ts";
import { relay } from "../../core/relay.ts";

/** Forwards conns to the forwarder's nodes. */
export class ForwardHandler implements Handler {
  readonly #opts: HandlerOptions;
  readonly #network: Network;

  /** @param network the network used to reach targets (`udp` for the udp handler) */
  constructor(opts: HandlerOptions, network: Network) {
    this.#opts = opts;
    this.#network = network;
  }

  init(_md: Metadata): Promise<void> {
    if (!this.#opts.forwarder?.nodes.length) {
      return Promise.reject(
        new ConfigError(
          `handler "${this.#network === "udp" ? "udp" : "tcp"}": no forward targets (forwarder.nodes is empty)`,
        ),
      );
    }
    return Promise.resolve();
  }

  async handle(conn: Conn, ctx: ConnContext): Promise<void> {
    try {
      const target = await this.#dial(conn, ctx);
      ctx.logger.info(`${ctx.src} <-> ${ctx.dst}`);
      await relay(conn, target);
    } finally {
      closeQuietly(conn);
    }
  }

  async #dial(conn: Conn, ctx: ConnContext): Promise<Conn> {
    const group = this.#opts.forwarder!;
    const tried = new Set<Node>();
    let last: unknown;
    const hashKey = ctx.clientId ?? ctx.src.replace(/:\d+$/, "");
    for (let node = group.select(hashKey); node; node = group.select(hashKey, tried)) {
      tried.add(node);
      ctx.dst = node.addr;
      const network = (node.network as Network | undefined) ?? (conn.datagram ? "udp" : this.#network);
      try {
        const target = await this.#opts.router.dial(network, node.addr, dialOptions(ctx));
        group.markOk(node);
        return target;
      } catch (err) {
        last = err;
        group.markFailed(node);
        ctx.logger.warn(`${node.name}@${node.addr}: ${errorMessage(err)}`);
      }
    }
    throw last instanceof DialError ? last : new DialError(ctx.dst ?? "", errorMessage(last), { cause: last });
  }
}
