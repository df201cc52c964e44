/**
 * Service-level observer (`services[].observer`), as GOST's service does:
 *
 * - a `status` event on every state change (and one for the state the service is in when watching starts, since
 *   GOST sends `running` from the constructor); delivery errors are ignored;
 * - with `enableStats`, a `stats` event every `observer.period` (alias `observePeriod`; default 5 s, at least
 *   1 s) when a counter changed since the last one; a batch that failed is kept and sent again at the next tick,
 *   before any newer stats; with `observer.resetTraffic` each event carries the bytes since the previous one.
 *
 * Better than GOST: when watching stops (service closed, replaced or reloaded) the last stats are flushed once,
 * so traffic of the final period is not lost; sends are queued so events arrive in order.
 * @module
 */
import type { Logger } from "../log.ts";
import type { Metadata } from "../metadata.ts";
import type { ManagedService } from "../registries.ts";
import type { Stats } from "../service/stats.ts";
import type { Observer, ObserverEvent } from "./observer.ts";
import { SendQueue } from "./observer.ts";

/** GOST's default observe period. */
export const DEFAULT_OBSERVE_PERIOD_MS = 5_000;
/** GOST's minimum observe period. */
export const MIN_OBSERVE_PERIOD_MS = 1_000;

/**
 * Reads `observer.period` (alias `observePeriod`): 0 or absent → 5 s, anything below 1 s → 1 s.
 * @throws {ConfigError} on a value that is not a duration
 */
export function observePeriodMs(md: Metadata): number {
  const ms = md.duration(["observer.period", "observePeriod"], 0);
  if (ms === 0) return DEFAULT_OBSERVE_PERIOD_MS;
  return Math.max(MIN_OBSERVE_PERIOD_MS, ms);
}

/** What a {@link PeriodicReporter} needs. */
export interface ReporterOptions {
  observer: Observer;
  periodMs: number;
  queue: SendQueue;
  /** The events to report now; empty when nothing changed. */
  collect: () => ObserverEvent[];
}

/**
 * Sends collected events every period; a failed batch is retried alone at the next tick (GOST's loop).
 * A tick that comes while the previous send is still running is skipped, as a Go ticker drops ticks.
 */
export class PeriodicReporter {
  readonly #opts: ReporterOptions;
  #timer: ReturnType<typeof setInterval> | undefined;
  #pending: ObserverEvent[] | null = null;
  #busy = false;

  constructor(opts: ReporterOptions) {
    this.#opts = opts;
  }

  /** Starts ticking (idempotent). */
  start(): void {
    this.#timer ??= setInterval(() => void this.tick(), this.#opts.periodMs);
  }

  /** One period's work; exposed for tests and the final flush. */
  async tick(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      if (this.#pending) {
        if (await this.#send(this.#pending)) this.#pending = null;
        return;
      }
      const events = this.#opts.collect();
      if (events.length && !(await this.#send(events))) this.#pending = events;
    } finally {
      this.#busy = false;
    }
  }

  #send(events: ObserverEvent[]): Promise<boolean> {
    return this.#opts.queue.run(() => this.#opts.observer.observe(events));
  }

  /** Stops ticking and sends once what is left: a pending batch, then fresh stats. Never retried after. */
  stop(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    const pending = this.#pending;
    this.#pending = null;
    if (pending) void this.#send(pending);
    const events = this.#opts.collect();
    if (events.length) void this.#send(events);
  }
}

/** What a {@link ServiceObserver} needs. */
export interface ServiceObserverOptions {
  service: ManagedService;
  observer: Observer;
  /** From {@link observePeriodMs}. */
  periodMs: number;
  logger: Logger;
  /**
   * The queue of this service's sends; pass the same one to the next instance of a service of the same name so
   * the old one's `closed` reaches the plugin before the new one's `running`.
   */
  queue?: SendQueue;
}

function statsKey(s: Stats): string {
  return `${s.totalConns},${s.currentConns},${s.totalErrs},${s.inputBytes},${s.outputBytes}`;
}

/**
 * Pushes one service's status and stats to an observer.
 * @example
 * const so = new ServiceObserver({ service, observer, periodMs: 5000, logger });
 * so.start(); … so.stop(); await so.idle();
 */
export class ServiceObserver {
  readonly #svc: ManagedService;
  readonly #observer: Observer;
  readonly #queue: SendQueue;
  readonly #reporter: PeriodicReporter | undefined;
  #unsubscribe: (() => void) | undefined;
  #lastKey = "";

  constructor(opts: ServiceObserverOptions) {
    this.#svc = opts.service;
    this.#observer = opts.observer;
    this.#queue = opts.queue ?? new SendQueue();
    if (opts.service.stats) {
      this.#reporter = new PeriodicReporter({
        observer: opts.observer,
        periodMs: opts.periodMs,
        queue: this.#queue,
        collect: () => this.#collectStats(),
      });
    } else {
      opts.logger.debug(`service ${opts.service.name}: no stats events without metadata enableStats: true`);
    }
  }

  #status(state: string, msg: string): void {
    const event: ObserverEvent = { kind: "service", service: this.#svc.name, type: "status", status: { state, msg } };
    void this.#queue.run(() => this.#observer.observe([event]));
  }

  #collectStats(): ObserverEvent[] {
    const s = this.#svc.stats;
    if (!s) return [];
    // our own change detection: Stats.isUpdated() would see the zeroing of resetTraffic as a change
    if (statsKey(s) === this.#lastKey) return [];
    const snap = s.toJSON();
    this.#lastKey = statsKey(s);
    return [{
      kind: "service",
      service: this.#svc.name,
      type: "stats",
      stats: {
        totalConns: snap.totalConns,
        currentConns: snap.currentConns,
        inputBytes: snap.inputBytes,
        outputBytes: snap.outputBytes,
        totalErrs: snap.totalErrs,
      },
    }];
  }

  /** Sends the current state, subscribes to changes and starts the stats ticker. */
  start(): void {
    if (this.#unsubscribe) return;
    const status = this.#svc.status;
    const prefix = `service ${this.#svc.name} is ${status.state}`;
    this.#status(status.state, status.events.findLast((e) => e.msg.startsWith(prefix))?.msg ?? prefix);
    this.#unsubscribe = status.onState((state, msg) => this.#status(state, msg));
    this.#reporter?.start();
  }

  /** Unsubscribes, stops the ticker and flushes the last stats (see {@link PeriodicReporter.stop}). */
  stop(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#reporter?.stop();
  }

  /** Settles when every queued send has finished. */
  idle(): Promise<void> {
    return this.#queue.idle();
  }
}
