/**
 * A service: one listener + one handler, with status, optional stats, and graceful close.
 * The accept loop never awaits a handler. An accept error about one pending connection (a client that reset it) is
 * skipped at once; running out of fds backs off 5 ms → 250 ms; any other listener error (an rtcp tunnel that
 * dropped) backs off 1 s → 5 s, state `failed` until the next conn is accepted (docs/architecture.md, "Accepting").
 * @module
 */
import { classifyAcceptError, resourceBackoff } from "../accept.ts";
import { addrString, closeQuietly, type Conn } from "../conn.ts";
import { type ClientErrorKind, clientErrorKind, errorMessage, isServerError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { ConnContext, Handler, Listener } from "../contracts.ts";
import { ListenerClosedError } from "../contracts.ts";
import { type Hooks, runHooks } from "./hooks.ts";
import { newSid } from "./sid.ts";
import { CountingConn, type Stats } from "./stats.ts";
import { ServiceStatus } from "./status.ts";

/** What a conn hook learns when a connection ends. */
export interface ConnResult {
  /** Bytes read from the client. */
  inputBytes: number;
  /** Bytes written to the client. */
  outputBytes: number;
  /** How long the connection lasted, in ms. */
  durationMs: number;
  /** The handler's error, when it ended with one. */
  error?: unknown;
  /** Whether that error counts as a server error (GOST's isServerError). */
  serverError: boolean;
  /** Set when the error was the client's doing (malformed bytes, failed authentication). */
  clientError?: ClientErrorKind;
}

/** Watches every connection of a service (metrics, handler observers). Must not throw or block. */
export interface ConnHook {
  /** A connection was accepted and is about to be handled. */
  open(ctx: ConnContext): void;
  /** The connection ended; `result` says how. */
  close(ctx: ConnContext, result: ConnResult): void;
}

/** Everything a service is built from. */
export interface ServiceOptions {
  /** The service's name. */
  name: string;
  /** Where conns come from, already bound (`init()` done); closed with the service. */
  listener: Listener;
  /** What serves each conn. */
  handler: Handler;
  /** The service's logger; each conn logs through a child. */
  logger: Logger;
  /** Counted stats (`enableStats`); absent when off. */
  stats?: Stats;
  /** Decides whether a client address may connect (admission); absent = everyone. */
  admit?: (clientAddr: string) => boolean;
  /** preUp/postUp/preDown/postDown commands. */
  hooks?: Hooks;
  /** Per-connection watchers (metrics, observers). */
  connHooks?: ConnHook[];
}

const ACCEPT_BACKOFF_MIN_MS = 1000;
const ACCEPT_BACKOFF_MAX_MS = 5000;
/** How long close() waits for the accept loop, and then for the handlers, to end after aborting them. */
export const CLOSE_GRACE_MS = 3000;
const RESOURCE_LOG_NOTE = "5-250 ms until fds are free";

/**
 * A running service.
 * @example
 * const svc = new Service({ name: "service-0", listener, handler, logger });
 * svc.serve(); // runs until close()
 * await svc.close();
 */
export class Service implements AsyncDisposable {
  /** The service's name. */
  readonly name: string;
  /** State and events, as GOST's API shows them. */
  readonly status: ServiceStatus;
  /** Counters, when stats are enabled. */
  readonly stats: Stats | undefined;
  /** The service's listener. */
  readonly listener: Listener;
  /** The service's handler. */
  readonly handler: Handler;
  readonly #logger: Logger;
  readonly #admit?: (clientAddr: string) => boolean;
  readonly #hooks?: Hooks;
  readonly #connHooks: ConnHook[];
  readonly #abort = new AbortController();
  readonly #active = new Set<Conn>();
  readonly #inflight = new Set<Promise<void>>();
  #serving: Promise<void> | null = null;
  #closed = false;
  #closing: Promise<void> | null = null;
  #wakeBackoff: (() => void) | null = null;

  /** A service built from `opts`, state `running`; call `serve()` to accept. */
  constructor(opts: ServiceOptions) {
    this.name = opts.name;
    this.listener = opts.listener;
    this.handler = opts.handler;
    this.stats = opts.stats;
    this.#logger = opts.logger;
    this.#admit = opts.admit;
    this.#hooks = opts.hooks;
    this.#connHooks = opts.connHooks ?? [];
    this.status = new ServiceStatus(opts.name);
    this.status.setState("running");
  }

  /** The bound address. */
  get addr(): Deno.Addr {
    return this.listener.addr;
  }

  /** Number of connections being handled now. */
  get activeConns(): number {
    return this.#active.size;
  }

  /** Runs the preUp hooks (the builder calls this once the listener is bound, before serving). */
  async preUp(): Promise<void> {
    if (this.#hooks) await runHooks("pre-up", this.#hooks.preUp, this.#hooks.timeoutMs, this.#logger);
  }

  /** Starts the accept loop (idempotent) after the postUp hooks; settles when the service is closed. */
  serve(): Promise<void> {
    this.#serving ??= this.#acceptLoop();
    return this.#serving;
  }

  async #acceptLoop(): Promise<void> {
    if (this.#hooks) await runHooks("post-up", this.#hooks.postUp, this.#hooks.timeoutMs, this.#logger);
    if (this.#closed) {
      this.status.setState("closed");
      return;
    }
    this.status.setState("ready");
    this.status.addEvent(`service ${this.name} is listening on ${addrString(this.listener.addr)}`);
    let delay = 0;
    let resourceDelay = 0;
    let connErrors = 0;
    while (!this.#closed) {
      let conn: Conn;
      try {
        conn = await this.listener.accept();
      } catch (err) {
        if (this.#closed || err instanceof ListenerClosedError) break;
        const kind = classifyAcceptError(err);
        if (kind === "conn") {
          // that client is gone; the next one must not wait for it (a listener failing this way without end still
          // lets timers and I/O run in between)
          if (++connErrors % 64 === 0) await this.#pause(0);
          continue;
        }
        if (kind === "resource") {
          // out of fds: the pending conns wait in the backlog; try again soon, they are taken once fds are freed
          if (!resourceDelay) {
            this.status.setState("failed", errorMessage(err));
            this.#logger.warn(`accept: ${errorMessage(err)}, retrying every ${RESOURCE_LOG_NOTE}`);
          }
          resourceDelay = resourceBackoff(resourceDelay);
          delay = 0;
          await this.#pause(resourceDelay);
          continue;
        }
        delay = delay ? Math.min(delay * 2, ACCEPT_BACKOFF_MAX_MS) : ACCEPT_BACKOFF_MIN_MS;
        resourceDelay = 0;
        this.status.setState("failed", errorMessage(err));
        this.#logger.warn(`accept: ${errorMessage(err)}, retrying in ${delay / 1000}s`);
        await this.#pause(delay);
        continue;
      }
      connErrors = 0;
      if (resourceDelay) {
        this.#logger.info("accept: accepting again");
        resourceDelay = 0;
        this.status.setState("ready");
      }
      if (delay) {
        delay = 0;
        this.status.setState("ready");
      }
      if (this.#closed) {
        closeQuietly(conn);
        break;
      }
      const p = this.#handle(conn);
      this.#inflight.add(p);
      p.finally(() => this.#inflight.delete(p));
    }
    this.status.setState("closed");
  }

  /** Waits `ms`, or less when the service closes meanwhile. */
  async #pause(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.#wakeBackoff = () => {
        clearTimeout(t);
        resolve();
      };
    });
    this.#wakeBackoff = null;
  }

  async #handle(raw: Conn): Promise<void> {
    const src = addrString(raw.remoteAddr);
    const local = addrString(raw.localAddr);
    const sid = newSid();
    const logger = this.#logger.child({ sid, remote: src, local });
    if (this.#admit && !this.#admit(src)) {
      closeQuietly(raw);
      logger.debug(`admission: ${src} is denied`);
      return;
    }
    const conn = new CountingConn(raw, this.stats);
    this.#active.add(conn);
    const ctx: ConnContext = {
      sid,
      service: this.name,
      src,
      signal: this.#abort.signal,
      logger,
      traffic: () => ({ inputBytes: conn.input, outputBytes: conn.output }),
    };
    const start = performance.now();
    logger.info(`${src} <> ${local}`);
    // Index loops, and none without hooks: a for-of iterator would stay in this frame for the conn's lifetime.
    const hooks = this.#connHooks;
    for (let i = 0; i < hooks.length; i++) hooks[i].open(ctx);
    let error: unknown;
    let serverError = false;
    let clientError: ClientErrorKind | undefined;
    try {
      await this.handler.handle(conn, ctx);
    } catch (err) {
      error = err;
      serverError = isServerError(err);
      if (serverError) {
        if (this.stats) this.stats.totalErrs++;
        ctx.logger.error(errorMessage(err));
      } else if ((clientError = clientErrorKind(err))) {
        // A client's garbage is the client's problem: an info line (identical ones rate-limited by the logger).
        ctx.logger.info(errorMessage(err), { clientError });
      } else {
        ctx.logger.debug(errorMessage(err));
      }
    } finally {
      closeQuietly(conn);
      this.#active.delete(conn);
      const durationMs = performance.now() - start;
      ctx.logger.info(`${src} >< ${local}`, {
        duration: `${(durationMs / 1000).toFixed(3)}s`,
        inputBytes: conn.input,
        outputBytes: conn.output,
      });
      if (hooks.length) {
        const result = {
          inputBytes: conn.input,
          outputBytes: conn.output,
          durationMs,
          error,
          serverError,
          clientError,
        };
        for (let i = 0; i < hooks.length; i++) hooks[i].close(ctx, result);
      }
    }
  }

  /**
   * Runs preDown, stops accepting, aborts in-flight connections, waits for their handlers, then runs postDown.
   * Idempotent: later calls wait for the first.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#hooks) await runHooks("pre-down", this.#hooks.preDown, this.#hooks.timeoutMs, this.#logger);
    this.#closed = true;
    this.#abort.abort();
    closeQuietly(this.listener);
    this.#wakeBackoff?.();
    for (const c of this.#active) closeQuietly(c);
    try {
      this.handler.close?.();
    } catch (err) {
      this.#logger.warn(`handler close: ${errorMessage(err)}`);
    }
    // Bounded: a listener whose accept ignores close, or a handler that ignores the abort, must not hold up a
    // shutdown or an API change (they are left to end on their own and logged).
    if (this.#serving) {
      if (!await settlesWithin(this.#serving, CLOSE_GRACE_MS)) this.#logger.warn("close: the accept loop is stuck");
    } else this.status.setState("closed");
    if (this.#inflight.size && !await settlesWithin(Promise.allSettled([...this.#inflight]), CLOSE_GRACE_MS)) {
      this.#logger.warn(`close: ${this.#inflight.size} connection handler(s) did not end within ${CLOSE_GRACE_MS} ms`);
    }
    if (this.#hooks) await runHooks("post-down", this.#hooks.postDown, this.#hooks.timeoutMs, this.#logger);
  }

  /** Closes the service (`await using`). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** The status object GOST's API returns, with stats when enabled (the handler's own counters among them). */
  statusJSON(): Record<string, unknown> {
    const s: Record<string, unknown> = this.status.toJSON();
    if (this.stats) {
      const stats: Record<string, unknown> = { ...this.stats.toJSON() };
      for (const c of this.handler.counters?.() ?? []) stats[c.key] = c.value;
      s.stats = stats;
    }
    return s;
  }
}

/** Resolves true when `p` settles within `ms`, false otherwise (never rejects). */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const settled = await Promise.race([
    p.then(() => true, () => true),
    new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), ms)),
  ]);
  clearTimeout(timer);
  return settled;
}
