/**
 * The Prometheus endpoint (`metrics: {addr, path, auth, auther}`, `-metrics`): `GET <path>` (default `/metrics`)
 * answers the text format; with `auth`/`auther` it requires HTTP Basic credentials and answers 401 otherwise (with
 * `WWW-Authenticate`, which GOST leaves out); other paths answer 404.
 * @module
 */
import { splitHostPort } from "../conn.ts";
import { ConfigError, errorMessage } from "../errors.ts";
import type { Logger } from "../log.ts";
import { type Authenticator, parseBasicCredentials } from "../routing/auth.ts";
import type { GostMetrics } from "./metrics.ts";

/** GOST's default metrics path. */
export const DEFAULT_METRICS_PATH = "/metrics";

/** The text format's content type. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

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
  #server: Deno.HttpServer<Deno.NetAddr> | null = null;

  constructor(opts: MetricsServerOptions) {
    this.#opts = opts;
    this.path = opts.path || DEFAULT_METRICS_PATH;
  }

  /** The bound address (after {@link start}). */
  get addr(): Deno.NetAddr | undefined {
    return this.#server?.addr;
  }

  /**
   * Binds and serves.
   * @throws {ConfigError} when the address is invalid or cannot be bound
   */
  start(): void {
    if (this.#server) return;
    let hostname: string, port: number;
    try {
      const hp = splitHostPort(this.#opts.addr);
      hostname = hp.host || "0.0.0.0";
      port = hp.port;
    } catch {
      throw new ConfigError(`metrics.addr: invalid address "${this.#opts.addr}": expected [host]:port`);
    }
    try {
      this.#server = Deno.serve({ hostname, port, onListen() {} }, (req) => this.#handle(req));
    } catch (err) {
      throw new ConfigError(`metrics: listen ${this.#opts.addr}: ${errorMessage(err)}`, { cause: err });
    }
    this.#opts.logger.info(`metrics service on ${hostname}:${this.#server.addr.port}${this.path}`, {
      kind: "metrics",
    });
  }

  #handle(req: Request): Response {
    if (new URL(req.url).pathname !== this.path) return new Response("404 page not found\n", { status: 404 });
    const auth = this.#opts.auth;
    if (auth) {
      const cred = parseBasicCredentials(req.headers.get("authorization"));
      if (!cred || auth.authenticate(cred.username, cred.password) === null) {
        return new Response(null, { status: 401, headers: { "WWW-Authenticate": 'Basic realm="metrics"' } });
      }
    }
    const body = req.method === "HEAD" ? null : this.#opts.metrics.render();
    return new Response(body, { headers: { "Content-Type": METRICS_CONTENT_TYPE } });
  }

  /** Stops serving (idempotent). */
  async close(): Promise<void> {
    const s = this.#server;
    this.#server = null;
    await s?.shutdown();
  }
}
