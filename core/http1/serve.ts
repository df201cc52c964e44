/**
 * Serving HTTP/1.1 on accepted conns, for the Web API (`-api`, the `api` handler) and the metrics: requests in a
 * keep-alive loop go to a fetch function, every wait is bounded and the conns served at once are capped, so that a
 * client that sends half a request, idles, or never reads cannot hold an fd for long (docs/architecture.md,
 * "Accepting"). Run by a Service (core/service/service.ts), whose accept loop backs off when fds run out.
 *
 * The bounds and their defaults: limits.ts.
 * @module
 */
import { closeQuietly, type Conn } from "../conn.ts";
import { withDeadline } from "../deadline.ts";
import { errorMessage, TimeoutError } from "../errors.ts";
import type { ConnContext, Handler } from "../contracts.ts";
import { HttpStatusError } from "./head.ts";
import { lingerClose, newReader, releaseReader } from "./reader.ts";
import { DEFAULT_HTTP1_LIMITS, type Http1Limits } from "./limits.ts";
import { readRequest } from "./request.ts";
import { writeResponse } from "./response.ts";

/** How long the 503 to a conn over {@link Http1Limits.maxConns} may take to write. */
const REFUSE_WRITE_MS = 1000;

/** What a fetch function learns about the conn besides the request. */
export interface Http1ConnInfo {
  /** The client, `host:port` (or the socket path). */
  remoteAddr: string;
  /** The transport of the conn's local address (`tcp`, `unix`). */
  transport: string;
}

/** Answers one request. */
export type FetchFn = (req: Request, info: Http1ConnInfo) => Response | Promise<Response>;

/** Builds the answer a server gives on its own: a protocol error, a conn over the cap, a failing fetch. */
export type ErrorReply = (status: number, message: string, err?: unknown) => Response;

/** How a {@link Http1Handler} serves. */
export interface Http1HandlerOptions {
  fetch: FetchFn;
  /** Bounds; missing ones take their defaults. */
  limits?: Partial<Http1Limits>;
  /** The server's own answers (default: a plain-text body). */
  errorReply?: ErrorReply;
}

/** A plain-text answer: the status line's reason and the message. */
export function textErrorReply(status: number, message: string): Response {
  return new Response(`${message}\n`, { status, headers: { "Content-Type": "text/plain; charset=utf-8" } });
}

/**
 * Serves HTTP/1.1 requests on each conn through `fetch`, under the bounds.
 * @example
 * const h = new Http1Handler({ fetch: (req) => new Response("ok"), limits: { maxConns: 64 } });
 * const svc = new Service({ name: "metrics", listener, handler: h, logger });
 */
export class Http1Handler implements Handler {
  /** The bounds in force. */
  readonly limits: Readonly<Http1Limits>;
  readonly #fetch: FetchFn;
  readonly #errorReply: ErrorReply;
  #active = 0;

  constructor(opts: Http1HandlerOptions) {
    this.#fetch = opts.fetch;
    this.limits = { ...DEFAULT_HTTP1_LIMITS, ...opts.limits };
    this.#errorReply = opts.errorReply ?? textErrorReply;
  }

  /** Number of conns being served now. */
  get activeConns(): number {
    return this.#active;
  }

  init(): Promise<void> {
    return Promise.resolve();
  }

  async handle(conn: Conn, ctx: ConnContext): Promise<void> {
    if (this.#active >= this.limits.maxConns) {
      ctx.logger.debug(`refused: ${this.#active} conns are served already (maxConns ${this.limits.maxConns})`);
      const res = this.#errorReply(503, `Too many connections: at most ${this.limits.maxConns}`);
      try {
        await withDeadline(conn, REFUSE_WRITE_MS, () => writeResponse(conn, res, "GET", false));
      } catch {
        // gone or not reading: closed below either way
      } finally {
        closeQuietly(conn);
      }
      return;
    }
    this.#active++;
    try {
      await this.#serve(conn, ctx);
    } finally {
      this.#active--;
    }
  }

  async #serve(conn: Conn, ctx: ConnContext): Promise<void> {
    const limits = this.limits;
    const reader = newReader(conn);
    const info: Http1ConnInfo = { remoteAddr: ctx.src, transport: conn.localAddr.transport };
    const onAbort = () => closeQuietly(conn);
    ctx.signal.addEventListener("abort", onAbort, { once: true });
    try {
      for (let first = true;; first = false) {
        if (!first && reader.buffered === 0) {
          // kept alive: wait idle for the next request's first byte
          let more: number | null;
          try {
            more = await withDeadline(conn, limits.idleTimeoutMs, () => reader.peekByte());
          } catch (err) {
            if (err instanceof TimeoutError) return;
            throw err;
          }
          if (more === null) return;
        }
        let incoming;
        try {
          incoming = await withDeadline(conn, limits.readTimeoutMs, () => readRequest(reader, conn, limits));
        } catch (err) {
          if (err instanceof HttpStatusError) {
            const res = this.#errorReply(err.status, err.message, err);
            await withDeadline(conn, limits.writeTimeoutMs, () => writeResponse(conn, res, "GET", false))
              .catch(() => {});
            await lingerClose(conn);
            return;
          }
          // a half-sent request cut by readTimeout, or a conn that never sent one: closed already
          if (err instanceof TimeoutError) return ctx.logger.debug(errorMessage(err));
          throw err;
        }
        if (!incoming) return;
        let res: Response;
        let keepAlive = incoming.keepAlive;
        try {
          res = await this.#fetch(incoming.request, info);
        } catch (err) {
          ctx.logger.error(`${incoming.method} ${new URL(incoming.request.url).pathname}: ${errorMessage(err)}`);
          res = this.#errorReply(500, errorMessage(err), err);
          keepAlive = false;
        }
        await withDeadline(conn, limits.writeTimeoutMs, () => writeResponse(conn, res, incoming.method, keepAlive));
        if (!keepAlive) return;
      }
    } finally {
      ctx.signal.removeEventListener("abort", onAbort);
      releaseReader(reader);
      closeQuietly(conn);
    }
  }
}
