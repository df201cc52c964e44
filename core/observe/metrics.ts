/**
 * GOST's Prometheus metrics (x/metrics): the same names, types, help texts, labels and histogram buckets, every
 * series labelled `host` = the OS hostname, written in the Prometheus text format (0.0.4) by hand.
 *
 * | metric | type | labels |
 * |---|---|---|
 * | gost_services | gauge | host |
 * | gost_service_status | gauge | host, state (services per state) |
 * | gost_service_requests_total | counter | host, service, client (client IP) |
 * | gost_service_requests_in_flight | gauge | host, service, client |
 * | gost_service_request_duration_seconds | histogram .005 … 60 | host, service |
 * | gost_service_transfer_input_bytes_total | counter | host, service, client |
 * | gost_service_transfer_output_bytes_total | counter | host, service, client |
 * | gost_service_handler_errors_total | counter | host, service, client |
 * | gost_service_client_errors_total | counter | host, service, kind (protocol, auth) — ours, not GOST's |
 * | gost_chain_errors_total | counter | host, chain, node |
 * | gost_chain_node_connect_duration_seconds | histogram .01 … 60 | host, chain, node |
 * | gost_recorder_records_total | counter | host, recorder |
 * | gost_mux_sessions_closed_total | counter | host, chain, node, reason (keepalive, peer, error, local) — ours |
 * | a handler's own counters (`Handler.counters`: `gost_service_dns_cache_hits_total`, …) | counter | host, service — ours |
 * | process_* | the Go client's process collector (metrics_process.ts) | none |
 *
 * A request is a client connection and its duration the connection's lifetime, as in GOST. Bytes of open
 * connections are added at each scrape when the service exposes `ctx.traffic()`, else when they close.
 * Handler errors count server errors only (the same rule as `totalErrs`); errors of the client's doing (malformed
 * bytes, failed authentication) are counted apart, by kind and without a client label (an attacker with many
 * addresses must not grow the exposition).
 * @module
 */
import type { ManagedService } from "../registries.ts";
import type { ServiceState } from "../service/status.ts";
import type { ConnContext } from "../contracts.ts";
import { type ConnHook, type ConnResult, Service } from "../service/service.ts";
import { clientIP, liveTraffic, TrafficDelta } from "./traffic.ts";
import { renderProcess } from "./metrics_process.ts";
import { formatValue } from "./metrics_value.ts";

export { formatValue } from "./metrics_value.ts";

/** GOST's request duration buckets (seconds). */
export const REQUEST_DURATION_BUCKETS = [.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15, 30, 60];
/** GOST's chain node connect duration buckets (seconds). */
export const NODE_CONNECT_BUCKETS = [.01, .05, .1, .25, .5, 1, 1.5, 2, 5, 10, 15, 30, 60];

const STATES: ServiceState[] = ["running", "ready", "failed", "closed"];

type MetricType = "counter" | "gauge" | "histogram";

interface Series {
  values: string[];
  value: number;
  /** Histograms: per-bucket (non-cumulative) counts, then sum and count. */
  buckets?: number[];
  sum?: number;
  count?: number;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/**
 * One metric family with a fixed label set; label values are given in `labelNames` order.
 * @example
 * const f = new MetricFamily("x_total", "X", "counter", ["host"]);
 * f.inc(["h"]); f.render() // "# HELP x_total X\n# TYPE x_total counter\nx_total{host=\"h\"} 1\n"
 */
export class MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly labelNames: readonly string[];
  readonly bucketBounds: readonly number[];
  readonly #series = new Map<string, Series>();

  constructor(name: string, help: string, type: MetricType, labelNames: string[], buckets: number[] = []) {
    this.name = name;
    this.help = help;
    this.type = type;
    this.labelNames = labelNames;
    this.bucketBounds = buckets;
  }

  #get(values: string[]): Series {
    if (values.length !== this.labelNames.length) {
      throw new RangeError(`${this.name}: expected ${this.labelNames.length} label values, got ${values.length}`);
    }
    const key = values.join("\u0000");
    let s = this.#series.get(key);
    if (!s) {
      s = { values: [...values], value: 0 };
      if (this.type === "histogram") {
        s.buckets = new Array(this.bucketBounds.length).fill(0);
        s.sum = 0;
        s.count = 0;
      }
      this.#series.set(key, s);
    }
    return s;
  }

  /** Adds `n` (counters: n ≥ 0; gauges: any). */
  inc(values: string[], n = 1): void {
    if (this.type === "counter" && !(n >= 0)) throw new RangeError(`${this.name}: a counter cannot decrease`);
    this.#get(values).value += n;
  }

  /** Sets a gauge. */
  set(values: string[], v: number): void {
    this.#get(values).value = v;
  }

  /** Records one observation of a histogram. */
  observe(values: string[], v: number): void {
    const s = this.#get(values);
    const i = this.bucketBounds.findIndex((b) => v <= b);
    if (i >= 0) s.buckets![i]++;
    s.sum! += v;
    s.count!++;
  }

  /** The current value of one series (counters and gauges), 0 when absent. */
  value(values: string[]): number {
    return this.#series.get(values.join("\u0000"))?.value ?? 0;
  }

  /** Drops every series. */
  clear(): void {
    this.#series.clear();
  }

  /** The family in the text format; empty when it has no series (as client_golang omits it). */
  render(): string {
    if (!this.#series.size) return "";
    const order = this.labelNames.map((n, i) => [n, i] as const).sort((a, b) => (a[0] < b[0] ? -1 : 1));
    const labels = (s: Series, extra = "") => {
      const parts = order.map(([n, i]) => `${n}="${escapeLabel(s.values[i])}"`);
      if (extra) parts.push(extra);
      return parts.length ? `{${parts.join(",")}}` : "";
    };
    const series = [...this.#series.values()].sort((a, b) => {
      for (const [, i] of order) if (a.values[i] !== b.values[i]) return a.values[i] < b.values[i] ? -1 : 1;
      return 0;
    });
    let out = `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} ${this.type}\n`;
    for (const s of series) {
      if (this.type !== "histogram") {
        out += `${this.name}${labels(s)} ${formatValue(s.value)}\n`;
        continue;
      }
      let cum = 0;
      for (const [i, bound] of this.bucketBounds.entries()) {
        cum += s.buckets![i];
        out += `${this.name}_bucket${labels(s, `le="${formatValue(bound)}"`)} ${cum}\n`;
      }
      out += `${this.name}_bucket${labels(s, 'le="+Inf"')} ${s.count}\n`;
      out += `${this.name}_sum${labels(s)} ${formatValue(s.sum!)}\n`;
      out += `${this.name}_count${labels(s)} ${s.count}\n`;
    }
    return out;
  }
}

function osHostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "";
  }
}

interface OpenConn {
  service: string;
  client: string;
  delta: TrafficDelta;
}

/**
 * Every GOST metric of one process, fed by conn hooks, watched services and the chain recorder.
 * @example
 * const m = new GostMetrics();
 * new Service({ …, connHooks: [m.connHook("service-0")] });
 * const text = m.render();
 */
export class GostMetrics {
  readonly host: string;
  readonly services = new MetricFamily("gost_services", "Current number of services", "gauge", ["host"]);
  readonly serviceStatus = new MetricFamily(
    "gost_service_status",
    "Current number of services in each state",
    "gauge",
    ["host", "state"],
  );
  readonly requests = new MetricFamily("gost_service_requests_total", "Total number of requests", "counter", [
    "host",
    "service",
    "client",
  ]);
  readonly inFlight = new MetricFamily("gost_service_requests_in_flight", "Current in-flight requests", "gauge", [
    "host",
    "service",
    "client",
  ]);
  readonly requestDuration = new MetricFamily(
    "gost_service_request_duration_seconds",
    "Distribution of request latencies",
    "histogram",
    ["host", "service"],
    REQUEST_DURATION_BUCKETS,
  );
  readonly inputBytes = new MetricFamily(
    "gost_service_transfer_input_bytes_total",
    "Total service input data transfer size in bytes",
    "counter",
    ["host", "service", "client"],
  );
  readonly outputBytes = new MetricFamily(
    "gost_service_transfer_output_bytes_total",
    "Total service output data transfer size in bytes",
    "counter",
    ["host", "service", "client"],
  );
  readonly handlerErrors = new MetricFamily(
    "gost_service_handler_errors_total",
    "Total service handler errors",
    "counter",
    ["host", "service", "client"],
  );
  readonly clientErrors = new MetricFamily(
    "gost_service_client_errors_total",
    "Total connections a client ended with an error of its own (protocol: malformed bytes; auth: failed authentication)",
    "counter",
    ["host", "service", "kind"],
  );
  readonly chainErrors = new MetricFamily("gost_chain_errors_total", "Total chain errors", "counter", [
    "host",
    "chain",
    "node",
  ]);
  readonly nodeConnectDuration = new MetricFamily(
    "gost_chain_node_connect_duration_seconds",
    "Distribution of chain node connect latencies",
    "histogram",
    ["host", "chain", "node"],
    NODE_CONNECT_BUCKETS,
  );
  readonly recorderRecords = new MetricFamily(
    "gost_recorder_records_total",
    "Total records written by recorder",
    "counter",
    ["host", "recorder"],
  );
  readonly muxSessionsClosed = new MetricFamily(
    "gost_mux_sessions_closed_total",
    "Total multiplexed sessions of chain nodes that ended, by reason (keepalive: nothing received for the keep-alive timeout)",
    "counter",
    ["host", "chain", "node", "reason"],
  );
  readonly #watched = new Set<ManagedService>();
  readonly #open = new Map<ConnContext, OpenConn>();
  /** The families of handlers' own counters, by metric name. */
  readonly #handlerFamilies = new Map<string, MetricFamily>();

  constructor(host: string = osHostname()) {
    this.host = host;
  }

  /** A conn hook counting one service's requests, in-flight conns, durations, bytes and errors. */
  connHook(service: string): ConnHook {
    return {
      open: (ctx: ConnContext) => {
        const client = clientIP(ctx.src);
        const labels = [this.host, service, client];
        this.requests.inc(labels);
        this.inFlight.inc(labels);
        this.#open.set(ctx, { service, client, delta: new TrafficDelta() });
      },
      close: (ctx: ConnContext, result: ConnResult) => {
        const oc = this.#open.get(ctx);
        if (!oc) return;
        this.#open.delete(ctx);
        const labels = [this.host, oc.service, oc.client];
        this.inFlight.inc(labels, -1);
        this.requestDuration.observe([this.host, oc.service], result.durationMs / 1000);
        this.#addTraffic(oc, result);
        if (result.serverError) this.handlerErrors.inc(labels);
        else if (result.clientError) this.clientErrors.inc([this.host, oc.service, result.clientError]);
      },
    };
  }

  #addTraffic(oc: OpenConn, total: { inputBytes: number; outputBytes: number }): void {
    const d = oc.delta.take(total);
    const labels = [this.host, oc.service, oc.client];
    if (d.inputBytes) this.inputBytes.inc(labels, d.inputBytes);
    if (d.outputBytes) this.outputBytes.inc(labels, d.outputBytes);
  }

  /** Counts a service in `gost_services`/`gost_service_status` until the returned function is called. */
  watch(svc: ManagedService): () => void {
    this.#watched.add(svc);
    return () => this.#watched.delete(svc);
  }

  /** A chain node step: its connect time when it succeeded, an error otherwise. */
  recordChainNode(chain: string, node: string, seconds: number, ok: boolean): void {
    if (ok) this.nodeConnectDuration.observe([this.host, chain, node], seconds);
    else this.chainErrors.inc([this.host, chain, node]);
  }

  /** A chain node's multiplexed session ended (`reason`: keepalive, peer, error, local). */
  recordMuxSessionEnd(chain: string, node: string, reason: string): void {
    this.muxSessionsClosed.inc([this.host, chain, node, reason]);
  }

  /** One record written by a recorder. */
  recordRecorderRecord(recorder: string): void {
    this.recorderRecords.inc([this.host, recorder]);
  }

  /** Brings gauges and the bytes of open connections up to date. */
  #collect(): void {
    for (const [ctx, oc] of this.#open) {
      const live = liveTraffic(ctx);
      if (live) this.#addTraffic(oc, live);
    }
    const byState = new Map<ServiceState, number>(STATES.map((s) => [s, 0]));
    let serving = 0;
    for (const svc of this.#watched) {
      const st = svc.status.state;
      byState.set(st, (byState.get(st) ?? 0) + 1);
      // a Service in `failed` is retrying accepts; a placeholder for one that never started is not serving
      if (svc instanceof Service && (st === "ready" || st === "failed")) serving++;
      if (svc instanceof Service) this.#collectHandler(svc);
    }
    // GOST counts a service from the start of Serve until it returns
    this.services.set([this.host], serving);
    for (const [state, n] of byState) this.serviceStatus.set([this.host, state], n);
  }

  /** A handler's own counters (`Handler.counters`, a DNS proxy's cache hits) as counters labelled host, service. */
  #collectHandler(svc: Service): void {
    const counters = svc.handler.counters?.();
    if (!counters) return;
    for (const c of counters) {
      let f = this.#handlerFamilies.get(c.metric);
      if (!f) {
        this.#handlerFamilies.set(c.metric, f = new MetricFamily(c.metric, c.help, "counter", ["host", "service"]));
      }
      f.set([this.host, svc.name], c.value);
    }
  }

  /** The whole exposition, plus the Go client's `process_*` series (metrics_process.ts). */
  render(): string {
    this.#collect();
    const families = [
      this.services,
      this.serviceStatus,
      this.requests,
      this.inFlight,
      this.requestDuration,
      this.inputBytes,
      this.outputBytes,
      this.handlerErrors,
      this.clientErrors,
      this.chainErrors,
      this.nodeConnectDuration,
      this.recorderRecords,
      this.muxSessionsClosed,
      ...this.#handlerFamilies.values(),
    ];
    return families.map((f) => f.render()).join("") + renderProcess();
  }
}
