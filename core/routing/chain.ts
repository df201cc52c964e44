/**
 * Chains of hops (GOST's route dial, DESIGN.md §3): each hop selects one node; a node is a dialer (transport)
 * plus a connector (protocol). The first node is dialed, every later node is reached through the previous node's
 * connector, and the last connector connects to the target. A node whose step fails is marked so its hop skips it
 * until `failTimeout`; every half-built conn is closed on the way out.
 * @module
 */
import { closeQuietly, type Conn, type Network } from "../conn.ts";
import { DialError, errorMessage, GostError } from "../errors.ts";
import type { Connector, Dialer, DialOptions, Listener } from "../plugin.ts";
import { recordChainNode } from "../observe/metrics.ts";
import type { BypassChecker } from "./bypass.ts";
import { type Node, NodeGroup, type SelectorOptions } from "./node_group.ts";

export type { BypassChecker };

/** A chain node: an address reached by a dialer and spoken to by a connector. */
export interface ChainNode extends Node {
  readonly dialer: Dialer;
  readonly connector: Connector;
  /** Node-level bypass: a matching target filters this node out of selection. */
  readonly bypass?: BypassChecker;
}

/** A hop: one node is selected per route. */
export class Hop {
  readonly name: string;
  readonly group: NodeGroup;
  /** Hop-level bypass: a matching target ends the route before this hop. */
  readonly bypass?: BypassChecker;

  constructor(name: string, nodes: ChainNode[], selector?: SelectorOptions, bypass?: BypassChecker) {
    this.name = name;
    this.group = new NodeGroup(nodes, selector);
    this.bypass = bypass;
  }

  /** Picks a node for `addr`, leaving out nodes whose bypass matches it. */
  select(network: string, addr: string, hashKey?: string, exclude?: ReadonlySet<Node>): ChainNode | undefined {
    const filtered = new Set<Node>(exclude);
    for (const n of this.group.nodes as ChainNode[]) if (n.bypass?.contains(network, addr)) filtered.add(n);
    return this.group.select(hashKey, filtered) as ChainNode | undefined;
  }
}

/** Thrown when a hop has no node left to use. */
export class NoNodeError extends GostError {
  override readonly code = "nonode";
}

/** A chain: an ordered list of hops. */
export class Chain {
  readonly name: string;
  readonly hops: readonly Hop[];

  constructor(name: string, hops: Hop[]) {
    this.name = name;
    this.hops = hops;
  }

  /**
   * Picks one node per hop. A hop whose bypass matches `addr` ends the route there (earlier hops only).
   * @returns the nodes in order; empty = dial directly
   * @throws {NoNodeError} when a hop has no selectable node
   */
  route(network: string, addr: string, hashKey?: string): ChainRoute {
    const nodes: { hop: Hop; node: ChainNode }[] = [];
    for (const hop of this.hops) {
      if (hop.bypass?.contains(network, addr)) break;
      const node = hop.select(network, addr, hashKey);
      if (!node) throw new NoNodeError(`chain ${this.name}: hop ${hop.name} has no available node`);
      nodes.push({ hop, node });
    }
    return new ChainRoute(this.name, nodes);
  }
}

/** One selected path through a chain. */
export class ChainRoute {
  readonly chain: string;
  readonly steps: readonly { hop: Hop; node: ChainNode }[];

  constructor(chain: string, steps: { hop: Hop; node: ChainNode }[]) {
    this.chain = chain;
    this.steps = steps;
  }

  /** `node-0@addr > node-1@addr`, for logs. */
  toString(): string {
    return this.steps.map(({ node }) => `${node.name}@${node.addr}`).join(" > ");
  }

  /** Opens a conn that reaches the last node (every connector but the last has run). */
  async connectToLast(opts: DialOptions = {}): Promise<Conn> {
    const first = this.steps[0];
    let conn: Conn | undefined;
    try {
      conn = await this.#step(first, () => first.node.dialer.dial(first.node.addr, opts), false, opts);
      for (let i = 1; i < this.steps.length; i++) {
        const prev = this.steps[i - 1].node;
        const step = this.steps[i];
        const through: Conn = conn;
        conn = await this.#step(step, () => prev.connector.connect(through, "tcp", step.node.addr, opts), true, opts);
      }
      return conn;
    } catch (err) {
      closeQuietly(conn);
      throw err;
    }
  }

  /** Opens one step; `wrap` runs the node's dialer handshake over a conn that earlier hops opened. */
  async #step(
    step: { hop: Hop; node: ChainNode },
    open: () => Promise<Conn>,
    wrap: boolean,
    opts: DialOptions,
  ): Promise<Conn> {
    const start = performance.now();
    const { hop, node } = step;
    let conn: Conn | undefined;
    try {
      conn = await open();
      if (wrap && node.dialer.handshake) conn = await node.dialer.handshake(conn, node.addr, opts);
      hop.group.markOk(node);
      recordChainNode(this.chain, node.name, (performance.now() - start) / 1000, true);
      return conn;
    } catch (err) {
      closeQuietly(conn);
      hop.group.markFailed(node);
      recordChainNode(this.chain, node.name, (performance.now() - start) / 1000, false);
      throw new DialError(node.addr, `chain ${this.chain}: node ${node.name}@${node.addr}: ${errorMessage(err)}`, {
        cause: err,
      });
    }
  }

  /**
   * Dials `addr` through every node.
   * @throws {DialError} naming the failing node, or the target when the last connector fails
   */
  async dial(network: Network, addr: string, opts: DialOptions = {}): Promise<Conn> {
    const conn = await this.connectToLast(opts);
    const last = this.steps[this.steps.length - 1].node;
    try {
      return await last.connector.connect(conn, network, addr, opts);
    } catch (err) {
      closeQuietly(conn);
      if (err instanceof GostError && err.code !== "dial") throw err;
      throw new DialError(addr, `chain ${this.chain}: ${last.name}@${last.addr} > ${addr}: ${errorMessage(err)}`, {
        cause: err,
      });
    }
  }

  /**
   * Asks the last node to listen on `addr` (remote port forwarding).
   * @throws {DialError} when the last connector cannot bind
   */
  async bind(network: Network, addr: string, opts: DialOptions = {}): Promise<Listener> {
    const last = this.steps[this.steps.length - 1].node;
    if (!last.connector.bind) {
      throw new DialError(addr, `chain ${this.chain}: the connector of ${last.name} cannot bind`);
    }
    const conn = await this.connectToLast(opts);
    try {
      return await last.connector.bind(conn, network, addr, opts);
    } catch (err) {
      closeQuietly(conn);
      throw err;
    }
  }
}
