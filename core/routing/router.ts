/**
 * The router: every handler reaches its targets through it. Per attempt (`retries` + 1 attempts, each bounded
 * by `dialTimeout`): service-level bypass rejects the target, hosts/resolver may map the name to an address,
 * the chain (looked up by name at each dial, so the API can replace it) picks a route, and the route — or a
 * direct dial when there is no chain or the route is empty — opens the conn.
 * @module
 */
import { closeQuietly, type Conn, joinHostPort, type Network, splitHostPort } from "../conn.ts";
import { DialError, errorMessage, GostError, PolicyError } from "../errors.ts";
import { type Logger, nopLogger } from "../log.ts";
import type { DialOptions, Listener, Router } from "../plugin.ts";
import { dialUdp } from "../udp.ts";
import type { BypassChecker, Chain } from "./chain.ts";

/** Maps a host name to an IP before dialing (hosts, then resolver); undefined keeps the name. */
export type NameResolver = (network: Network, host: string) => Promise<string | undefined>;

/** Router options (service `dialTimeout`, handler `retries`, named chain/bypass/hosts/resolver). */
export interface RouterOptions {
  /** Extra attempts after the first (GOST's `retries`). */
  retries?: number;
  /** Per-attempt timeout in ms (default 10 s). */
  dialTimeoutMs?: number;
  logger?: Logger;
  /** The chain, looked up at every dial (late binding). */
  chain?: () => Chain | undefined;
  /** Service-level bypass: a matching target is rejected. */
  bypass?: () => BypassChecker | undefined;
  /** Hosts/resolver lookup for targets. */
  resolve?: NameResolver;
}

/** The default per-attempt dial timeout. */
export const DEFAULT_DIAL_TIMEOUT_MS = 10_000;

/** Dials a TCP target with a timeout and an abort signal (Deno.connect cancels the attempt itself). */
export async function dialTcp(host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<Conn> {
  if (!host) throw new Error("empty host");
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const conn = await Deno.connect({
      hostname: host,
      port,
      transport: "tcp",
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    conn.setNoDelay(true);
    return conn;
  } catch (err) {
    if (timeout.aborted) throw new Error(`dial timed out after ${timeoutMs} ms`, { cause: err });
    if (signal?.aborted) throw new Error("dial aborted", { cause: err });
    throw err;
  }
}

/** Runs `fn` with a timeout that aborts the signal it gets. */
async function withTimeout<T>(
  ms: number,
  outer: AbortSignal | undefined,
  fn: (s: AbortSignal) => Promise<T>,
): Promise<T> {
  const ctl = new AbortController();
  const onAbort = () => ctl.abort();
  outer?.addEventListener("abort", onAbort, { once: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      ctl.abort();
      reject(new Error(`timed out after ${ms} ms`));
    }, ms);
  });
  const work = fn(ctl.signal);
  try {
    return await Promise.race([work, expired]);
  } catch (err) {
    work.then((c) => closeQuietly(c as { close(): void }), () => {});
    throw err;
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener("abort", onAbort);
  }
}

/**
 * The service router.
 * @example const conn = await new DefaultRouter({ retries: 1 }).dial("tcp", "example.com:80");
 */
export class DefaultRouter implements Router {
  readonly #opts: RouterOptions & { retries: number; dialTimeoutMs: number; logger: Logger };

  constructor(opts: RouterOptions = {}) {
    this.#opts = {
      ...opts,
      retries: opts.retries ?? 0,
      dialTimeoutMs: opts.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS,
      logger: opts.logger ?? nopLogger,
    };
  }

  /**
   * @throws {PolicyError} when the service bypass rejects the target
   * @throws {DialError} naming the target (or failing node) when every attempt fails
   */
  async dial(network: Network, addr: string, opts: DialOptions = {}): Promise<Conn> {
    let host: string, port: number;
    try {
      ({ host, port } = splitHostPort(addr));
    } catch (err) {
      throw new DialError(addr, errorMessage(err), { cause: err });
    }
    if (!host) throw new DialError(addr, `dial ${network} ${addr}: empty host`);
    if (this.#opts.bypass?.()?.contains(network, addr)) throw new PolicyError(`${addr} is bypassed`);
    const log = opts.logger ?? this.#opts.logger;
    let last: unknown;
    for (let attempt = 0; attempt <= this.#opts.retries; attempt++) {
      if (opts.signal?.aborted) break;
      try {
        const ip = (await this.#opts.resolve?.(network, host)) ?? host;
        const target = ip === host ? addr : joinHostPort(ip, port);
        const route = this.#opts.chain?.()?.route(network, target, opts.hashKey);
        if (route?.steps.length) {
          if (log.enabled("debug")) log.debug(`route(retry=${attempt}) ${route} > ${target}`);
          return await withTimeout(
            this.#opts.dialTimeoutMs,
            opts.signal,
            (signal) => route.dial(network, target, { ...opts, signal }),
          );
        }
        if (log.enabled("debug")) log.debug(`route(retry=${attempt}) ${target}`);
        if (network === "udp") return dialUdp(ip, port);
        return await dialTcp(ip, port, this.#opts.dialTimeoutMs, opts.signal);
      } catch (err) {
        last = err;
        if (err instanceof PolicyError) throw err;
        log.debug(`dial ${network} ${addr} (attempt ${attempt + 1}): ${errorMessage(err)}`);
      }
    }
    if (last instanceof DialError) throw last;
    if (last instanceof GostError && last.code !== "gost") throw last;
    throw new DialError(addr, `dial ${network} ${addr}: ${errorMessage(last ?? "aborted")}`, { cause: last });
  }

  /**
   * Binds `addr` on the last node of the chain (remote port forwarding).
   * @throws {DialError} when there is no chain or the node cannot bind
   */
  async bind(network: Network, addr: string, opts: DialOptions = {}): Promise<Listener> {
    const route = this.#opts.chain?.()?.route(network, addr, opts.hashKey);
    if (!route?.steps.length) throw new DialError(addr, `bind ${network} ${addr}: no chain to bind through`);
    return await route.bind(network, addr, opts);
  }
}

/** @deprecated the old name of {@link DefaultRouter} */
export { DefaultRouter as DirectRouter };
