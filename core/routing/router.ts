/**
 * The router: every handler reaches its targets through it. It dials directly with retries and a per-attempt
 * `dialTimeout`; hosts, resolver, bypass and chains plug in here.
 * @module
 */
import { closeQuietly, type Conn, type Network, splitHostPort } from "../conn.ts";
import { DialError, errorMessage } from "../errors.ts";
import { type Logger, nopLogger } from "../log.ts";
import type { DialOptions, Router } from "../plugin.ts";
import { dialUdp } from "../udp.ts";

/** Router options (service `dialTimeout`, handler `retries`). */
export interface RouterOptions {
  /** Extra attempts after the first (GOST's `retries`). */
  retries?: number;
  /** Per-attempt timeout in ms (default 10 s). */
  dialTimeoutMs?: number;
  logger?: Logger;
}

/** The default per-attempt dial timeout. */
export const DEFAULT_DIAL_TIMEOUT_MS = 10_000;

/** Dials a TCP target with a timeout and an abort signal, closing a late conn. */
export async function dialTcp(host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<Conn> {
  const pending = Deno.connect({ hostname: host || "127.0.0.1", port, transport: "tcp" });
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const cancel = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`dial timed out after ${timeoutMs} ms`)), timeoutMs);
    if (signal) {
      onAbort = () => reject(new Error("dial aborted"));
      signal.addEventListener("abort", onAbort, { once: true });
    }
  });
  try {
    const conn = await Promise.race([pending, cancel]);
    conn.setNoDelay(true);
    return conn;
  } catch (err) {
    pending.then(closeQuietly, () => {});
    throw err;
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * Direct router.
 * @example const conn = await new DirectRouter({ retries: 1 }).dial("tcp", "example.com:80");
 */
export class DirectRouter implements Router {
  readonly #opts: Required<RouterOptions>;

  constructor(opts: RouterOptions = {}) {
    this.#opts = {
      retries: opts.retries ?? 0,
      dialTimeoutMs: opts.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS,
      logger: opts.logger ?? nopLogger,
    };
  }

  /** @throws {DialError} naming the target when every attempt fails */
  async dial(network: Network, addr: string, opts: DialOptions = {}): Promise<Conn> {
    let hostPort: { host: string; port: number };
    try {
      hostPort = splitHostPort(addr);
    } catch (err) {
      throw new DialError(addr, errorMessage(err), { cause: err });
    }
    if (!hostPort.host) throw new DialError(addr, `dial ${network} ${addr}: empty host`);
    const log = opts.logger ?? this.#opts.logger;
    let last: unknown;
    for (let attempt = 0; attempt <= this.#opts.retries; attempt++) {
      if (opts.signal?.aborted) break;
      try {
        if (network === "udp") return dialUdp(hostPort.host, hostPort.port);
        const conn = await dialTcp(hostPort.host, hostPort.port, this.#opts.dialTimeoutMs, opts.signal);
        if (log.enabled("debug")) log.debug(`route(retry=${attempt}) ${addr}`);
        return conn;
      } catch (err) {
        last = err;
        log.debug(`dial ${network} ${addr} (attempt ${attempt + 1}): ${errorMessage(err)}`);
      }
    }
    throw new DialError(addr, `dial ${network} ${addr}: ${errorMessage(last ?? "aborted")}`, { cause: last });
  }
}
