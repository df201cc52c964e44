/**
 * Chains of hops (GOST's route dial, docs/architecture.md, "The model"): each hop selects one node; a node is a dialer
 * (transport) plus a connector (protocol). The first node is dialed, every later node is reached through the previous
 * node's connector, and the last connector connects to the target. A node that fails — cannot be dialed, hangs, answers
 * garbage, refuses our credentials, loops back to this process — is marked so its hop skips it until `failTimeout`, and
 * the error names it; every half-built conn is closed on the way out, also when the dial is aborted.
 *
 * A route splits at a multiplexing node (GOST's `Chain.Route`): the nodes before it only carry the conn of the node's
 * session (kept by the chain, one per node, {@link MuxSessions}), and each dial through it is a stream on that session
 * followed by the nodes after it (docs/architecture.md, "Multiplexing dialers").
 * @module
 */
import { closeQuietly, type Conn, joinHostPort, type Network, splitHostPort } from "../conn.ts";
import {
  abortReason,
  AuthError,
  DialError,
  errorMessage,
  GostError,
  HandshakeError,
  PolicyError,
  TimeoutError,
} from "../errors.ts";
import type { Connector, Dialer, DialerSession, DialOptions, Listener } from "../contracts.ts";
import type { BypassChecker } from "./bypass.ts";
import type { ChainNodeRecorder } from "./chain_metrics.ts";
import { MuxSessions } from "./mux_sessions.ts";
import type { Logger } from "../log.ts";
import { isIP } from "../ip.ts";
import { type Node, NodeGroup, type SelectorOptions } from "./node_group.ts";

export type { BypassChecker, ChainNodeRecorder };

/** Options of a {@link Chain}. */
export interface ChainOptions {
  /** Where node steps are recorded (the process' metrics, `gost_chain_node_*`); absent: not recorded. */
  readonly recorder?: ChainNodeRecorder;
  /** In a chain group: picked only when every other chain is dead (chain metadata `backup`). */
  readonly backup?: boolean;
  /** In a chain group with the `random` strategy: the chain's weight (chain metadata `weight`, default 1). */
  readonly weight?: number;
  /** Where the end of a multiplexed session is logged; absent: not logged. */
  readonly logger?: Logger;
}

/** Options of a {@link ChainRoute}. */
export interface ChainRouteOptions extends ChainOptions {
  /** The sessions of multiplexing nodes, shared by a chain's routes; absent: the route keeps its own. */
  readonly sessions?: MuxSessions<ChainNode>;
  /**
   * Told how the route went: false when one of its nodes failed (the chain is at fault), true when it reached the
   * last node and that node answered (even a refusal of the target). A chain group marks its chains with it.
   */
  readonly outcome?: (ok: boolean) => void;
}

/** A chain node: an address reached by a dialer and spoken to by a connector. */
export interface ChainNode extends Node {
  /** Opens or wraps the conn to the node (transport). */
  readonly dialer: Dialer;
  /** Speaks the node's proxy protocol. */
  readonly connector: Connector;
  /** Node-level bypass: a matching target filters this node out of selection. */
  readonly bypass?: BypassChecker;
  /**
   * Maps the host of the node's address before it is dialed or asked for (the node's or its hop's `hosts` and
   * `resolver`); the first address is used. Absent: the address is used as written.
   */
  readonly resolve?: (host: string) => Promise<string[] | undefined>;
  /**
   * Its dialer opens nothing to the node (GOST's virtual node, `direct`): the node has no address to check or map,
   * and its connector dials from this host (DialOptions.direct).
   */
  readonly addressless?: boolean;
}

/** A hop: one node is selected per route. */
export class Hop {
  /** The hop's name. */
  readonly name: string;
  /** Hop-level bypass: a matching target ends the route before this hop. */
  readonly bypass?: BypassChecker;
  /** The file its nodes are re-read from (README.md, "Data sources: file and reload"); closed with the hop. */
  readonly source?: { close(): void };
  #group: NodeGroup;

  /**
   * Hop `name` selecting among `nodes` with `selector`, ended early by `bypass`; with `source`, its nodes may be
   * replaced ({@link replaceNodes}) and `close()` closes the source.
   */
  constructor(
    name: string,
    nodes: ChainNode[],
    selector?: SelectorOptions,
    bypass?: BypassChecker,
    source?: { close(): void },
  ) {
    this.name = name;
    this.#group = new NodeGroup(nodes, selector);
    this.bypass = bypass;
    this.source = source;
  }

  /** The hop's nodes and selector. */
  get group(): NodeGroup {
    return this.#group;
  }

  /** Swaps the nodes at once (a reloaded node file); the selector's fail marks start afresh. */
  replaceNodes(nodes: ChainNode[]): void {
    this.#group = new NodeGroup(nodes, this.#group.options);
  }

  /** Stops re-reading the hop's node file, if it has one. */
  close(): void {
    this.source?.close();
  }

  /**
   * The nodes a `parallel` hop races, `chosen` first: the live ones (backups only when every primary is dead), as
   * the selector would pick from.
   */
  racers(network: string, addr: string, chosen: ChainNode): ChainNode[] {
    const pool = this.group.pool(this.#bypassed(network, addr)) as ChainNode[];
    return [chosen, ...pool.filter((n) => n !== chosen)];
  }

  #bypassed(network: string, addr: string, exclude?: ReadonlySet<Node>): Set<Node> {
    const filtered = new Set<Node>(exclude);
    for (const n of this.group.nodes as ChainNode[]) if (n.bypass?.contains(network, addr)) filtered.add(n);
    return filtered;
  }

  /** Picks a node for `addr`, leaving out nodes whose bypass matches it. */
  select(network: string, addr: string, hashKey?: string, exclude?: ReadonlySet<Node>): ChainNode | undefined {
    return this.group.select(hashKey, this.#bypassed(network, addr, exclude)) as ChainNode | undefined;
  }
}

/** Thrown when a hop has no node left to use. */
export class NoNodeError extends GostError {
  override readonly code = "nonode";
}

/** Logs why a node's multiplexed session ended: a keep-alive timeout as a warning (the next dial opens a new one). */
function logSessionEnd(
  logger: Logger,
  chain: string,
  node: ChainNode,
  session: DialerSession,
  reason: string,
): void {
  const st = session.stats?.();
  const what = `chain ${chain}: node ${node.name}@${node.addr}: ${st?.transport ?? "mux"} session` +
    (st ? ` ${st.local} -> ${st.remote} (${st.streamsTotal} streams, ${st.bytesIn} B in, ${st.bytesOut} B out)` : "");
  const fields = { kind: "mux", chain, node: node.name, reason };
  if (reason === "keepalive") {
    logger.warn(
      `${what} closed: nothing received for the keep-alive timeout (${st?.keepaliveTimeoutMs} ms); ` +
        "the next dial opens a new session",
      fields,
    );
  } else if (reason !== "local") logger.info(`${what} ended (${reason})`, fields);
  else logger.debug(`${what} closed`, fields);
}

/** A chain: an ordered list of hops. */
export class Chain {
  static #serials = 0;
  /** The chain's name. */
  readonly name: string;
  /** The hops, first to last. */
  readonly hops: readonly Hop[];
  /** Tells this chain from an earlier one of the same name (the API replaces chains). */
  readonly serial = ++Chain.#serials;
  /**
   * Names the path every route of this chain takes when there is no choice (each hop has one node): hop bypass
   * rules still end a route early, but as a function of the target alone. Undefined when a hop selects among nodes
   * or reads them from a file.
   */
  readonly fixedPath: string | undefined;
  /** The sessions of the chain's multiplexing nodes, one per node. */
  readonly sessions: MuxSessions<ChainNode>;
  /** Picked by a chain group only when every other chain is dead. */
  readonly backup: boolean;
  /** The chain's weight in a chain group (`random`). */
  readonly weight: number;
  readonly #recorder?: ChainNodeRecorder;

  /** Chain `name` through `hops`, in order. */
  constructor(name: string, hops: Hop[], opts: ChainOptions = {}) {
    this.name = name;
    this.hops = hops;
    this.#recorder = opts.recorder;
    this.backup = opts.backup ?? false;
    this.weight = opts.weight ?? 1;
    const { logger, recorder } = opts;
    this.sessions = new MuxSessions<ChainNode>({
      onEnd: (node, session, reason) => {
        recorder?.recordMuxSessionEnd?.(name, node.name, reason);
        if (logger) logSessionEnd(logger, name, node, session, reason);
      },
    });
    let path: string | undefined = `${name}#${this.serial}`;
    for (const hop of hops) {
      const nodes = hop.group.nodes;
      if (nodes.length !== 1 || hop.source) {
        path = undefined;
        break;
      }
      path += ` > ${nodes[0].name}@${nodes[0].addr}`;
    }
    this.fixedPath = path;
  }

  /**
   * Picks one node per hop. A hop whose bypass matches `addr` ends the route there (earlier hops only).
   * @returns the nodes in order; empty = dial directly
   * @throws {NoNodeError} when a hop has no selectable node
   */
  route(network: string, addr: string, hashKey?: string, outcome?: (ok: boolean) => void): ChainRoute {
    const nodes: RouteStep[] = [];
    for (const hop of this.hops) {
      if (hop.bypass?.contains(network, addr)) break;
      const node = hop.select(network, addr, hashKey);
      if (!node) throw new NoNodeError(`chain ${this.name}: hop ${hop.name} has no available node`);
      const parallel = nodes.length === 0 && hop.group.options.strategy === "parallel";
      nodes.push(parallel ? { hop, node, racers: hop.racers(network, addr, node) } : { hop, node });
    }
    return new ChainRoute(this.name, nodes, { sessions: this.sessions, recorder: this.#recorder, outcome });
  }

  /** Ends the sessions of its multiplexing nodes (the chain was replaced or removed). */
  close(): void {
    for (const hop of this.hops) hop.close();
    this.sessions.close();
  }
}

/**
 * Opens the conn to a route's first node by calling `open`, with the router's checks around it (a loop back to the
 * dialing service; the request's trail tagged on the conn).
 * @throws to fail the route at that node
 */
export type FirstNodeOpen = (node: ChainNode, open: () => Promise<Conn>) => Promise<Conn>;

/** Whether the dial was cancelled by the client or the service (the router's timeout aborts with a TimeoutError). */
function cancelled(signal?: AbortSignal): boolean {
  return !!signal?.aborted && !(signal.reason instanceof TimeoutError);
}

/**
 * Settles like `p`, or rejects with the signal's reason as soon as it aborts (a conn `p` brings later is closed):
 * a step that ignores the signal (a connector waiting for a reply) cannot outlive the dial.
 */
function untilAborted<T extends { close(): void }>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      p.then((c) => closeQuietly(c), () => {});
      reject(abortReason(signal));
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    p.then((v) => {
      signal.removeEventListener("abort", onAbort);
      resolve(v);
    }, (e) => {
      signal.removeEventListener("abort", onAbort);
      reject(e);
    });
  });
}

/** The node's address with its host mapped by the node's `resolve` (hosts, resolver), when it has one. */
async function resolvedAddr(node: ChainNode): Promise<string> {
  if (!node.resolve || node.addressless) return node.addr;
  const { host, port } = splitHostPort(node.addr);
  if (!host || isIP(host)) return node.addr;
  const ips = await node.resolve(host);
  return ips?.length ? joinHostPort(ips[0], port) : node.addr;
}

/**
 * The `parallel` strategy (GOST's race): dials every candidate at once and keeps the first conn; the others are
 * aborted, or closed when they connect later. Each candidate that fails is marked in `hop`.
 * @throws {DialError} listing every candidate's error when none connects
 */
async function race(
  racers: ChainNode[],
  dial: (n: ChainNode, o: DialOptions) => Promise<Conn>,
  hop: Hop,
  opts: DialOptions,
): Promise<{ node: ChainNode; conn: Conn }> {
  const losers = new AbortController();
  const onAbort = () => losers.abort(abortReason(opts.signal!));
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  let won = false;
  try {
    return await Promise.any(racers.map(async (node) => {
      let conn: Conn;
      try {
        conn = await dial(node, { ...opts, signal: losers.signal });
      } catch (err) {
        if (!won && !cancelled(opts.signal)) hop.group.markFailed(node);
        throw new Error(`${node.name}@${node.addr}: ${errorMessage(err)}`, { cause: err });
      }
      if (won) {
        closeQuietly(conn);
        throw new Error("lost the race");
      }
      won = true;
      return { node, conn };
    }));
  } catch (err) {
    const why = err instanceof AggregateError ? err.errors.map(errorMessage).join("; ") : errorMessage(err);
    throw new DialError(racers[0].addr, `hop ${hop.name} (parallel): no node connected: ${why}`, { cause: err });
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
    losers.abort(new Error("another node won the race"));
  }
}

/** One hop of a route: its node; for a first hop with the `parallel` strategy, every node it races too. */
export interface RouteStep {
  /** The hop. */
  readonly hop: Hop;
  /** The selected node (before a race: its first runner). */
  readonly node: ChainNode;
  /** The nodes a `parallel` first hop races, `node` first. */
  readonly racers?: ChainNode[];
}

/** One selected path through a chain. */
export class ChainRoute {
  /** The chain's name. */
  readonly chain: string;
  readonly #steps: RouteStep[];
  readonly #sessions: MuxSessions<ChainNode>;
  readonly #outcome?: (ok: boolean) => void;
  /** Where the route's node steps are recorded (the process' metrics), if anywhere. */
  readonly recorder?: ChainNodeRecorder;

  /** The route of chain `chain` through `steps`. */
  constructor(chain: string, steps: RouteStep[], opts: ChainRouteOptions = {}) {
    this.chain = chain;
    this.#steps = [...steps];
    this.#sessions = opts.sessions ?? new MuxSessions<ChainNode>();
    this.recorder = opts.recorder;
    this.#outcome = opts.outcome;
  }

  /**
   * The node selected in each hop, first to last; empty = dial directly. A first hop with the `parallel` strategy
   * names its first candidate until the race is won, then the winner.
   */
  get steps(): readonly RouteStep[] {
    return this.#steps;
  }

  /** Tells the route's owner (a chain group) how it went: see {@link ChainRouteOptions.outcome}. */
  report(ok: boolean): void {
    this.#outcome?.(ok);
  }

  /** `node-0@addr > node-1@addr`, for logs. */
  toString(): string {
    return this.steps.map(({ node }) => `${node.name}@${node.addr}`).join(" > ");
  }

  /**
   * Opens a conn that reaches the last node (every connector but the last has run). A node is reset (`markOk`)
   * once its connector got through to the next node.
   * @param first opens the conn to the first node (the router's checks)
   * @throws {DialError} naming the failing node (`node` set, the node marked) unless the dial was cancelled
   */
  connectToLast(opts: DialOptions = {}, first?: FirstNodeOpen): Promise<Conn> {
    return this.#reach(this.steps.length - 1, opts, first);
  }

  /**
   * A conn that node `k`'s connector speaks on. The route splits at the last multiplexing node `m` up to `k`: the
   * conn is a stream on `m`'s session, then the connectors of the nodes after `m` (none: from the first node on).
   */
  async #reach(k: number, opts: DialOptions, first?: FirstNodeOpen): Promise<Conn> {
    let m = k;
    while (m >= 0 && !this.steps[m].node.dialer.multiplex) m--;
    let conn: Conn | undefined;
    try {
      conn = m < 0 ? await this.#open(0, opts, first) : await this.#stream(m, opts, first);
      for (let i = Math.max(m, 0) + 1; i <= k; i++) conn = await this.#through(i, conn, opts);
      return conn;
    } catch (err) {
      closeQuietly(conn);
      throw err;
    }
  }

  /** The conn to node `i`, its transport's handshake done: the first node dialed, a later one reached through. */
  async #open(i: number, opts: DialOptions, first?: FirstNodeOpen): Promise<Conn> {
    if (i === 0) {
      const { hop, node, racers = [node] } = this.steps[0];
      const dialOne = (n: ChainNode, o: DialOptions) => {
        const dial = async () => n.dialer.dial(await resolvedAddr(n), o);
        return first ? first(n, dial) : dial();
      };
      if (racers.length === 1) return await this.#step(0, () => dialOne(node, opts), opts);
      return await this.#step(0, async () => {
        const won = await race(racers, dialOne, hop, opts);
        this.#steps[0] = { hop, node: won.node };
        return won.conn;
      }, opts);
    }
    const through = await this.#reach(i - 1, opts, first);
    try {
      return await this.#through(i, through, opts);
    } catch (err) {
      closeQuietly(through);
      throw err;
    }
  }

  /** Node `i - 1`'s connector connects to node `i` over `through`; node `i - 1` is reset once it got through. */
  async #through(i: number, through: Conn, opts: DialOptions): Promise<Conn> {
    const prev = this.steps[i - 1];
    const next = this.steps[i].node;
    const conn = await this.#step(
      i,
      async () => prev.node.connector.connect(through, "tcp", await resolvedAddr(next), opts),
      opts,
    );
    prev.hop.group.markOk(prev.node);
    return conn;
  }

  /**
   * A stream on the session of multiplexing node `m` (opened first when there is none). A stream that cannot be
   * opened ends the session (the next dial opens a new one) and fails node `m`.
   */
  async #stream(m: number, opts: DialOptions, first?: FirstNodeOpen): Promise<Conn> {
    const { node } = this.steps[m];
    const lease = await this.#sessions.session(
      node,
      (signal) => this.#session(m, { ...opts, signal }, first),
      opts.signal,
    );
    const start = performance.now();
    try {
      const conn = await untilAborted(lease.session.open(), opts.signal);
      if (!lease.fresh) this.#record(node, start, true);
      return conn;
    } catch (err) {
      if (!cancelled(opts.signal)) this.#sessions.drop(node, lease.session);
      throw this.#nodeFailed(m, err, opts, start);
    }
  }

  /** Opens the conn to multiplexing node `m` (through the nodes before it) and starts its session. */
  async #session(m: number, opts: DialOptions, first?: FirstNodeOpen): Promise<DialerSession> {
    const conn = await this.#open(m, opts, first);
    const { node } = this.steps[m];
    const start = performance.now();
    try {
      return await untilAborted(node.dialer.multiplex!(conn, node.addr, opts), opts.signal);
    } catch (err) {
      closeQuietly(conn);
      throw this.#nodeFailed(m, err, opts, start);
    }
  }

  #record(node: ChainNode, start: number, ok: boolean): void {
    const seconds = (performance.now() - start) / 1000;
    this.recorder?.recordChainNode(this.chain, node.name, seconds, ok);
  }

  /** Opens step `i`: `open` dials the node (i = 0) or asks the previous node to connect to it; then its handshake. */
  async #step(i: number, open: () => Promise<Conn>, opts: DialOptions): Promise<Conn> {
    const start = performance.now();
    const { node } = this.steps[i];
    let conn: Conn | undefined;
    let opened = false;
    try {
      conn = await untilAborted(open(), opts.signal);
      opened = true;
      if (i > 0 && node.dialer.handshake) {
        conn = await untilAborted(node.dialer.handshake(conn, node.addr, opts), opts.signal);
      }
      this.#record(node, start, true);
      return conn;
    } catch (err) {
      closeQuietly(conn);
      // The previous node refusing our credentials or answering garbage is its own fault, not the next node's.
      const prevAtFault = i > 0 && !opened && (err instanceof AuthError || err instanceof HandshakeError);
      throw this.#nodeFailed(prevAtFault ? i - 1 : i, err, opts, start);
    }
  }

  /** Marks node `i` failed (unless the dial was cancelled) and names it in the error. */
  #nodeFailed(i: number, err: unknown, opts: DialOptions, start: number): DialError {
    const { hop, node } = this.steps[i];
    const name = `${node.name}@${node.addr}`;
    const message = `chain ${this.chain}: node ${name}: ${errorMessage(err)}`;
    if (cancelled(opts.signal)) return new DialError(node.addr, message, { cause: err });
    hop.group.markFailed(node);
    this.#record(node, start, false);
    this.report(false);
    return new DialError(node.addr, message, { cause: err, node: name });
  }

  /**
   * Dials `addr` through every node. When the last node answers that it cannot reach `addr` (its connector throws
   * a {@link DialError}: HTTP 502, SOCKS REP ≠ 0) the node works and is not marked; any other failure of its
   * connector (timeout, garbage, refused credentials, EOF) is the node's and marks it.
   * @param first opens the conn to the first node (the router's checks)
   * @throws {DialError} naming the failing node (`node` set), or the target when the last node cannot reach it
   * @throws {PolicyError} when the last node refuses the target by a rule (a direct node's `action: reject`)
   */
  async dial(network: Network, addr: string, opts: DialOptions = {}, first?: FirstNodeOpen): Promise<Conn> {
    const conn = await this.connectToLast(opts, first);
    const i = this.steps.length - 1;
    const { hop, node: last } = this.steps[i];
    const start = performance.now();
    try {
      const c = await untilAborted(last.connector.connect(conn, network, addr, opts), opts.signal);
      hop.group.markOk(last);
      this.report(true);
      return c;
    } catch (err) {
      closeQuietly(conn);
      // a refusal by the rules where the last node dials (a direct node: `action: reject`, own endpoints) is no fault
      if (err instanceof PolicyError && !cancelled(opts.signal)) {
        hop.group.markOk(last);
        this.report(true);
        throw err;
      }
      if (!(err instanceof DialError) || cancelled(opts.signal)) throw this.#nodeFailed(i, err, opts, start);
      hop.group.markOk(last);
      this.report(true);
      throw new DialError(addr, `chain ${this.chain}: ${last.name}@${last.addr} > ${addr}: ${errorMessage(err)}`, {
        cause: err,
      });
    }
  }

  /**
   * Asks the last node to listen on `addr` (remote port forwarding).
   * @throws {DialError} when the last connector cannot bind
   */
  async bind(network: Network, addr: string, opts: DialOptions = {}, first?: FirstNodeOpen): Promise<Listener> {
    const last = this.steps[this.steps.length - 1];
    if (!last.node.connector.bind) {
      throw new DialError(addr, `chain ${this.chain}: the connector of ${last.node.name} cannot bind`);
    }
    const conn = await this.connectToLast(opts, first);
    try {
      const ln = await last.node.connector.bind(conn, network, addr, opts);
      last.hop.group.markOk(last.node);
      this.report(true);
      return ln;
    } catch (err) {
      closeQuietly(conn);
      throw err;
    }
  }
}
