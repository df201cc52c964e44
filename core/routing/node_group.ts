/**
 * A group of target nodes with a selector: round, random (weighted), fifo and hash strategies, with
 * `maxFails`/`failTimeout` marking and `backup` nodes used only when every primary node is dead.
 * @module
 */
import { ConfigError } from "../errors.ts";
import type { ForwardTargets, Node } from "../contracts.ts";

/** A selectable node: a name, an address and selection options. */
export type { Node } from "../contracts.ts";

/** Selection strategies and their GOST aliases. */
export const STRATEGIES: Record<string, Strategy> = {
  round: "round",
  rr: "round",
  random: "random",
  rand: "random",
  fifo: "fifo",
  ha: "fifo",
  hash: "hash",
  parallel: "parallel",
};
/**
 * A canonical strategy name. `parallel` (GOST's race: dial every live node at once, keep the first that connects)
 * applies to the first hop of a chain; elsewhere the config refuses it (core/config/selector.ts).
 */
export type Strategy = "round" | "random" | "fifo" | "hash" | "parallel";

/** Selector options. */
export interface SelectorOptions {
  /** How the next node is picked. */
  strategy: Strategy;
  /** Failures after which a node counts as dead. */
  maxFails: number;
  /** How long a dead node is skipped, in ms. */
  failTimeoutMs: number;
}

/** GOST's defaults: round robin, 1 fail, 10 s. */
export const DEFAULT_SELECTOR: SelectorOptions = { strategy: "round", maxFails: 1, failTimeoutMs: 10_000 };

/** Resolves a strategy name. @throws {ConfigError} naming the value and what is supported */
export function parseStrategy(name: string | undefined): Strategy {
  if (!name) return "round";
  const key = name.toLowerCase();
  // own keys only: "constructor" or "__proto__" must not name a strategy
  const s = Object.hasOwn(STRATEGIES, key) ? STRATEGIES[key] : undefined;
  if (!s) {
    throw new ConfigError(
      `Unknown selector strategy "${name}": supported are ${Object.keys(STRATEGIES).join(", ")}`,
    );
  }
  return s;
}

interface Marker {
  fails: number;
  lastFail: number;
}

function crc32(s: string): number {
  let c = ~0;
  for (const b of new TextEncoder().encode(s)) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/**
 * Nodes plus a selector.
 * @example
 * const g = new NodeGroup([{ name: "target-0", addr: "127.0.0.1:80", weight: 1, backup: false }]);
 * const node = g.select(); g.markFailed(node);
 */
export class NodeGroup implements ForwardTargets {
  /** The nodes, in config order. */
  readonly nodes: readonly Node[];
  /** The selector's options. */
  readonly options: SelectorOptions;
  readonly #markers = new Map<Node, Marker>();
  #counter = 0;

  /** `nodes` selected with `options` (GOST's defaults when absent). */
  constructor(nodes: Node[], options: SelectorOptions = DEFAULT_SELECTOR) {
    this.nodes = nodes;
    this.options = options;
  }

  /** Tells whether a node is currently considered dead. */
  isDead(node: Node, now = Date.now()): boolean {
    const m = this.#markers.get(node);
    if (!m || this.options.maxFails <= 0) return false;
    return m.fails >= this.options.maxFails && now - m.lastFail < this.options.failTimeoutMs;
  }

  /**
   * Picks a node: filters dead ones, then backups (unless every primary is dead), then applies the strategy.
   * If every node is dead, one is still returned as a last resort. Returns undefined for an empty group.
   * @param hashKey client id or client IP for the `hash` strategy
   * @param exclude nodes already tried for this request
   */
  select(hashKey?: string, exclude?: ReadonlySet<Node>): Node | undefined {
    // One node (every hop of a plain -F chain) is the answer whatever its state: it is also the last resort.
    if (this.nodes.length === 1 && !exclude?.has(this.nodes[0])) return this.nodes[0];
    const pool = this.pool(exclude);
    if (pool.length === 0) return undefined;
    switch (this.options.strategy) {
      case "fifo":
      case "parallel": // the race's first runner; the chain races the rest of the pool
        return pool[0];
      case "random": {
        const total = pool.reduce((s, n) => s + Math.max(n.weight, 0), 0);
        if (total <= 0) return pool[Math.floor(Math.random() * pool.length)];
        let r = Math.random() * total;
        for (const n of pool) {
          r -= Math.max(n.weight, 0);
          if (r < 0) return n;
        }
        return pool[pool.length - 1];
      }
      case "hash":
        if (hashKey) return pool[crc32(hashKey) % pool.length];
        return pool[Math.floor(Math.random() * pool.length)];
      default:
        return pool[this.#counter++ % pool.length];
    }
  }

  /**
   * The nodes a pick is made from, in config order: the live ones but `exclude`, only the backups when every primary
   * is dead, every one (dead too) as a last resort; empty when `exclude` leaves none.
   */
  pool(exclude?: ReadonlySet<Node>): Node[] {
    const candidates = exclude?.size ? this.nodes.filter((n) => !exclude.has(n)) : [...this.nodes];
    if (candidates.length === 0) return candidates;
    const now = Date.now();
    const alive = candidates.filter((n) => !this.isDead(n, now));
    const primary = alive.filter((n) => !n.backup);
    return primary.length ? primary : alive.length ? alive : candidates;
  }

  /** Records a failure of a node. */
  markFailed(node: Node): void {
    const m = this.#markers.get(node) ?? { fails: 0, lastFail: 0 };
    m.fails++;
    m.lastFail = Date.now();
    this.#markers.set(node, m);
  }

  /** Clears a node's failures after a success. */
  markOk(node: Node): void {
    this.#markers.delete(node);
  }
}
