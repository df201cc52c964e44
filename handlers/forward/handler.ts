/**
 * Local port forwarding (`tcp`, `udp`, `forward` handlers): every accepted conn goes to a forwarder node picked
 * by the selector; a node that fails to connect is marked and the next one is tried. A target without a host
 * (`:22`) is this host (the router dials it as Go does). Without targets (`-L tcp://:8080 -F forward+tls://srv:8443`,
 * or GOST's placeholder `/:0`) the chain's last node picks the target: the conn is dialed to
 * {@link CHAIN_PICKS_TARGET} through the chain, as GOST dials `:0` (a `forward` node ignores it, a relay node sends it
 * to a relay server that forwards to its own targets); without a chain each conn fails naming the fix.
 * @module
 */
import { closeQuietly, type Conn, type Network } from "../../core/conn.ts";
import { DialError, errorMessage } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import { type ConnContext, dialOptions, type Handler, type HandlerOptions } from "../../core/contracts.ts";
import type { Node } from "../../core/contracts.ts";
import { relay } from "../../core/relay.ts";
import { CHAIN_PICKS_TARGET } from "../../core/routing/router.ts";

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
    const group = this.#opts.forwarder;
    if (!group?.nodes.length) {
      ctx.dst = CHAIN_PICKS_TARGET;
      return await this.#opts.router.dial(conn.datagram ? "udp" : this.#network, CHAIN_PICKS_TARGET, dialOptions(ctx));
    }
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
