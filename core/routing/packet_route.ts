/**
 * UDP associations with no fixed target (GOST's `router.Dial(ctx, "udp", "")`, docs/architecture.md, "Datagram
 * sessions"): through a chain whose last connector carries packets, one upstream association for every target;
 * else one datagram conn per target, behind the same {@link PacketConn} face.
 * @module
 */
import { closeQuietly, type Conn, joinHostPort } from "../conn.ts";
import { DialError, errorMessage, TimeoutError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { DialOptions, Packet, PacketAddr, PacketConn, Router } from "../contracts.ts";
import type { Chain, ChainRoute, FirstNodeOpen } from "./chain.ts";
import { ChainGroup } from "./chain_group.ts";

/** Most targets a {@link PerTargetPacketConn} keeps open; the oldest is closed to make room. */
const MAX_TARGETS = 256;

/** What the address of a {@link PerTargetPacketConn} reads: it has one socket per target, none of its own. */
const NO_LOCAL_ADDR: Deno.NetAddr = { transport: "udp", hostname: "0.0.0.0", port: 0 };

/**
 * Whether every target of `chain` takes the same route: no hop or node has a bypass (which would send some targets
 * another way). Only then can one association carry them all.
 */
export function routesAlike(chain: Chain | ChainGroup): boolean {
  if (chain instanceof ChainGroup) return chain.chains().every(routesAlike);
  return chain.hops.every((hop) => !hop.bypass && hop.group.nodes.every((n) => !(n as { bypass?: unknown }).bypass));
}

/** Whether the last connector of `route` can open one association for every target at its place in the route. */
export function carriesPackets(route: ChainRoute): boolean {
  const c = route.steps[route.steps.length - 1].node.connector;
  return !!c.connectPacket && !!c.canConnectPacket?.(route.steps.length === 1);
}

/**
 * Opens one association through `route` (which {@link carriesPackets}): every connector but the last as for a dial,
 * then the last one's `connectPacket`. The last node is marked as {@link ChainRoute.dial} marks it: a refusal it
 * answers (a {@link DialError}) leaves it good; any other failure marks it failed and the error names it.
 * @throws {DialError} naming the failing node
 */
export async function openPacketRoute(
  route: ChainRoute,
  opts: DialOptions,
  first?: FirstNodeOpen,
): Promise<PacketConn> {
  const conn = await route.connectToLast(opts, first);
  const { hop, node } = route.steps[route.steps.length - 1];
  const start = performance.now();
  try {
    const pc = await node.connector.connectPacket!(conn, opts);
    hop.group.markOk(node);
    route.report(true);
    return pc;
  } catch (err) {
    closeQuietly(conn);
    const name = `${node.name}@${node.addr}`;
    const cancelled = !!opts.signal?.aborted && !(opts.signal.reason instanceof TimeoutError);
    if (err instanceof DialError && !cancelled) {
      hop.group.markOk(node);
      route.report(true);
      throw new DialError(node.addr, `chain ${route.chain}: ${name} > udp association: ${errorMessage(err)}`, {
        cause: err,
      });
    }
    const message = `chain ${route.chain}: node ${name}: ${errorMessage(err)}`;
    if (cancelled) throw new DialError(node.addr, message, { cause: err });
    hop.group.markFailed(node);
    route.report(false);
    route.recorder?.recordChainNode(route.chain, node.name, (performance.now() - start) / 1000, false);
    throw new DialError(node.addr, message, { cause: err, node: name });
  }
}

/** Where a {@link CheckedPacketConn} sends a datagram for a destination, or null to drop it. */
export type PacketRule = (to: PacketAddr) => PacketAddr | null | Promise<PacketAddr | null>;

/**
 * A {@link PacketConn} whose every destination first passes `rule` (the router's checks: bypass, hosts/resolver),
 * which may also rewrite it (a name that hosts maps to an IP); a reply from a rewritten destination comes back
 * under the name it was sent to.
 */
export class CheckedPacketConn implements PacketConn {
  readonly #inner: PacketConn;
  readonly #rule: PacketRule;
  /** Rewritten destination → the name it was sent to (the latest MAX_TARGETS). */
  readonly #names = new Map<string, PacketAddr>();

  constructor(inner: PacketConn, rule: PacketRule) {
    this.#inner = inner;
    this.#rule = rule;
  }
  get localAddr(): Deno.Addr {
    return this.#inner.localAddr;
  }
  async readFrom(): Promise<Packet | null> {
    const p = await this.#inner.readFrom();
    if (!p || !this.#names.size) return p;
    const name = this.#names.get(joinHostPort(p.addr.host, p.addr.port));
    return name ? { data: p.data, addr: name } : p;
  }
  async writeTo(data: Uint8Array, to: PacketAddr): Promise<number> {
    const found = this.#rule(to);
    const dest = found instanceof Promise ? await found : found;
    if (!dest) return 0;
    if (dest.host !== to.host || dest.port !== to.port) {
      const key = joinHostPort(dest.host, dest.port);
      this.#names.delete(key);
      if (this.#names.size >= MAX_TARGETS) this.#names.delete(this.#names.keys().next().value!);
      this.#names.set(key, to);
    }
    return await this.#inner.writeTo(data, dest);
  }
  close(): void {
    this.#inner.close();
  }
}

/** A datagram waiting for `readFrom()`; its reader resumes once the next `readFrom()` comes (the data is a view). */
interface Ready {
  packet: Packet;
  resume: () => void;
}

/**
 * A {@link PacketConn} made of one datagram conn per target, opened by `dial` on a target's first datagram (what a
 * route whose connector cannot carry packets for many targets gets, and a router without `dialPacket`). At most 256
 * targets are open at once; the oldest is closed to make room. Replies are handed to `readFrom()` one at a time, and
 * a target's conn is read again only once its reply was taken.
 */
export class PerTargetPacketConn implements PacketConn {
  readonly #dial: (addr: string) => Promise<Conn>;
  readonly #log: Logger;
  readonly #bufferSize: number;
  readonly #targets = new Map<string, Promise<Conn | null>>();
  readonly #conns = new Set<Conn>();
  readonly #ready: Ready[] = [];
  #wake: (() => void) | null = null;
  #resume: (() => void) | null = null;
  #closed = false;

  /** @param bufferSize the read buffer of a target conn that has no `readDatagram` */
  constructor(dial: (addr: string) => Promise<Conn>, log: Logger, bufferSize = 65_535) {
    this.#dial = dial;
    this.#log = log;
    this.#bufferSize = bufferSize;
  }
  get localAddr(): Deno.Addr {
    return NO_LOCAL_ADDR;
  }
  async readFrom(): Promise<Packet | null> {
    this.#resume?.();
    this.#resume = null;
    for (;;) {
      if (this.#closed) return null;
      const next = this.#ready.shift();
      if (next) {
        this.#resume = next.resume;
        return next.packet;
      }
      await new Promise<void>((r) => this.#wake = r);
    }
  }
  async writeTo(data: Uint8Array, to: PacketAddr): Promise<number> {
    const key = joinHostPort(to.host, to.port);
    let entry = this.#targets.get(key);
    if (!entry) {
      if (this.#targets.size >= MAX_TARGETS) {
        const [oldKey, old] = this.#targets.entries().next().value!;
        this.#targets.delete(oldKey);
        old.then(closeQuietly);
      }
      entry = this.#open(key, to);
      this.#targets.set(key, entry);
    }
    const c = await entry;
    if (!c) return 0;
    try {
      return await c.write(data);
    } catch (err) {
      this.#log.debug(`udp relay to ${key}: ${errorMessage(err)}`);
      return 0;
    }
  }

  /** Dials `key` and starts reading its replies; null (logged, forgotten) when the dial fails. */
  async #open(key: string, addr: PacketAddr): Promise<Conn | null> {
    let c: Conn;
    try {
      c = await this.#dial(key);
    } catch (err) {
      this.#log.debug(`udp relay: ${errorMessage(err)}`);
      this.#targets.delete(key);
      return null;
    }
    if (this.#closed) {
      closeQuietly(c);
      return null;
    }
    this.#conns.add(c);
    this.#replies(key, c, addr);
    return c;
  }

  /** Hands each reply of `c` to `readFrom()`, until `c` ends. Never rejects. */
  async #replies(key: string, c: Conn, addr: PacketAddr): Promise<void> {
    const buf = c.readDatagram ? null : new Uint8Array(this.#bufferSize);
    try {
      for (;;) {
        let data: Uint8Array | null;
        if (buf) {
          const n = await c.read(buf);
          data = n === null ? null : buf.subarray(0, n);
        } else data = await c.readDatagram!();
        if (data === null || this.#closed) break;
        await new Promise<void>((resume) => {
          this.#ready.push({ packet: { data: data!, addr }, resume });
          this.#wake?.();
          this.#wake = null;
        });
      }
    } catch (err) {
      if (!this.#closed) this.#log.debug(`udp relay from ${key}: ${errorMessage(err)}`);
    } finally {
      this.#conns.delete(c);
      const entry = this.#targets.get(key);
      entry?.then((known) => {
        if (known === c && this.#targets.get(key) === entry) this.#targets.delete(key);
      });
      closeQuietly(c);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const c of this.#conns) closeQuietly(c);
    this.#conns.clear();
    this.#targets.clear();
    for (const r of this.#ready.splice(0)) r.resume();
    this.#resume?.();
    this.#resume = null;
    this.#wake?.();
    this.#wake = null;
  }
}

/**
 * One association for a handler's client: the router's own (`dialPacket`), else one datagram conn per target
 * through `router.dial`.
 * @throws {DialError} when the router cannot open the association
 */
export function dialPacket(router: Router, opts: DialOptions, log: Logger, bufferSize?: number): Promise<PacketConn> {
  if (router.dialPacket) return router.dialPacket(opts);
  return Promise.resolve(new PerTargetPacketConn((addr) => router.dial("udp", addr, opts), log, bufferSize));
}
