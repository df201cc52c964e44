/**
 * Handler-level observer (`handler.observer`): per-client stats sent as GOST's `kind: "handler"` events, one per
 * client whose counters changed, every `observer.period` of the handler metadata (default 5 s, at least 1 s);
 * `observer.resetTraffic` there makes bytes deltas. A failed batch is retried alone at the next tick.
 *
 * The client is the id the authenticator returned (`ctx.clientId`); unauthenticated clients share the empty id,
 * which the HTTP body leaves out, as GOST does. Like GOST, a connection counts for a client once the handler is
 * past authentication and knows the target (`ctx.dst` set): refused logins are not client traffic.
 *
 * Differences from GOST, which wraps the conn after the handshake: bytes are those of the whole client conn (the
 * proxy request and reply included), and `totalErrs` counts the connection's server errors (GOST leaves it 0).
 * Bytes of open connections are counted at each tick when the service exposes `ctx.traffic()`, else at close.
 * @module
 */
import type { Logger } from "../log.ts";
import type { ConnContext } from "../contracts.ts";
import type { ConnHook, ConnResult } from "../service/service.ts";
import type { Observer, ObserverEvent } from "./observer.ts";
import { SendQueue } from "./observer.ts";
import { PeriodicReporter } from "./service_observer.ts";
import { liveTraffic, type Traffic, TrafficDelta } from "./traffic.ts";

/** Counters of one client, with GOST's "updated since last read" flag. */
class ClientCounters {
  totalConns = 0;
  currentConns = 0;
  inputBytes = 0;
  outputBytes = 0;
  totalErrs = 0;
  updated = false;

  addTraffic(d: Traffic): void {
    if (!d.inputBytes && !d.outputBytes) return;
    this.inputBytes += d.inputBytes;
    this.outputBytes += d.outputBytes;
    this.updated = true;
  }
}

interface OpenConn {
  counters?: ClientCounters;
  delta: TrafficDelta;
}

/** What a {@link HandlerObserver} needs. */
export interface HandlerObserverOptions {
  service: string;
  observer: Observer;
  periodMs: number;
  resetTraffic: boolean;
  logger: Logger;
}

/**
 * Counts connections per client and reports them. Install it as a conn hook, then `start()`/`stop()` it with
 * the service.
 * @example
 * const ho = new HandlerObserver({ service: "s", observer, periodMs: 5000, resetTraffic: false, logger });
 * new Service({ …, connHooks: [ho] }); ho.start(); … ho.stop(); await ho.idle();
 */
export class HandlerObserver implements ConnHook {
  readonly #opts: HandlerObserverOptions;
  readonly #clients = new Map<string, ClientCounters>();
  readonly #open = new Map<ConnContext, OpenConn>();
  readonly #queue = new SendQueue();
  readonly #reporter: PeriodicReporter;

  constructor(opts: HandlerObserverOptions) {
    this.#opts = opts;
    this.#reporter = new PeriodicReporter({
      observer: opts.observer,
      periodMs: opts.periodMs,
      queue: this.#queue,
      collect: () => this.#collect(),
    });
  }

  open(ctx: ConnContext): void {
    this.#open.set(ctx, { delta: new TrafficDelta() });
  }

  /** Attributes a connection to its client once the handler knows its target (past auth). */
  #attribute(ctx: ConnContext, oc: OpenConn): ClientCounters | undefined {
    if (oc.counters || ctx.dst === undefined) return oc.counters;
    const id = ctx.clientId ?? "";
    let c = this.#clients.get(id);
    if (!c) this.#clients.set(id, c = new ClientCounters());
    c.totalConns++;
    c.currentConns++;
    c.updated = true;
    return oc.counters = c;
  }

  close(ctx: ConnContext, result: ConnResult): void {
    const oc = this.#open.get(ctx);
    if (!oc) return;
    this.#open.delete(ctx);
    const c = this.#attribute(ctx, oc);
    if (!c) return;
    c.addTraffic(oc.delta.take(result));
    c.currentConns--;
    if (result.serverError) c.totalErrs++;
    c.updated = true;
  }

  #collect(): ObserverEvent[] {
    for (const [ctx, oc] of this.#open) {
      const c = this.#attribute(ctx, oc);
      const live = c && liveTraffic(ctx);
      if (live) c.addTraffic(oc.delta.take(live));
    }
    const events: ObserverEvent[] = [];
    for (const [client, c] of this.#clients) {
      if (!c.updated) continue;
      c.updated = false;
      events.push({
        kind: "handler",
        service: this.#opts.service,
        client,
        type: "stats",
        stats: {
          totalConns: c.totalConns,
          currentConns: c.currentConns,
          inputBytes: c.inputBytes,
          outputBytes: c.outputBytes,
          totalErrs: c.totalErrs,
        },
      });
      if (this.#opts.resetTraffic) c.inputBytes = c.outputBytes = 0;
    }
    return events;
  }

  /** Starts the ticker. */
  start(): void {
    this.#reporter.start();
  }

  /** Stops the ticker and flushes the last stats. */
  stop(): void {
    this.#reporter.stop();
  }

  /** Settles when every queued send has finished. */
  idle(): Promise<void> {
    return this.#queue.idle();
  }
}
