/**
 * A chain group (GOST's `chainGroup: {chains, selector}` on a handler or listener): each route goes through one of
 * several chains, picked by the group's selector (round, random by chain `weight`, fifo, hash; `maxFails`,
 * `failTimeout`). A chain whose route fails at one of its nodes is marked failed and skipped until `failTimeout`; a
 * route that reaches its last node (even one that refuses the target) clears it. Chains with metadata `backup: true`
 * are picked only when every other chain is dead. Chains are looked up by name at every route (late binding, as a
 * service's `chain` is): one that is not defined is skipped.
 * @module
 */
import { DialError } from "../errors.ts";
import type { Metadata } from "../metadata.ts";
import type { Chain, ChainRoute } from "./chain.ts";
import { type Node, NodeGroup, type SelectorOptions } from "./node_group.ts";

/** A chain's place in the group: the node the group's selector picks, standing for the chain `name`. */
class Entry implements Node {
  readonly name: string;
  readonly addr = "";
  readonly metadata?: Metadata;
  readonly #lookup: (name: string) => Chain | undefined;

  constructor(name: string, lookup: (name: string) => Chain | undefined) {
    this.name = name;
    this.#lookup = lookup;
  }

  get chain(): Chain | undefined {
    return this.#lookup(this.name);
  }

  get weight(): number {
    return this.chain?.weight ?? 1;
  }

  get backup(): boolean {
    return this.chain?.backup ?? false;
  }
}

/**
 * Chains `names`, picked per route by `selector`.
 * @example
 * const g = new ChainGroup(["a", "b"], (n) => reg.chains.get(n), { strategy: "round", maxFails: 1, failTimeoutMs: 10_000 });
 * const route = g.route("tcp", "example.com:80");
 */
export class ChainGroup {
  /** `group(a,b)`, for logs and errors. */
  readonly name: string;
  readonly #entries: Entry[];
  readonly #group: NodeGroup;

  /** A group of the chains `names` (looked up with `lookup` at every route) picked by `selector`. */
  constructor(names: string[], lookup: (name: string) => Chain | undefined, selector: SelectorOptions) {
    this.name = `group(${names.join(",")})`;
    this.#entries = names.map((n) => new Entry(n, lookup));
    this.#group = new NodeGroup(this.#entries, selector);
  }

  /** The chains of the group that are defined now, in config order. */
  chains(): Chain[] {
    return this.#entries.flatMap((e) => e.chain ?? []);
  }

  /** A group picks a chain per route, so no route is fixed. */
  get fixedPath(): string | undefined {
    return undefined;
  }

  /**
   * Picks a chain and routes `addr` through it; the route tells the group how it went.
   * @throws {DialError} when no chain of the group is defined
   * @throws {NoNodeError} from the chain, when one of its hops has no node
   */
  route(network: string, addr: string, hashKey?: string): ChainRoute {
    const missing = new Set<Node>(this.#entries.filter((e) => !e.chain));
    const entry = this.#group.select(hashKey, missing) as Entry | undefined;
    const chain = entry?.chain;
    if (!entry || !chain) {
      throw new DialError(
        addr,
        `chain group: none of the chains ${this.#entries.map((e) => e.name).join(", ")} is defined`,
      );
    }
    return chain.route(network, addr, hashKey, (ok) => ok ? this.#group.markOk(entry) : this.#group.markFailed(entry));
  }

  /** Tells whether chain `name` is currently skipped (failed within `failTimeout`). */
  isDead(name: string): boolean {
    const e = this.#entries.find((x) => x.name === name);
    return !!e && this.#group.isDead(e);
  }
}
