/**
 * The `metrics` handler: HTTP/1.1 over whatever the listener accepted, through the same server side and bounds as
 * the API handler (core/http1/serve.ts), answering as the `metrics:` server does (`metricsResponse` of
 * core/observe/metrics_server.ts). Each request is logged at info as GOST logs it: `GET /metrics` with `remote` and
 * `duration`.
 * @module
 */
import type { Conn } from "../../core/conn.ts";
import type { ConnContext, Handler, HandlerOptions } from "../../core/contracts.ts";
import { ConfigError } from "../../core/errors.ts";
import { type Http1Limits, parseHttp1Limits } from "../../core/http1/limits.ts";
import { Http1Handler } from "../../core/http1/serve.ts";
import type { Metadata } from "../../core/metadata.ts";
import { DEFAULT_METRICS_PATH, metricsResponse, type MetricsSource } from "../../core/observe/metrics_server.ts";

/** The `metrics` handler's options: the usual ones plus where the process' metrics are found. */
export interface MetricsHandlerOptions extends HandlerOptions {
  /** The metrics to serve; undefined when the process has none enabled. */
  readonly metrics: () => MetricsSource | undefined;
}

/** Parsed metadata of the `metrics` handler. */
export interface MetricsHandlerMetadata {
  /** The exposition's path (default `/metrics`). */
  path: string;
  /** `readTimeout`, `writeTimeout`, `idleTimeout`, `maxConns` (core/http1/limits.ts). */
  limits: Http1Limits;
}

/** Parses `path` (`metrics.path`) and the server bounds. @throws {ConfigError} on a bad value */
export function parseMetricsMetadata(md: Metadata): MetricsHandlerMetadata {
  const path = md.string(["metrics.path", "path"]) || DEFAULT_METRICS_PATH;
  if (!path.startsWith("/")) throw new ConfigError(`metrics handler: "path" must start with "/": "${path}"`);
  return { path, limits: parseHttp1Limits(md, "") };
}

/**
 * Serves the Prometheus exposition on accepted conns.
 * @example
 * const h = new MetricsHandler({ service: "m", logger, router, metrics: () => gostMetrics });
 * await h.init(new Metadata({ path: "/metrics" }));
 */
export class MetricsHandler implements Handler {
  readonly #opts: MetricsHandlerOptions;
  #http: Http1Handler | null = null;

  constructor(opts: MetricsHandlerOptions) {
    this.#opts = opts;
  }

  /** @throws {ConfigError} on bad metadata, or when the process has no metrics enabled */
  init(md: Metadata): Promise<void> {
    try {
      const { path, limits } = parseMetricsMetadata(md);
      const metrics = this.#opts.metrics();
      if (!metrics) {
        throw new ConfigError(
          `service ${this.#opts.service}: handler "metrics" needs the process' metrics, enabled at start by a ` +
            `metrics service in the config or by metrics.addr; a metrics service added later through the API ` +
            `cannot enable them`,
        );
      }
      const auth = this.#opts.auth;
      const log = this.#opts.logger.child({ kind: "metrics" });
      this.#http = new Http1Handler({
        fetch: (req, info) => {
          const start = performance.now();
          const res = metricsResponse(req, path, auth, metrics);
          const url = new URL(req.url);
          log.info(`${req.method} ${url.pathname}${url.search}`, {
            remote: info.remoteAddr,
            duration: `${((performance.now() - start) / 1000).toFixed(6)}s`,
          });
          return res;
        },
        limits,
      });
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  handle(conn: Conn, ctx: ConnContext): Promise<void> {
    if (!this.#http) return Promise.reject(new Error("metrics handler used before init"));
    return this.#http.handle(conn, ctx);
  }
}
