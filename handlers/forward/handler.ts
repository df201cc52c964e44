/**
 * Local port forwarding (`tcp`, `udp`, `forward` handlers): every accepted conn goes to a forwarder node picked
 * by the selector; a node that fails to connect is marked and the next one is tried. A target without a host
 * (`:22`) is this host (the router dials it as Go does). Without targets (`-L tcp://:8080 -F forward+tls://srv:8443`,
 * or GOST's placeholder `/:0`) the chain's last node picks the target: the conn is dialed to
 * {@link CHAIN_PICKS_TARGET} through the chain, as GOST dials `:0` (a `forward` node ignores it, a relay node sends it
 * to a relay server that forwards to its own targets); without a chain each conn fails naming the fix.
 *
 * With `sniffing=true` (`tcp` and `forward`; GOST's reverse proxy) the first bytes say the protocol (sniff.ts):
 * HTTP requests are routed one by one by Host and path (reverse_http.ts), TLS conns by the ClientHello's server name
 * (reverse_tls.ts), anything else raw to a node whose filter takes its protocol; a node's `filter`, `http` and `tls`
 * settings act only then. Nodes with a filter are never picked for a conn whose host or protocol is unknown.
 * @module
 */
import { closeQuietly, type Conn, type Network } from "../../core/conn.ts";
import { ConfigError, DialError, errorMessage } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import { type ConnContext, dialOptions, type Handler, type HandlerOptions } from "../../core/contracts.ts";
import type { Node } from "../../core/contracts.ts";
import { relay } from "../../core/relay.ts";
import { CHAIN_PICKS_TARGET } from "../../core/routing/router.ts";
import { type ForwardMetadata, NOT_SNIFFING, parseForwardMetadata } from "./metadata.ts";
import { NodeRouter, type RouteRequest } from "./route.ts";
import { sniff, type SniffedProtocol } from "./sniff.ts";

/** Forwards conns to the forwarder's nodes. */
export class ForwardHandler implements Handler {
  readonly #opts: HandlerOptions;
  readonly #network: Network;
  readonly #sniffs: boolean;
  readonly #nodes: NodeRouter;
  #md: Readonly<ForwardMetadata> = NOT_SNIFFING;

  /**
   * @param network the network used to reach targets (`udp` for the udp handler)
   * @param sniffs whether the handler reads `sniffing` (`tcp`, `forward`): GOST's reverse proxy
   */
  constructor(opts: HandlerOptions, network: Network, sniffs = false) {
    this.#opts = opts;
    this.#network = network;
    this.#sniffs = sniffs && network === "tcp";
    this.#nodes = new NodeRouter(opts);
  }

  /**
   * Reads the sniffing keys (metadata.ts) and makes the TLS dialers of nodes with `tls`.
   * @throws {ConfigError} on a bad value, or nodes with `filter`, `http` or `tls` without `sniffing=true`
   */
  async init(md: Metadata): Promise<void> {
    this.#md = parseForwardMetadata(md, this.#sniffs);
    if (!this.#md.sniffing && this.#nodes.routed) {
      const node = this.#opts.forwarder!.nodes.find((n) => n.route)!;
      throw new ConfigError(
        `forwarder node ${node.name}: filter, http and tls (and host, protocol, path, auth) act only with ` +
          `"sniffing"=true: set sniffing on the handler or remove them`,
      );
    }
    await this.#nodes.init();
  }

  async handle(conn: Conn, ctx: ConnContext): Promise<void> {
    try {
      if (this.#md.sniffing && !conn.datagram && this.#opts.forwarder?.nodes.length) {
        return await this.#sniffed(conn, ctx);
      }
      const target = await this.#dial(conn, ctx, { host: "", protocol: "", path: "" });
      ctx.logger.info(`${ctx.src} <-> ${ctx.dst}`);
      await relay(conn, target);
    } finally {
      closeQuietly(conn);
    }
  }

  async #sniffed(raw: Conn, ctx: ConnContext): Promise<void> {
    const { protocol, conn } = await sniff(raw, this.#md.sniffingTimeoutMs);
    if (ctx.logger.enabled("debug")) ctx.logger.debug(`sniffed ${protocol || "an unknown protocol"}`);
    if (protocol === "http") {
      const { serveHttp } = await import("./reverse_http.ts");
      return await serveHttp(conn, ctx, { md: this.#md, nodes: this.#nodes });
    }
    if (protocol === "tls") {
      const { serveTls } = await import("./reverse_tls.ts");
      return await serveTls(conn, ctx, this.#md, this.#nodes);
    }
    const target = await this.#dial(conn, ctx, { host: "", protocol: protocol as SniffedProtocol, path: "" });
    ctx.logger.info(`${ctx.src} <-> ${ctx.dst}`);
    await relay(conn, target);
  }

  async #dial(conn: Conn, ctx: ConnContext, req: RouteRequest): Promise<Conn> {
    const group = this.#opts.forwarder;
    if (!group?.nodes.length) {
      ctx.dst = CHAIN_PICKS_TARGET;
      return await this.#opts.router.dial(conn.datagram ? "udp" : this.#network, CHAIN_PICKS_TARGET, dialOptions(ctx));
    }
    const tried = new Set<Node>();
    let last: unknown;
    for (let node = this.#nodes.select(req, ctx); node; node = this.#nodes.select(req, ctx, tried)) {
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
    if (!tried.size) {
      throw new DialError(
        ctx.dst ?? "",
        `No forwarder node takes ${req.protocol || "this"} traffic: every node has a filter it does not match`,
      );
    }
    throw last instanceof DialError ? last : new DialError(ctx.dst ?? "", errorMessage(last), { cause: last });
  }
}
