/**
 * A built-in HTTP/1.1 server (the Web API's `-api`, the metrics' `-metrics`): a {@link NetListener} and an
 * {@link Http1Handler} run as an internal {@link Service}, so it accepts exactly as every proxy service does (a reset
 * conn is skipped, running out of fds backs off 5 → 250 ms and serves again once fds are freed) and every conn is
 * bounded by the handler's timeouts and cap. Not registered with the services: the API does not list it.
 * @module
 */
import { addrString, isLoopbackHost } from "../conn.ts";
import { errorMessage, ListenError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { Service } from "../service/service.ts";
import { NetListener, parseListenAddr } from "./listener.ts";
import type { Http1Limits } from "./limits.ts";
import { type ErrorReply, type FetchFn, Http1Handler } from "./serve.ts";

/** What a {@link HttpServer} serves and where. */
export interface HttpServerOptions {
  /** Names the server in logs and errors (`api`, `metrics`). */
  name: string;
  /** `host:port`, `:port`, or (with `unix`) `unix:///path`. */
  addr: string;
  /** Whether `unix:///path` is allowed. */
  unix?: boolean;
  fetch: FetchFn;
  limits?: Partial<Http1Limits>;
  errorReply?: ErrorReply;
  /** Logs of the server and its conns. */
  logger: Logger;
}

/**
 * A running server.
 * @example
 * const srv = HttpServer.start({ name: "metrics", addr: "127.0.0.1:9000", fetch: () => new Response("ok"), logger });
 * await srv.close();
 */
export class HttpServer {
  /** The bound address. */
  readonly addr: Deno.Addr;
  readonly #service: Service;
  readonly #handler: Http1Handler;
  #closing: Promise<void> | null = null;

  private constructor(service: Service, handler: Http1Handler) {
    this.#service = service;
    this.#handler = handler;
    this.addr = service.addr;
  }

  /**
   * Binds and starts serving.
   * @throws {ConfigError} naming `<name>.addr` for a bad address; {@link ListenError} (`<name>: listen on …`) when it
   *   cannot be bound
   */
  static start(opts: HttpServerOptions): HttpServer {
    const listen = parseListenAddr(opts.addr, `${opts.name}.addr`, opts.unix ?? false);
    let listener: NetListener;
    try {
      listener = new NetListener(listen);
    } catch (err) {
      throw new ListenError(`${opts.name}: listen on ${opts.addr}: ${errorMessage(err)}`, { cause: err });
    }
    const handler = new Http1Handler({ fetch: opts.fetch, limits: opts.limits, errorReply: opts.errorReply });
    const service = new Service({ name: `@${opts.name}`, listener, handler, logger: opts.logger });
    service.serve().catch((err) => opts.logger.error(`${opts.name} server: ${errorMessage(err)}`));
    return new HttpServer(service, handler);
  }

  /** Whether the server listens on TCP beyond loopback (every interface, or a public address). */
  get public(): boolean {
    return this.addr.transport === "tcp" && !isLoopbackHost((this.addr as Deno.NetAddr).hostname);
  }

  /** `host:port`, or the socket path. */
  get addrText(): string {
    return addrString(this.addr);
  }

  /** Conns being served now. */
  get activeConns(): number {
    return this.#handler.activeConns;
  }

  /** Stops accepting, closes every conn (waiting 3 s at most for them) and removes a unix socket. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#service.close();
      if (this.addr.transport === "unix") await Deno.remove((this.addr as Deno.UnixAddr).path).catch(() => {});
    })();
    return this.#closing;
  }
}
