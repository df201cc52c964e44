/**
 * The Prometheus endpoint (`metrics: {addr, path, auth, auther}`, `-metrics`): `GET <path>` (default `/metrics`)
 * answers the text format; with `auth`/`auther` it requires HTTP Basic credentials and answers 401 otherwise (with
 * `WWW-Authenticate`, which GOST leaves out); other paths answer 404. Served by the built-in HTTP/1.1 server
 * (core/http1/server.ts): accepted as every service is, every conn bounded (`readTimeout`, `writeTimeout`,
 * `idleTimeout`, `maxConns` in the `metrics` block; core/http1/limits.ts). Without auth on a non-loopback address it
 * logs a warning.
 * @module
 */
import { parseHttp1Limits } from "../http1/limits.ts";
import { HttpServer } from "../http1/server.ts";
import type { Logger } from "../log.ts";
import { type Authenticator, parseBasicCredentials } from "../routing/auth.ts";
import type { GostMetrics } from "./metrics.ts";

/** GOST's default metrics path. */
export const DEFAULT_METRICS_PATH = "/metrics";

/** The text format's content type. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** What the endpoint renders (a {@link GostMetrics}). */
export interface MetricsSource {
  /** The whole exposition in the text format. */
  render(): string;
}

/**
 * The endpoint's answer to one request, shared by the `metrics:` server and the `metrics` handler: the exposition
 * on `GET`/`HEAD <path>`, 401 (with `WWW-Authenticate`) without valid Basic credentials when `auth` is set, 404 on
 * any other path.
 */
export function metricsResponse(req: Request, path: string, auth: Authenticator | undefined, metrics: MetricsSource) {
  if (new URL(req.url).pathname !== path) return new Response("404 page not found\n", { status: 404 });
  if (auth) {
    const cred = parseBasicCredentials(req.headers.get("authorization"));
    if (!cred || auth.authenticate(cred.username, cred.password) === null) {
      return new Response(null, { status: 401, headers: { "WWW-Authenticate": 'Basic realm="metrics"' } });
    }
  }
  const body = req.method === "HEAD" ? null : metrics.render();
  return new Response(body, { headers: { "Content-Type": METRICS_CONTENT_TYPE } });
}

/** Tells whether a config runs the endpoint as a service (`handler.type: metrics`, `-L metrics://…`). */
export function servesMetricsHandler(
  config: { readonly services?: readonly { readonly handler?: { readonly type?: string } }[] },
): boolean {
  return config.services?.some((s) => s.handler?.type === "metrics") ?? false;
}

/** What a {@link MetricsServer} needs. */
export interface MetricsServerOptions {
  /** `host:port` or `:port`. */
  addr: string;
  /** Default `/metrics`. */
  path?: string;
  /** Required credentials; absent = open. */
  auth?: Authenticator;
  metrics: GostMetrics;
  logger: Logger;
  /** The `metrics` config block, for the server bounds (`readTimeout`, `idleTimeout`, …); default none. */
  server?: Record<string, unknown>;
}

/**
 * Serves the metrics over HTTP.
 * @example
 * const srv = new MetricsServer({ addr: ":9000", metrics, logger });
 * srv.start(); … await srv.close();
 */
export class MetricsServer {
  readonly path: string;
  readonly #opts: MetricsServerOptions;
  #server: HttpServer | null = null;

  constructor(opts: MetricsServerOptions) {
    this.#opts = opts;
    this.path = opts.path || DEFAULT_METRICS_PATH;
  }

  /** The bound address (after {@link start}). */
  get addr(): Deno.NetAddr | undefined {
    return this.#server?.addr as Deno.NetAddr | undefined;
  }

  /**
   * Binds and serves.
   * @throws {ConfigError} when the address is invalid or cannot be bound
   */
  start(): void {
    if (this.#server) return;
    const { logger, auth } = this.#opts;
    this.#server = HttpServer.start({
      name: "metrics",
      addr: this.#opts.addr,
      fetch: (req) => this.#handle(req),
      limits: parseHttp1Limits(this.#opts.server ?? {}, "metrics"),
      logger,
    });
    const where = this.#server.addrText;
    logger.info(`metrics service on ${where}${this.path}`, { kind: "metrics" });
    if (!auth && this.#server.public) {
      logger.warn(
        `metrics server on ${where} has no authentication: anyone who reaches it can read the metrics; ` +
          `add user:pass@ to -metrics or metrics.auth, or bind to 127.0.0.1`,
        { kind: "metrics" },
      );
    }
  }

  #handle(req: Request): Response {
    return metricsResponse(req, this.path, this.#opts.auth, this.#opts.metrics);
  }

  /** Stops serving (idempotent). */
  async close(): Promise<void> {
    const s = this.#server;
    this.#server = null;
    await s?.close();
  }
}
