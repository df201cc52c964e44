/**
 * Observer events and the HTTP observer plugin (GOST's `x/observer/plugin/http.go` wire format).
 *
 * `POST <addr>` (`http://` is prefixed when the address has no scheme), `Content-Type: application/json`,
 * `Authorization: Bearer <token>` when a token is set, body `{"events":[…]}` with GOST's field names. Only
 * HTTP 200 with a JSON body whose `ok` is `true` counts as delivered; anything else (status, bad JSON, timeout,
 * refused connection) is a failure the caller may retry. `timeout` bounds each request and its answer; a `tls` block
 * applies to an `https://` address (`plugin_https.ts`: GOST's `secure`/`serverName`, and `caFile`).
 * @module
 */
import { errorMessage } from "../errors.ts";
import type { Logger } from "../log.ts";
import { HttpsPoster, type PluginTls } from "./plugin_https.ts";

/** The counters of a stats event (uint64 on the wire). */
export interface StatsData {
  totalConns: number;
  currentConns: number;
  inputBytes: number;
  outputBytes: number;
  totalErrs: number;
}

/** One observer event: a service state change, or the stats of a service or of one client of a handler. */
export interface ObserverEvent {
  /** `service` (service-level) or `handler` (per client). */
  kind: "service" | "handler";
  service: string;
  /** The client id (auther-returned) of a handler event; empty for unauthenticated clients. */
  client?: string;
  type: "status" | "stats";
  /** For `type: "status"`. */
  status?: { state: string; msg: string };
  /** For `type: "stats"`. */
  stats?: StatsData;
}

/** Something events are pushed to (a plugin). */
export interface Observer {
  /**
   * Delivers events. Never throws: failures are logged and reported as `false` so the caller can retry.
   * @returns true when the plugin acknowledged them (an empty list is trivially delivered)
   */
  observe(events: ObserverEvent[]): Promise<boolean>;
  /** Releases connections. */
  close(): void;
}

/** How to reach a plugin (`observers[].plugin`). */
export interface PluginOptions {
  /** `host:port` or a URL. */
  addr: string;
  /** Sent as `Authorization: Bearer` (HTTP) or metadata `token` (gRPC). */
  token?: string;
  /** Per-request timeout. */
  timeoutMs: number;
  /**
   * TLS to the plugin (gRPC, and HTTP to an `https://` address): verify the server certificate only when `secure`,
   * for `serverName` (default the address host), against `caFile` (default the system roots).
   */
  tls?: PluginTls;
  logger: Logger;
}

/** Default per-request timeout (GOST has none; a hung plugin must not hold events back forever). */
export const DEFAULT_PLUGIN_TIMEOUT_MS = 10_000;

/** Builds GOST's JSON shape of one event: `kind, service, client (omitted when empty), type, stats|status`. */
export function eventJSON(e: ObserverEvent): Record<string, unknown> {
  const out: Record<string, unknown> = { kind: e.kind, service: e.service };
  if (e.client) out.client = e.client;
  out.type = e.type;
  if (e.stats) {
    out.stats = {
      totalConns: e.stats.totalConns,
      currentConns: e.stats.currentConns,
      inputBytes: e.stats.inputBytes,
      outputBytes: e.stats.outputBytes,
      totalErrs: e.stats.totalErrs,
    };
  }
  if (e.status) out.status = { state: e.status.state, msg: e.status.msg };
  return out;
}

/**
 * The HTTP observer plugin.
 * @example
 * const obs = new HttpObserver({ addr: "127.0.0.1:8000/observer", token: "t", timeoutMs: 5000, logger });
 * await obs.observe([{ kind: "service", service: "s", type: "status", status: { state: "ready", msg: "…" } }]);
 */
export class HttpObserver implements Observer {
  readonly url: string;
  readonly #token?: string;
  readonly #timeoutMs: number;
  readonly #logger: Logger;
  readonly #inflight = new Set<AbortController>();
  /** Set for an `https://` address with a `tls` block (GOST applies the block to HTTPS only). */
  readonly #https?: HttpsPoster;

  constructor(opts: PluginOptions) {
    this.url = /^https?:\/\//i.test(opts.addr) ? opts.addr : `http://${opts.addr}`;
    this.#token = opts.token;
    this.#timeoutMs = opts.timeoutMs;
    this.#logger = opts.logger;
    if (opts.tls && /^https:/i.test(this.url)) this.#https = new HttpsPoster(this.url, opts.tls);
  }

  async observe(events: ObserverEvent[]): Promise<boolean> {
    if (!events.length) return true;
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    if (this.#token) headers.Authorization = `Bearer ${this.#token}`;
    const body = JSON.stringify({ events: events.map(eventJSON) });
    let reply: { status: number; body: string };
    try {
      reply = this.#https ? await this.#https.post(headers, body, this.#timeoutMs) : await this.#fetch(headers, body);
    } catch (err) {
      this.#logger.warn(`observer ${this.url}: ${errorMessage(err)}`);
      return false;
    }
    if (reply.status !== 200) {
      this.#logger.warn(`observer ${this.url}: HTTP ${reply.status}`);
      return false;
    }
    let ok: unknown;
    try {
      ok = (JSON.parse(reply.body) as { ok?: unknown } | null)?.ok;
    } catch {
      ok = undefined;
    }
    if (ok !== true) {
      this.#logger.warn(`observer ${this.url}: the plugin did not answer {"ok":true}`);
      return false;
    }
    return true;
  }

  /** One POST with fetch, bounded by the timeout (status and whole body). */
  async #fetch(headers: Record<string, string>, body: string): Promise<{ status: number; body: string }> {
    const abort = new AbortController();
    this.#inflight.add(abort);
    const timer = setTimeout(() => abort.abort(new Error(`timed out after ${this.#timeoutMs} ms`)), this.#timeoutMs);
    try {
      const res = await fetch(this.url, { method: "POST", headers, body, signal: abort.signal });
      if (res.status !== 200) {
        await res.body?.cancel();
        return { status: res.status, body: "" };
      }
      return { status: res.status, body: await res.text() };
    } catch (err) {
      throw abort.signal.reason ?? err;
    } finally {
      clearTimeout(timer);
      this.#inflight.delete(abort);
    }
  }

  /** Aborts requests in flight. */
  close(): void {
    for (const a of this.#inflight) a.abort(new Error("observer closed"));
    this.#https?.close();
  }
}

/**
 * Runs sends one after another, so a plugin sees one service's events in the order they happened.
 * @example
 * const q = new SendQueue(); q.run(() => obs.observe(a)); q.run(() => obs.observe(b)); await q.idle();
 */
export class SendQueue {
  #tail: Promise<unknown> = Promise.resolve();

  /** Queues `fn` after everything queued before; its result (never a rejection of an earlier one). */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#tail.then(fn);
    this.#tail = p.catch(() => {});
    return p;
  }

  /** Settles once everything queued so far has run. */
  async idle(): Promise<void> {
    let tail;
    do {
      tail = this.#tail;
      await tail;
    } while (tail !== this.#tail);
  }
}
