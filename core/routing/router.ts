/**
 * The router: every handler reaches its targets through it. Per attempt (`retries` + 1 attempts, each bounded
 * by `dialTimeout`): service-level bypass rejects the target, hosts/resolver may map the name to an address,
 * the chain (looked up by name at each dial, so the API can replace it) picks a route, and the route — or a
 * direct dial when there is no chain or the route is empty — opens the conn. A route whose first node is the very
 * service dialing (`-L http://:8080 -F http://127.0.0.1:8080`) fails at once instead of looping.
 * @module
 */
import { addrString, closeQuietly, type Conn, joinHostPort, type Network, splitHostPort } from "../conn.ts";
import { DialError, errorMessage, GostError, PolicyError } from "../errors.ts";
import { type Logger, nopLogger } from "../log.ts";
import type { DialOptions, Listener, Router } from "../plugin.ts";
import { dialUdp } from "../udp.ts";
import { after, deadlineSignal } from "../deadline.ts";
import type { BypassChecker, Chain, FirstNodeCheck } from "./chain.ts";

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
  /**
   * The service this router dials for (name, bound address), looked up at every dial: a route whose first node is
   * that service loops and fails. A first node that is another service of the process is fine (a relay server and
   * the rtcp service using it, in one config file).
   */
  self?: () => LocalService | undefined;
}

/** A service of this process, as the loop check sees it. */
export interface LocalService {
  readonly name: string;
  readonly addr?: Deno.Addr;
}

/** The default per-attempt dial timeout. */
export const DEFAULT_DIAL_TIMEOUT_MS = 10_000;

/** Dials a TCP target with a timeout and an abort signal (Deno.connect cancels the attempt itself). */
export async function dialTcp(host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<Conn> {
  if (!host) throw new Error("empty host");
  const deadline = deadlineSignal(timeoutMs, signal);
  try {
    const conn = await Deno.connect({ hostname: host, port, transport: "tcp", signal: deadline.signal });
    conn.setNoDelay(true);
    return conn;
  } catch (err) {
    if (deadline.expired()) throw new Error(`dial timed out after ${timeoutMs} ms`, { cause: err });
    if (signal?.aborted) throw new Error("dial aborted", { cause: err });
    throw err;
  } finally {
    deadline.release();
  }
}

/** How long a route may take to reject after the dial timeout aborted it, before the router gives up on it. */
const ABORT_GRACE_MS = 100;

/**
 * Runs `fn` with a timeout that aborts the signal it gets with a `TimeoutError` (an abort of `outer` passes on its
 * own reason). A route rejects on that abort, naming the node it was at; the router's own rejection is the
 * backstop, {@link ABORT_GRACE_MS} later.
 */
async function withTimeout<T>(
  ms: number,
  outer: AbortSignal | undefined,
  fn: (s: AbortSignal) => Promise<T>,
): Promise<T> {
  let expire!: (err: unknown) => void;
  const expired = new Promise<never>((_, reject) => expire = reject);
  let cancelGrace: (() => void) | undefined;
  const deadline = deadlineSignal(ms, outer, "dial", (err) => {
    cancelGrace = after(ABORT_GRACE_MS, () => expire(err));
  });
  const work = fn(deadline.signal);
  try {
    return await Promise.race([work, expired]);
  } catch (err) {
    work.then((c) => closeQuietly(c as { close(): void }), () => {});
    throw err;
  } finally {
    deadline.release();
    cancelGrace?.();
  }
}

const unbracket = (h: string) => h.replace(/^\[|\]$/g, "").toLowerCase().replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, "$1");
const isIP = (h: string) => /^\d+\.\d+\.\d+\.\d+$/.test(h) || h.includes(":");

/** The IPs of this host's interfaces (empty when not allowed to ask). */
function interfaceIPs(): Set<string> {
  try {
    return new Set(Deno.networkInterfaces().map((i) => unbracket(i.address)));
  } catch {
    return new Set();
  }
}

/**
 * The service of this process listening on `host:port` (an IP), if any: the same IP, or a wildcard address
 * (`0.0.0.0` for IPv4, `::` for both) and a loopback or interface IP.
 */
export function findLocalService(
  services: Iterable<LocalService>,
  host: string,
  port: number,
): LocalService | undefined {
  const h = unbracket(host);
  if (!isIP(h)) return undefined;
  let local: Set<string> | undefined;
  for (const svc of services) {
    let a: Deno.Addr | undefined;
    try {
      a = svc.addr;
    } catch {
      continue; // a listener that is gone
    }
    if (a?.transport !== "tcp" || a.port !== port) continue;
    const l = unbracket(a.hostname);
    if (l === h) return svc;
    if (l !== "" && l !== "0.0.0.0" && l !== "::") continue;
    if (l === "0.0.0.0" && h.includes(":")) continue;
    if (h.startsWith("127.") || h === "::1" || (local ??= interfaceIPs()).has(h)) return svc;
  }
  return undefined;
}

/** The loop check: fails a route whose first node is `self`, before the dial (an IP) and after it (any name). */
function loopCheck(self: () => LocalService | undefined): FirstNodeCheck {
  return (node, conn) => {
    const svc = self();
    let addr: Deno.Addr | undefined;
    try {
      addr = svc?.addr;
    } catch {
      return; // a listener that is gone
    }
    if (!svc || addr?.transport !== "tcp") return;
    let host: string, port: number;
    if (conn) {
      const remote = conn.remoteAddr;
      if (remote.transport !== "tcp" || remote.port !== addr.port) return;
      ({ hostname: host, port } = remote);
    } else {
      // the common case (another port) without parsing anything
      if (Number(node.addr.slice(node.addr.lastIndexOf(":") + 1)) !== addr.port) return;
      try {
        ({ host, port } = splitHostPort(node.addr));
      } catch {
        return;
      }
    }
    if (findLocalService([svc], host, port)) {
      throw new GostError(`the chain loops back to service ${svc.name} itself: it listens on ${addrString(addr)}`);
    }
  };
}

/**
 * The service router.
 * @example const conn = await new DefaultRouter({ retries: 1 }).dial("tcp", "example.com:80");
 */
export class DefaultRouter implements Router {
  readonly #opts: RouterOptions & { retries: number; dialTimeoutMs: number; logger: Logger };
  readonly #check?: FirstNodeCheck;

  constructor(opts: RouterOptions = {}) {
    this.#opts = {
      ...opts,
      retries: opts.retries ?? 0,
      dialTimeoutMs: opts.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS,
      logger: opts.logger ?? nopLogger,
    };
    if (opts.self) this.#check = loopCheck(opts.self);
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
            (signal) => route.dial(network, target, { ...opts, signal }, this.#check),
          );
        }
        if (log.enabled("debug")) log.debug(`route(retry=${attempt}) ${target}`);
        if (network === "udp") return dialUdp(ip, port);
        return await dialTcp(ip, port, this.#opts.dialTimeoutMs, opts.signal);
      } catch (err) {
        last = err;
        if (err instanceof PolicyError) throw err;
        // An attempt that is retried is logged here (GOST logs every failed route); the last one is the handler's.
        const msg = `dial ${network} ${addr} (attempt ${attempt + 1} of ${this.#opts.retries + 1}): ${
          errorMessage(err)
        }`;
        if (attempt < this.#opts.retries && !opts.signal?.aborted) log.warn(msg);
        else log.debug(msg);
      }
    }
    if (last instanceof DialError) throw last;
    if (last instanceof GostError && last.code !== "gost") throw last;
    throw new DialError(addr, `dial ${network} ${addr}: ${errorMessage(last ?? "aborted")}`, { cause: last });
  }

  /**
   * See {@link Router.reuseKey}: the target alone without a chain, with the chain's fixed path otherwise, and the IP
   * that hosts/resolver map its name to (a changed mapping gives new keys).
   */
  async reuseKey(network: Network, addr: string): Promise<string | undefined> {
    try {
      if (network !== "tcp" || this.#opts.bypass?.()?.contains(network, addr)) return undefined;
      const chain = this.#opts.chain?.();
      const path = chain ? chain.fixedPath : "";
      if (path === undefined) return undefined;
      let target = addr;
      if (this.#opts.resolve) {
        const { host, port } = splitHostPort(addr);
        const ip = await this.#opts.resolve(network, host);
        if (ip !== undefined && ip !== host) target = `${addr}=${joinHostPort(ip, port)}`;
      }
      return path ? `${path} > ${target}` : target;
    } catch {
      return undefined; // a missing chain or bypass, a name that does not resolve: the dial says what is wrong
    }
  }

  /**
   * Binds `addr` on the last node of the chain (remote port forwarding).
   * @throws {DialError} when there is no chain or the node cannot bind
   */
  async bind(network: Network, addr: string, opts: DialOptions = {}): Promise<Listener> {
    const route = this.#opts.chain?.()?.route(network, addr, opts.hashKey);
    if (!route?.steps.length) throw new DialError(addr, `bind ${network} ${addr}: no chain to bind through`);
    return await route.bind(network, addr, opts, this.#check);
  }
}

/** @deprecated the old name of {@link DefaultRouter} */
export { DefaultRouter as DirectRouter };
