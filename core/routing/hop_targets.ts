/**
 * A forwarder that names a top-level hop (`forwarder: {hop: h1}`, GOST's late-bound hop): its targets are the
 * nodes of the hop registered under that name when a target is picked, so a hop replaced through the Web API
 * (`PUT /config/hops/h1`) or a reload takes effect on the next connection, without restarting the service. The
 * hop's selector picks (strategy, maxFails, failTimeout, each node's weight and backup); its failure marks are the
 * hop's, and start afresh with a replaced hop. The nodes' addresses are the targets: their connectors and dialers
 * are for chains, a forwarder dials through its service's router.
 * @module
 */
import type { ForwardTargets, Node } from "../contracts.ts";
import type { Hop } from "./chain.ts";

/**
 * The targets of a named hop, looked up at every pick.
 * @example const targets = new NamedHopTargets("h1", () => reg.hops.get("h1"));
 */
export class NamedHopTargets implements ForwardTargets {
  /** The hop's name. */
  readonly hop: string;
  readonly #lookup: () => Hop | undefined;
  #last: readonly Node[];

  /**
   * Targets of the hop `lookup` returns (the hop named `hop`).
   * @param initial the hop's nodes when the service is built (a removed hop leaves them listed, none selectable)
   */
  constructor(hop: string, lookup: () => Hop | undefined, initial: readonly Node[] = []) {
    this.hop = hop;
    this.#lookup = lookup;
    this.#last = initial;
  }

  /**
   * The current hop's nodes; once the hop is removed, the ones it last had: the handler stays a forwarder (it does
   * not fall back to the client's own target) and finds no node to pick.
   */
  get nodes(): readonly Node[] {
    const hop = this.#lookup();
    if (hop) this.#last = hop.group.nodes;
    return this.#last;
  }

  /** Picks a node of the current hop with its selector; undefined when the hop is gone or every node is excluded. */
  select(hashKey?: string, exclude?: ReadonlySet<Node>): Node | undefined {
    return this.#lookup()?.group.select(hashKey, exclude);
  }

  /** Counts a failure of `node` in the current hop (a node of a hop since replaced is not counted). */
  markFailed(node: Node): void {
    const group = this.#lookup()?.group;
    if (group?.nodes.includes(node)) group.markFailed(node);
  }

  /** Clears `node`'s failures in the current hop. */
  markOk(node: Node): void {
    const group = this.#lookup()?.group;
    if (group?.nodes.includes(node)) group.markOk(node);
  }
}
