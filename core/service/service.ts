/**
 * A service: one listener + one handler, with status, optional stats, and graceful close.
 * The accept loop never awaits a handler; it backs off 1 s → 5 s on accept errors (state `failed`).
 * @module
 */
import { addrString, closeQuietly, type Conn } from "../conn.ts";
import { errorMessage, isServerError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { ConnContext, Handler, Listener } from "../plugin.ts";
import { ListenerClosedError } from "../plugin.ts";
import { type Hooks, runHooks } from "./hooks.ts";
import { newSid } from "./sid.ts";
import { CountingConn, type Stats } from "./stats.ts";
import { ServiceStatus } from "./status.ts";

/** What a conn hook learns when a connection ends. */
export interface ConnResult {
  inputBytes: number;
  outputBytes: number;
  durationMs: number;
  /** The handler's error, when it ended with one. */
  error?: unknown;
  /** Whether that error counts as a server error (GOST's isServerError). */
  serverError: boolean;
}

/** Watches every connection of a service (metrics, handler observers). Must not throw or block. */
export interface ConnHook {
  open(ctx: ConnContext): void;
  close(ctx: ConnContext, result: ConnResult): void;
}

/** Everything a service is built from. */
export interface ServiceOptions {
  name: string;
  listener: Listener;
  handler: Handler;
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

/**
 * A running service.
 * @example
 * const svc = new Service({ name: "service-0", listener, handler, logger });
 * svc.serve(); // runs until close()
 * await svc.close();
 */
export class Service implements AsyncDisposable {
  readonly name: string;
  readonly status: ServiceStatus;
  readonly stats: Stats | undefined;
  readonly listener: Listener;
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
    while (!this.#closed) {
      let conn: Conn;
      try {
        conn = await this.listener.accept();
      } catch (err) {
        if (this.#closed || err instanceof ListenerClosedError) break;
        delay = delay ? Math.min(delay * 2, ACCEPT_BACKOFF_MAX_MS) : ACCEPT_BACKOFF_MIN_MS;
        this.status.setState("failed", errorMessage(err));
        this.#logger.warn(`accept: ${errorMessage(err)}, retrying in ${delay / 1000}s`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, delay);
          this.#wakeBackoff = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.#wakeBackoff = null;
        continue;
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
    try {
      await this.handler.handle(conn, ctx);
    } catch (err) {
      error = err;
      serverError = isServerError(err);
      if (serverError) {
        if (this.stats) this.stats.totalErrs++;
        ctx.logger.error(errorMessage(err));
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
        const result = { inputBytes: conn.input, outputBytes: conn.output, durationMs, error, serverError };
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
    if (this.#serving) await this.#serving;
    else this.status.setState("closed");
    await Promise.allSettled([...this.#inflight]);
    if (this.#hooks) await runHooks("post-down", this.#hooks.postDown, this.#hooks.timeoutMs, this.#logger);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** The status object GOST's API returns, with stats when enabled. */
  statusJSON(): Record<string, unknown> {
    const s: Record<string, unknown> = this.status.toJSON();
    if (this.stats) s.stats = this.stats.toJSON();
    return s;
  }
}
