/**
 * Observability of one process: GOST's observers (service status/stats, per-client handler stats; HTTP and gRPC
 * plugins) and Prometheus metrics, wired into the runtime through conn hooks and service watchers.
 *
 * | key | where | default |
 * |---|---|---|
 * | `observers[].plugin` | `{type: grpc\|http, addr, token, timeout, tls}` | type `grpc` (GOST's default), timeout 10 s |
 * | `services[].observer` | observer name: status events; stats events need `enableStats` | |
 * | `observer.period` / `observePeriod` | service metadata (service observer) or handler metadata (handler observer) | 5 s, min 1 s |
 * | `observer.resetTraffic` | same places | false |
 * | `handler.observer` | observer name: per-client `kind: "handler"` stats | |
 * | `metrics` | `{addr, path, auth, auther}` | path `/metrics` |
 * | `handler.type: metrics` | the same exposition as a service (handlers/metrics/); enables the metrics too | |
 * @module
 */
import type { ProcessSlots } from "../routing/process_slots.ts";
import type { Config, ServiceConfig } from "../config/types.ts";
import { errorMessage } from "../errors.ts";
import type { Logger } from "../log.ts";
import { Metadata, parseDuration } from "../metadata.ts";
import type { ManagedService } from "../registries.ts";
import { type AutherLookup, blockAuthenticator } from "../routing/auth.ts";
import type { ConnHook } from "../service/service.ts";
import { GrpcObserver } from "./grpc_observer.ts";
import { HandlerObserver } from "./handler_observer.ts";
import { GostMetrics } from "./metrics.ts";
import { MetricsServer, servesMetricsHandler } from "./metrics_server.ts";
import { DEFAULT_PLUGIN_TIMEOUT_MS, HttpObserver, type Observer, type PluginOptions, SendQueue } from "./observer.ts";
import { observePeriodMs, ServiceObserver } from "./service_observer.ts";

/** What {@link createObservability} returns: the runtime hooks and the metrics server's lifecycle. */
export interface Observability {
  /** Conn hooks for a service being built (`RuntimeOptions.connHooks`). */
  connHooks(cfg: ServiceConfig): ConnHook[];
  /** Starts observing a started service (`RuntimeOptions.watchService`); the returned function stops it. */
  watchService(svc: ManagedService, cfg: ServiceConfig): () => void;
  /**
   * Starts the metrics server when `metrics.addr` is set.
   * @throws {ConfigError} when its address is invalid or taken
   */
  start(): Promise<void>;
  /** Stops the observers (after their last sends) and the metrics server. */
  close(): Promise<void>;
  /** The metrics server's bound address, once started. */
  readonly metricsAddr: Deno.NetAddr | undefined;
  /** The metrics, when `metrics.addr` is set. */
  readonly metrics: GostMetrics | undefined;
}

/** Optional extras of {@link createObservability}. */
export interface ObservabilityOptions {
  /** The runtime's registries: where `metrics.auther` is looked up, and where chains find the metrics. */
  reg?: AutherLookup & { readonly process: ProcessSlots };
}

interface PluginConfig {
  type?: string;
  addr?: string;
  token?: string;
  timeout?: string | number;
  tls?: { secure?: boolean; serverName?: string; caFile?: string };
}

/**
 * Builds the observability of a process from its config.
 * @param config the config, or a function returning the running one (observer definitions are read when a
 *   service starts, so objects changed through the API or a reload apply to services started afterwards)
 * @param logger the process logger
 * @param opts `reg` for `metrics.auther`
 * @throws {ConfigError} when `metrics.auth.file` cannot be read
 * @example
 * const obs = createObservability(config, logger, { reg });
 * const rt = await Runtime.start(config, { reg, logger, connHooks: obs.connHooks, watchService: obs.watchService });
 * await obs.start();
 * …
 * await rt.close(); await obs.close();
 */
export function createObservability(
  config: Config | (() => Config),
  logger: Logger,
  opts: ObservabilityOptions = {},
): Observability {
  const current = typeof config === "function" ? config : () => config;
  const log = logger.child({ kind: "observer" });
  const metricsCfg = current().metrics;
  // GOST enables its metrics for the `metrics:` server and for a `metrics` handler alike
  const metrics = metricsCfg?.addr || servesMetricsHandler(current()) ? new GostMetrics() : undefined;
  const server = metrics && metricsCfg?.addr
    ? new MetricsServer({
      addr: metricsCfg.addr,
      path: metricsCfg.path,
      auth: blockAuthenticator(metricsCfg, opts.reg ?? { authers: { get: () => undefined } }, "metrics", logger),
      metrics,
      logger: logger.child({ kind: "metrics" }),
      server: metricsCfg,
    })
    : undefined;
  // chains built from these registries record their node steps into these metrics (chain_metrics.ts)
  if (metrics && opts.reg) opts.reg.process.chainRecorder = opts.reg.process.metrics = metrics;

  const observers = new Map<string, { key: string; observer: Observer }>();
  const retired: Observer[] = [];
  const handlerObservers = new WeakMap<ServiceConfig, HandlerObserver>();
  /** One queue per (observer, service name): events of successive instances of a service stay in order. */
  const queues = new Map<string, SendQueue>();
  const running = new Set<{ stop(): void; idle(): Promise<void> }>();
  const draining = new Set<Promise<void>>();
  let closed = false;

  /** The observer named `name`, built from its current definition (rebuilt when the definition changed). */
  function observerFor(name: string, who: string): Observer | undefined {
    const def = current().observers?.find((o) => o.name === name);
    const plugin = def?.plugin as PluginConfig | undefined;
    if (!plugin?.addr) {
      log.warn(`${who}: observer "${name}" is ${def ? "missing plugin.addr" : "not defined"}: no events sent`);
      return undefined;
    }
    const key = JSON.stringify(plugin);
    const cached = observers.get(name);
    if (cached?.key === key) return cached.observer;
    if (cached) retired.push(cached.observer);
    let timeoutMs = DEFAULT_PLUGIN_TIMEOUT_MS;
    if (plugin.timeout !== undefined && plugin.timeout !== "") {
      try {
        timeoutMs = parseDuration(plugin.timeout, "timeout") || DEFAULT_PLUGIN_TIMEOUT_MS;
      } catch (err) {
        log.warn(`observer ${name}: ${errorMessage(err)}; using ${DEFAULT_PLUGIN_TIMEOUT_MS / 1000}s`);
      }
    }
    const popts: PluginOptions = {
      addr: plugin.addr,
      token: plugin.token,
      timeoutMs,
      tls: plugin.tls,
      logger: log.child({ observer: name }),
    };
    const type = (plugin.type || "grpc").toLowerCase();
    if (type !== "http" && type !== "grpc") {
      log.warn(`observer ${name}: unknown plugin type "${plugin.type}": supported are grpc, http`);
      return undefined;
    }
    const observer = type === "http" ? new HttpObserver(popts) : new GrpcObserver(popts);
    observers.set(name, { key, observer });
    return observer;
  }

  /** Reads a metadata option, warning (not failing the service) on a bad value. */
  function option<T>(who: string, read: () => T, fallback: T): T {
    try {
      return read();
    } catch (err) {
      log.warn(`${who}: ${errorMessage(err)}`);
      return fallback;
    }
  }

  function connHooks(cfg: ServiceConfig): ConnHook[] {
    const hooks: ConnHook[] = [];
    if (metrics) hooks.push(metrics.connHook(cfg.name));
    const name = cfg.handler?.observer;
    if (name && !closed) {
      const who = `service ${cfg.name}: handler`;
      const observer = observerFor(name, who);
      if (observer) {
        const md = new Metadata(cfg.handler?.metadata ?? {});
        const ho = new HandlerObserver({
          service: cfg.name,
          observer,
          periodMs: option(who, () => observePeriodMs(md), 5_000),
          resetTraffic: option(who, () => md.bool("observer.resetTraffic"), false),
          logger: log,
        });
        handlerObservers.set(cfg, ho);
        hooks.push(ho);
      }
    }
    return hooks;
  }

  function track(w: { stop(): void; idle(): Promise<void> }): () => void {
    running.add(w);
    return () => {
      if (!running.delete(w)) return;
      w.stop();
      const p = w.idle().catch(() => {});
      draining.add(p);
      p.finally(() => draining.delete(p));
    };
  }

  function watchService(svc: ManagedService, cfg: ServiceConfig): () => void {
    const stops: (() => void)[] = [];
    if (svc.stats) {
      // GOST makes the stats themselves reset on read, whoever reads them (observer or API)
      const md = new Metadata(cfg.metadata ?? {});
      svc.stats.resetTraffic = option(`service ${cfg.name}`, () => md.bool("observer.resetTraffic"), false);
    }
    if (metrics) stops.push(metrics.watch(svc));
    const ho = handlerObservers.get(cfg);
    if (ho && !closed) {
      ho.start();
      stops.push(track(ho));
    }
    const name = cfg.observer;
    if (name && !closed) {
      const who = `service ${cfg.name}`;
      const observer = observerFor(name, who);
      if (observer) {
        const key = `${name}\u0000${cfg.name}`;
        let queue = queues.get(key);
        if (!queue) queues.set(key, queue = new SendQueue());
        const so = new ServiceObserver({
          service: svc,
          observer,
          periodMs: option(who, () => observePeriodMs(new Metadata(cfg.metadata ?? {})), 5_000),
          logger: log,
          queue,
        });
        so.start();
        stops.push(track(so));
      }
    }
    return () => {
      for (const stop of stops) stop();
    };
  }

  return {
    connHooks,
    watchService,
    get metricsAddr() {
      return server?.addr;
    },
    metrics,
    start() {
      try {
        server?.start();
        return Promise.resolve();
      } catch (err) {
        return Promise.reject(err);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const w of [...running]) {
        running.delete(w);
        w.stop();
        draining.add(w.idle().catch(() => {}));
      }
      await Promise.all(draining);
      for (const { observer } of observers.values()) observer.close();
      for (const o of retired) o.close();
      observers.clear();
      if (metrics && opts.reg?.process.chainRecorder === metrics) delete opts.reg.process.chainRecorder;
      if (metrics && opts.reg?.process.metrics === metrics) delete opts.reg.process.metrics;
      await server?.close();
    },
  };
}
