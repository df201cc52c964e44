/**
 * The router: every handler reaches its targets through it. The target is first written in its one canonical form
 * (canonical_host.ts: `127.1`, `0x7f000001` and `[::ffff:127.0.0.1]` are 127.0.0.1), which is both what the rules
 * match and what is dialed. Per attempt (`retries` + 1 attempts, each bounded by `dialTimeout`): service-level bypass
 * rejects the target, hosts/resolver may map the name to addresses (matched by the bypass too), the chain (looked up
 * by name at each dial, so the API can replace it) picks a route, and the route opens the conn; the far end of a
 * chain resolves a name itself. With no chain, or an empty route, the router dials directly: a name is resolved once
 * here (hosts/resolver, else the system resolver), the bypass is matched on every address it resolves to, and those
 * addresses are dialed in order, with no second lookup. Guards: a route whose first node is the very service dialing
 * (`-L http://:8080 -F http://127.0.0.1:8080`) fails at once; a request that already passed through this service in
 * this process (services chaining to each other) fails at once (loop_guard.ts); a service whose clients choose their
 * targets may be kept from dialing this process's own listening addresses (`ownEndpoints`).
 * @module
 */
import { addrString, closeQuietly, type Conn, joinHostPort, type Network, splitHostPort } from "../conn.ts";
import { DialError, errorMessage, GostError, InvalidTargetError, NoChainError, PolicyError } from "../errors.ts";
import { type Logger, nopLogger } from "../log.ts";
import type { DialOptions, DirectDial, Listener, PacketConn, Router } from "../contracts.ts";
import { bindUdp, dialUdp, UdpPacketConn } from "../udp.ts";
import { after, deadlineSignal } from "../deadline.ts";
import { type BypassChecker, bypassesAny } from "./bypass.ts";
import { canonicalHost } from "./canonical_host.ts";
import type { Chain, FirstNodeOpen } from "./chain.ts";
import type { ChainGroup } from "./chain_group.ts";
import { findLocalService, type LocalService, onPort } from "./local_addrs.ts";
import { openTagged, type Trail, trailOf } from "./loop_guard.ts";
import { DatagramTargets } from "./datagram_targets.ts";
import {
  carriesPackets,
  CheckedPacketConn,
  openPacketRoute,
  PerTargetPacketConn,
  routesAlike,
} from "./packet_route.ts";
import { systemLookup } from "./system_lookup.ts";

export { findLocalService, type LocalService };

/**
 * Maps a host name to addresses before dialing (hosts, then resolver): one IP or several, in order; undefined or
 * empty keeps the name.
 */
export type NameResolver = (network: Network, host: string) => Promise<string | string[] | undefined>;

/** Router options (service `dialTimeout`, handler `retries`, named chain/bypass/hosts/resolver). */
export interface RouterOptions {
  /** Extra attempts after the first (GOST's `retries`). */
  retries?: number;
  /** Per-attempt timeout in ms (default 10 s). */
  dialTimeoutMs?: number;
  /** Where dial attempts and failures are logged (default: nowhere). */
  logger?: Logger;
  /** The chain or chain group, looked up at every dial (late binding). */
  chain?: () => Chain | ChainGroup | undefined;
  /** Service-level bypass: a matching target is rejected. */
  bypass?: () => BypassChecker | undefined;
  /** Hosts/resolver lookup for targets. */
  resolve?: NameResolver;
  /**
   * The service this router dials for (name, bound address), looked up at every dial: a route whose first node is
   * that service loops and fails. A first node that is another service of the process is fine (a relay server and
   * the rtcp service using it, in one config file). Its name also goes on the trail of every conn it opens.
   */
  self?: () => LocalService | undefined;
  /**
   * This process's listening addresses (services, Web API, metrics), looked up at each direct dial: when set, a
   * direct dial that would reach one of them is refused with a {@link PolicyError} (the self-SSRF guard of services
   * whose clients choose the target; `allowSelfTarget=true` leaves it unset).
   */
  ownEndpoints?: () => Iterable<LocalService>;
  /**
   * This process's services, looked up at each dial: only the conns to one of them are tagged for the loop guard
   * (a conn elsewhere cannot come back to this process). Absent: every conn is tagged.
   */
  services?: () => Iterable<LocalService>;
}

/** The default per-attempt dial timeout. */
export const DEFAULT_DIAL_TIMEOUT_MS = 10_000;

/**
 * What an address without a host (`:22`, a forward target, a chain node) dials: this host, as Go dials it
 * (`net.Dial("tcp", ":22")` connects to 0.0.0.0:22, which Linux delivers to the local host over IPv4): 127.0.0.1.
 * A service listening on `[::]` (dual-stack) or on 0.0.0.0 is reached there; one bound to `[::1]` alone is not, as
 * with GOST.
 */
export const EMPTY_HOST_DIAL = "127.0.0.1";

/**
 * GOST's placeholder target of a forwarding service without targets (`-L tcp://:8080`, or `tcp://:8080/:0` as GOST's
 * docs write it): the last node of the chain picks the target (a `forward` node whose server forwards to targets of
 * its own, a relay server with targets). The router passes it to the chain as it is; without a chain it fails with
 * a {@link NoChainError}.
 */
export const CHAIN_PICKS_TARGET = ":0";

/** True when the kernel connected a socket to itself (its own address is the one it dialed). */
function selfConnected(conn: Deno.TcpConn): boolean {
  const l = conn.localAddr as Deno.NetAddr, r = conn.remoteAddr as Deno.NetAddr;
  return l.port === r.port && l.hostname === r.hostname;
}

/**
 * `Deno.connect` over TCP, never connected to itself: a loopback dial to a dead port in the ephemeral range can be
 * given that very port as its source, and TCP's simultaneous open then "connects" the socket to itself, so a dead
 * target would look alive (and echo the proxy's own bytes). As Go's dialer does, such a conn is closed and the dial
 * tried again; a second one fails as refused.
 */
async function connectNotSelf(opts: Deno.ConnectOptions & { signal?: AbortSignal }): Promise<Deno.TcpConn> {
  for (let attempt = 0;; attempt++) {
    const conn = await Deno.connect({ ...opts, transport: "tcp" });
    if (!selfConnected(conn)) return conn;
    conn.close();
    if (attempt === 1) {
      throw new Deno.errors.ConnectionRefused(`connection refused: ${opts.hostname}:${opts.port} connected to itself`);
    }
  }
}

/**
 * Dials a TCP target with a timeout and an abort signal (Deno.connect cancels the attempt itself). An empty host
 * dials {@link EMPTY_HOST_DIAL}.
 */
export async function dialTcp(host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<Conn> {
  const deadline = deadlineSignal(timeoutMs, signal);
  try {
    const conn = await connectNotSelf({ hostname: host || EMPTY_HOST_DIAL, port, signal: deadline.signal });
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

/** Opens a TCP conn (no delay) to `host:port`; aborted by `signal`. */
async function connectTcp(host: string, port: number, signal: AbortSignal): Promise<Deno.TcpConn> {
  const conn = await connectNotSelf({ hostname: host, port, signal });
  conn.setNoDelay(true);
  return conn;
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

/** No addresses from hosts/resolver (an IP, or no mapping configured). */
const NO_ADDRESSES: string[] = [];

/** Characters no host name has: controls, space and the delimiters of RFC 3986 and of URLs. */
// deno-lint-ignore no-control-regex -- control characters are what it looks for
const NOT_IN_NAMES = /[\x00-\x20\x7f"#/<>?@[\\\]^`{|}]/;

/** Tells whether `host` (not an IP) can be a name to resolve: 1–253 characters, none that no name has. */
function isHostName(host: string): boolean {
  return host.length > 0 && host.length <= 253 && !NOT_IN_NAMES.test(host);
}

/** A target as the router sees it: the address asked for, its canonical host and its port. */
interface Target {
  readonly addr: string;
  readonly host: ReturnType<typeof canonicalHost>;
  readonly port: number;
}

/** The addresses a bypass matches for `host` (its canonical form, and the loopback address a wildcard reaches). */
function forms(host: ReturnType<typeof canonicalHost>, port: number): string[] {
  const own = joinHostPort(host.host, port);
  return host.alias ? [own, joinHostPort(host.alias, port)] : [own];
}

/** Settles like `p`, or rejects with the signal's reason once it aborts. */
function raceSignal<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** What a mapping (hosts/resolver) returned, as a list (empty: keep the name). */
function mappedList(v: string | string[] | undefined): string[] {
  if (v === undefined || v === "") return [];
  return (Array.isArray(v) ? v : [v]).filter((ip) => ip !== "");
}

/**
 * The service router.
 * @example const conn = await new DefaultRouter({ retries: 1 }).dial("tcp", "example.com:80");
 */
export class DefaultRouter implements Router {
  readonly #opts: RouterOptions & { retries: number; dialTimeoutMs: number; logger: Logger };

  /** A router with `opts` (no retries and a 10 s dial timeout by default). */
  constructor(opts: RouterOptions = {}) {
    this.#opts = {
      ...opts,
      retries: opts.retries ?? 0,
      dialTimeoutMs: opts.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS,
      logger: opts.logger ?? nopLogger,
    };
  }

  /**
   * Dials `addr` (`host:port`) over `network`: bypass, hosts/resolver, then the chain or a direct dial, with retries.
   * @throws {PolicyError} when the service bypass rejects the target (by its name or an address it resolves to), or
   *   the target is this process's own listening address and the service guards against that
   * @throws {DialError} naming the target (or failing node) when every attempt fails, or the request loops
   */
  async dial(network: Network, addr: string, opts: DialOptions = {}): Promise<Conn> {
    const t = addr === CHAIN_PICKS_TARGET ? undefined : this.#target(network, addr);
    const self = this.#self();
    const port = self?.addr?.transport === "tcp" ? self.addr.port : undefined;
    const found = self && opts.src ? trailOf(opts.src, port) : undefined;
    const via = found instanceof Promise ? await found : found;
    const trail = this.#trailThrough(self, via, network, addr);
    const log = opts.logger ?? this.#opts.logger;
    let last: unknown;
    for (let attempt = 0; attempt <= this.#opts.retries; attempt++) {
      if (opts.signal?.aborted) break;
      try {
        const mapped = !t || t.host.ip || !this.#opts.resolve ? NO_ADDRESSES : await this.#mapped(network, t);
        const target = !t ? addr : mapped.length ? joinHostPort(mapped[0], t.port) : joinHostPort(t.host.dial, t.port);
        const route = this.#opts.chain?.()?.route(network, target, opts.hashKey);
        if (route?.steps.length) {
          if (log.enabled("debug")) log.debug(`route(retry=${attempt}) ${route} > ${target}`);
          return await withTimeout(
            this.#opts.dialTimeoutMs,
            opts.signal,
            (signal) =>
              route.dial(network, target, {
                ...opts,
                signal,
                direct: this.#directDial(network, target, t, mapped, trail, log),
              }, this.#firstNode(trail)),
          );
        }
        if (!t) {
          throw new NoChainError(
            addr,
            `dial ${network} ${addr}: no target: the service has no forward targets and no chain to pick one; ` +
              `give it a target (tcp://:8080/host:port) or a chain whose last node picks it ` +
              `(-F forward+tls://server:8443, or -F relay://server:8420 to a relay server with targets)`,
          );
        }
        if (log.enabled("debug")) log.debug(`route(retry=${attempt}) ${target}`);
        return await this.#direct(network, t, mapped, opts, trail, log);
      } catch (err) {
        last = err;
        if (err instanceof PolicyError || err instanceof NoChainError) throw err;
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
   * The trail a conn for this request carries: the client's trail (`via`) and this service.
   * @throws {DialError} when the request already passed through this service (the services chain in a loop)
   */
  #trailThrough(self: LocalService | undefined, via: Trail | undefined, network: Network, addr: string) {
    if (self && via?.includes(self.name)) {
      throw new DialError(
        addr,
        `dial ${network} ${addr}: the services chain in a loop: ${[...via, self.name].join(" > ")}`,
      );
    }
    return self ? [...(via ?? []), self.name] as Trail : undefined;
  }

  /**
   * See {@link Router.dialPacket}. No chain (or an empty route): one local UDP socket, each destination resolved and
   * checked as {@link DefaultRouter.resolveDirect} does (bypass, own-endpoint guard). A chain that routes every target
   * alike and whose last connector carries packets: one association through it (retried as a dial), each destination
   * checked by the service bypass and mapped by hosts/resolver as a dial through the chain would be. Any other chain:
   * one {@link DefaultRouter.dial} per target.
   * @throws {DialError} naming the failing node when every attempt fails, or the request loops
   */
  async dialPacket(opts: DialOptions = {}): Promise<PacketConn> {
    const what = "udp association";
    const self = this.#self();
    const port = self?.addr?.transport === "tcp" ? self.addr.port : undefined;
    const trail = this.#trailThrough(self, self && opts.src ? await trailOf(opts.src, port) : undefined, "udp", what);
    const log = opts.logger ?? this.#opts.logger;
    const perTarget = () => new PerTargetPacketConn((addr) => this.dial("udp", addr, opts), log);
    const chain = this.#opts.chain?.();
    if (chain && !routesAlike(chain)) return perTarget();
    let last: unknown;
    for (let attempt = 0; attempt <= this.#opts.retries; attempt++) {
      if (opts.signal?.aborted) break;
      try {
        const route = chain?.route("udp", "", opts.hashKey);
        if (!route?.steps.length) {
          const sock = bindUdp();
          const targets = new DatagramTargets(this, opts, log, sock.addr);
          return new UdpPacketConn(sock, (to) => targets.get(to.host, to.port));
        }
        if (!carriesPackets(route)) return perTarget();
        if (log.enabled("debug")) log.debug(`route(retry=${attempt}) ${route} > ${what}`);
        const pc = await withTimeout(
          this.#opts.dialTimeoutMs,
          opts.signal,
          (signal) => openPacketRoute(route, { ...opts, signal }, this.#firstNode(trail)),
        );
        const checks = { resolveDirect: (_: Network, addr: string) => this.#routedTarget(addr) };
        const targets = new DatagramTargets(checks, opts, log);
        return new CheckedPacketConn(pc, async (to) => {
          const found = targets.get(to.host, to.port);
          const dest = found instanceof Promise ? await found : found;
          return dest && { host: dest.hostname, port: dest.port };
        });
      } catch (err) {
        last = err;
        const msg = `dial udp ${what} (attempt ${attempt + 1} of ${this.#opts.retries + 1}): ${errorMessage(err)}`;
        if (attempt < this.#opts.retries && !opts.signal?.aborted) log.warn(msg);
        else log.debug(msg);
      }
    }
    if (last instanceof DialError) throw last;
    throw new DialError(what, `dial udp ${what}: ${errorMessage(last ?? "aborted")}`, { cause: last });
  }

  /** Where a datagram for `addr` goes through the chain: the service bypass, then the hosts/resolver mapping. */
  async #routedTarget(addr: string): Promise<string> {
    const t = this.#target("udp", addr);
    const mapped = await this.#mapped("udp", t);
    return mapped.length ? joinHostPort(mapped[0], t.port) : joinHostPort(t.host.dial, t.port);
  }

  /**
   * Resolves `addr` as a direct dial would and applies the same rules (bypass on the name and on every address,
   * the own-endpoint guard), without dialing: for sockets that send datagrams themselves (relay UDP BIND, SOCKS5
   * UDP-tun bind). Through a chain nothing else is reached from here, so the chain is not asked.
   * @returns the canonical `ip:port` to send to (a name when permissions do not let this process resolve it)
   * @throws {PolicyError} when the rules refuse the target; {@link DialError} when it does not resolve
   */
  async resolveDirect(network: Network, addr: string, opts: DialOptions = {}): Promise<string> {
    const t = this.#target(network, addr);
    const deadline = deadlineSignal(this.#opts.dialTimeoutMs, opts.signal, "lookup");
    try {
      const mapped = await this.#mapped(network, t);
      const ips = await this.#addresses(network, t, mapped, deadline.signal, opts.logger ?? this.#opts.logger);
      return joinHostPort(ips?.[0] ?? t.host.dial, t.port);
    } catch (err) {
      if (err instanceof PolicyError || err instanceof DialError) throw err;
      throw new DialError(addr, `resolve ${network} ${addr}: ${errorMessage(err)}`, { cause: err });
    } finally {
      deadline.release();
    }
  }

  /** Parses and canonicalises `addr`; refuses it when the service bypass matches it. */
  #target(network: Network, addr: string): Target {
    let host: string, port: number;
    try {
      ({ host, port } = splitHostPort(addr));
    } catch (err) {
      throw new InvalidTargetError(addr, errorMessage(err), { cause: err });
    }
    if (port === 0) throw new InvalidTargetError(addr, `dial ${network} ${addr}: port 0`);
    // no host is this host, as Go dials it: 0.0.0.0, dialed (and matched besides) as 127.0.0.1 (EMPTY_HOST_DIAL)
    const t = { addr, host: canonicalHost(host || "0.0.0.0"), port };
    if (!t.host.ip && !isHostName(t.host.host)) {
      throw new InvalidTargetError(addr, `dial ${network} ${JSON.stringify(addr.slice(0, 300))}: not a host name`);
    }
    const bypass = this.#opts.bypass?.();
    if (bypass && bypassesAny(bypass, network, forms(t.host, port))) throw new PolicyError(`${addr} is bypassed`);
    return t;
  }

  /** The service this router dials for, with its bound address (none once its listener is gone). */
  #self(): LocalService | undefined {
    const svc = this.#opts.self?.();
    if (!svc) return undefined;
    let addr: Deno.Addr | undefined;
    try {
      addr = svc.addr;
    } catch {
      // a listener that is gone
    }
    return { name: svc.name, addr };
  }

  /** The addresses hosts/resolver map a name to (none for an IP or an unmapped name), checked by the bypass. */
  async #mapped(network: Network, t: Target): Promise<string[]> {
    if (t.host.ip || !this.#opts.resolve) return [];
    const ips = mappedList(await this.#opts.resolve(network, t.host.host)).map((ip) => canonicalHost(ip).host);
    this.#checkResolved(network, t, ips);
    return ips;
  }

  /** Refuses `t` when the bypass matches it through one of the addresses its name resolves to. */
  #checkResolved(network: Network, t: Target, ips: string[]): void {
    const bypass = this.#opts.bypass?.();
    if (!bypass) return;
    const name = joinHostPort(t.host.host, t.port);
    for (const ip of ips) {
      const h = canonicalHost(ip);
      if (bypassesAny(bypass, network, [name, ...forms(h, t.port)])) {
        throw new PolicyError(`${t.addr} is bypassed: ${t.host.host} resolves to ${h.host}`);
      }
    }
  }

  /**
   * The addresses a direct dial goes to, in order, checked by the bypass and the own-endpoint guard: the IP itself,
   * the hosts/resolver mapping, else the system resolver's answer. Undefined when this process may not resolve the
   * name (Deno's `--allow-net` names it: the dial goes by name and Deno checks it against that list).
   */
  async #addresses(
    network: Network,
    t: Target,
    mapped: string[],
    signal: AbortSignal,
    log: Logger,
  ): Promise<string[] | undefined> {
    if (t.host.ip) return this.#checkOwn(network, t, [t.host.dial], log);
    if (mapped.length) return this.#checkOwn(network, t, mapped.map((ip) => canonicalHost(ip).dial), log);
    const found = await raceSignal(systemLookup(t.host.host), signal);
    if (!found) {
      if (log.enabled("debug")) log.debug(`dial ${t.addr}: not allowed to resolve ${t.host.host}: dialing it by name`);
      return undefined;
    }
    this.#checkResolved(network, t, found);
    return this.#checkOwn(network, t, found.map((ip) => canonicalHost(ip).dial), log);
  }

  /** Refuses (logged) an address list that reaches one of this process's own endpoints, when the guard is on. */
  #checkOwn(network: Network, t: Target, ips: string[], log: Logger): string[] {
    const own = this.#opts.ownEndpoints;
    if (!own) return ips;
    for (let i = 0; i < ips.length; i++) {
      const svc = findLocalService(own(), ips[i], t.port, network);
      if (!svc) continue;
      const what = svc.label ?? `service ${svc.name}`;
      const msg = `${t.addr} is ${what} of this process (${svc.addr ? addrString(svc.addr) : "?"}): refused, ` +
        `set allowSelfTarget=true on the service to allow it`;
      log.warn(msg);
      throw new PolicyError(msg);
    }
    return ips;
  }

  /** A direct dial: the target's addresses in order, within one dial timeout. */
  async #direct(
    network: Network,
    t: Target,
    mapped: string[],
    opts: DialOptions,
    trail: Trail | undefined,
    log: Logger,
  ): Promise<Conn> {
    const timeoutMs = this.#opts.dialTimeoutMs;
    const deadline = deadlineSignal(timeoutMs, opts.signal);
    try {
      // an IP (the common case) needs no lookup: no await before the connect
      const ips = t.host.ip
        ? this.#checkOwn(network, t, [t.host.dial], log)
        : await this.#addresses(network, t, mapped, deadline.signal, log);
      if (network === "udp") return dialUdp(ips?.[0] ?? t.host.dial, t.port);
      if (!ips) return await this.#openTcp(t.host.dial, t.port, deadline.signal, trail);
      if (ips.length === 1 && t.host.ip) return await this.#openTcp(ips[0], t.port, deadline.signal, trail);
      return await this.#dialEach(ips, t, deadline.signal, trail, log);
    } catch (err) {
      if (err instanceof PolicyError) throw err;
      if (deadline.expired()) throw new Error(`dial timed out after ${timeoutMs} ms`, { cause: err });
      if (opts.signal?.aborted) throw new Error("dial aborted", { cause: err });
      throw err;
    } finally {
      deadline.release();
    }
  }

  /** Opens a TCP conn, tagged with `trail` when it goes to a service of this process (loop_guard.ts). */
  #openTcp(host: string, port: number, signal: AbortSignal, trail: Trail | undefined): Promise<Conn> {
    const tag = trail && this.#tagFor(trail, host, port);
    return tag ? openTagged(host, port, tag, () => connectTcp(host, port, signal)) : connectTcp(host, port, signal);
  }

  /**
   * The trail to tag a conn to `host:port` with: only a conn to one of this process's services can come back to it,
   * so others are not tagged (a name is tagged when any service listens on that port).
   */
  #tagFor(trail: Trail | undefined, host: string, port: number): Trail | undefined {
    if (!trail) return undefined;
    const services = this.#opts.services?.();
    if (!services) return trail;
    for (const [svc] of onPort(services, port)) {
      if (!canonicalHost(host).ip || findLocalService([svc], host, port)) return trail;
    }
    return undefined;
  }

  /** Dials the addresses of a name in order: the first that connects wins. */
  async #dialEach(
    ips: string[],
    t: Target,
    signal: AbortSignal,
    trail: Trail | undefined,
    log: Logger,
  ): Promise<Conn> {
    let last: unknown;
    for (let i = 0; i < ips.length; i++) {
      try {
        return await this.#openTcp(ips[i], t.port, signal, trail);
      } catch (err) {
        last = err;
        // an --allow-net list of names: Deno allows the name, not the address it resolves to
        if (err instanceof Deno.errors.NotCapable && !t.host.ip) {
          return await this.#openTcp(t.host.dial, t.port, signal, trail);
        }
        if (signal.aborted) break;
        if (ips.length > 1 && log.enabled("debug")) log.debug(`dial ${t.addr} at ${ips[i]}: ${errorMessage(err)}`);
      }
    }
    throw last;
  }

  /**
   * What a connector that dials from this host (a direct node, DialOptions.direct) opens its conns with: the route's
   * target is dialed as a dial without a chain is (the own-endpoint guard, the loop guard's tag); any other address
   * is a later node of the chain, opened as a first node is.
   */
  #directDial(
    network: Network,
    target: string,
    t: Target | undefined,
    mapped: string[],
    trail: Trail | undefined,
    log: Logger,
  ): DirectDial {
    return (net, addr, signal) => {
      if (net === network && addr === target) {
        if (!t) {
          throw new NoChainError(addr, `dial ${network} ${addr}: no target: a direct node cannot pick one`);
        }
        return this.#direct(network, t, mapped, { signal }, trail, log);
      }
      return this.#openNode(addr, trail, () => {
        const { host, port } = splitHostPort(addr);
        return dialTcp(host, port, this.#opts.dialTimeoutMs, signal);
      });
    };
  }

  /**
   * Opens a route's first node: fails when it is this very service (before the dial for an IP, after it for a
   * name), and tags the conn with the request's trail. A node whose dialer opens nothing (a direct node) is not
   * checked: its connector's conns are ({@link DefaultRouter.#directDial}).
   */
  #firstNode(trail: Trail | undefined): FirstNodeOpen {
    return (node, open) => node.addressless ? open() : this.#openNode(node.addr, trail, open);
  }

  /** Opens the conn to a chain node at `nodeAddr` with `open`, checked and tagged as {@link #firstNode} says. */
  async #openNode(nodeAddr: string, trail: Trail | undefined, open: () => Promise<Conn>): Promise<Conn> {
    const svc = this.#self();
    const addr = svc?.addr;
    const loops = (host: string, port: number) => {
      if (svc && addr?.transport === "tcp" && port === addr.port && findLocalService([svc], host, port)) {
        throw new GostError(`the chain loops back to service ${svc.name} itself: it listens on ${addrString(addr)}`);
      }
    };
    let host = "", port = 0;
    try {
      ({ host, port } = splitHostPort(nodeAddr));
    } catch {
      // the dialer says what is wrong with it
    }
    host ||= EMPTY_HOST_DIAL; // a node `:1080` is dialed on this host
    loops(host, port);
    const tag = this.#tagFor(trail, host, port);
    const conn = tag ? await openTagged(host, port, tag, open) : await open();
    const remote = conn.remoteAddr;
    try {
      if (remote.transport === "tcp") loops(remote.hostname, remote.port);
    } catch (err) {
      closeQuietly(conn);
      throw err;
    }
    return conn;
  }

  /**
   * See {@link Router.reuseKey}: the canonical target alone without a chain, with the chain's fixed path otherwise,
   * and the IP that hosts/resolver map its name to (a changed mapping gives new keys).
   */
  async reuseKey(network: Network, addr: string): Promise<string | undefined> {
    try {
      if (network !== "tcp") return undefined;
      const t = this.#target(network, addr);
      const chain = this.#opts.chain?.();
      const path = chain ? chain.fixedPath : "";
      if (path === undefined) return undefined;
      const canonical = joinHostPort(t.host.dial, t.port);
      const mapped = await this.#mapped(network, t);
      const target = mapped.length ? `${canonical}=${joinHostPort(mapped[0], t.port)}` : canonical;
      return path ? `${path} > ${target}` : target;
    } catch {
      return undefined; // a bypassed target, a missing chain, a name that does not resolve: the dial says why
    }
  }

  /**
   * Binds `addr` on the last node of the chain (remote port forwarding).
   * @throws {DialError} when there is no chain or the node cannot bind
   */
  async bind(network: Network, addr: string, opts: DialOptions = {}): Promise<Listener> {
    const route = this.#opts.chain?.()?.route(network, addr, opts.hashKey);
    if (!route?.steps.length) throw new NoChainError(addr, `bind ${network} ${addr}: no chain to bind through`);
    const self = this.#self();
    return await route.bind(network, addr, opts, this.#firstNode(self ? [self.name] : undefined));
  }
}

/** @deprecated the old name of {@link DefaultRouter} */
export { DefaultRouter as DirectRouter };
