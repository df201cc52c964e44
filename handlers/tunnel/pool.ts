/**
 * The tunnel server's state (GOST's `ConnectorPool`): tunnels by id, each with the clients registered for it (one
 * smux session each) and its traffic. Picking a client is smooth weighted round robin among the live clients of the
 * requested network (GOST: weighted random), weight 0 counting as 1 and weight 255 taking everything; a client whose
 * stream cannot be opened is dropped and the next one tried (GOST tries three times). A client is dropped the moment
 * its session ends, so a killed client stops getting conns at once; a tunnel left without clients is forgotten
 * `tunnel.ttl` later. Caps: distinct tunnel ids per client (its user, else its IP) and clients per tunnel id.
 * @module
 */
import { ConnWrapper } from "../../core/conn.ts";
import type { Conn } from "../../core/conn.ts";
import { DialError, errorMessage, PolicyError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import type { MuxSession } from "../../core/mux/session.ts";
import type { TunnelInfo } from "../../core/service/tunnels.ts";
import { MAX_WEIGHT, tunnelEndpoint } from "./id.ts";

/** How many clients one dial tries before giving up (GOST's retry count). */
export const DIAL_ATTEMPTS = 3;

/** One registered client. */
export interface TunnelClient {
  /** The connector id's text. */
  readonly id: string;
  readonly network: "tcp" | "udp";
  /** 1–255 (a 0 on the wire counts as 1). */
  readonly weight: number;
  readonly session: MuxSession;
  /** `host:port` of the client's connection. */
  readonly remote: string;
  /** Whose tunnels it counts against (user, else IP). */
  readonly owner: string;
  readonly since: number;
  connsOpen: number;
  connsTotal: number;
  /** Smooth weighted round robin state. */
  current: number;
}

/** One tunnel id. */
class Tunnel {
  readonly id: string;
  readonly endpoint: string;
  readonly clients: TunnelClient[] = [];
  readonly createdAt = Date.now();
  connsOpen = 0;
  connsTotal = 0;
  bytesIn = 0;
  bytesOut = 0;
  emptySince: number | null = null;

  constructor(id: string, raw: Uint8Array) {
    this.id = id;
    this.endpoint = tunnelEndpoint(raw);
  }

  /** The next client for `network`, skipping `tried`. */
  pick(network: "tcp" | "udp", tried: ReadonlySet<TunnelClient>): TunnelClient | undefined {
    let live = this.clients.filter((c) => c.network === network && !c.session.closed && !tried.has(c));
    if (live.some((c) => c.weight === MAX_WEIGHT)) live = live.filter((c) => c.weight === MAX_WEIGHT);
    if (live.length <= 1) return live[0];
    let total = 0;
    let best: TunnelClient | undefined;
    for (const c of live) {
      c.current += c.weight;
      total += c.weight;
      if (!best || c.current > best.current) best = c;
    }
    best!.current -= total;
    return best;
  }
}

/** A tunnel stream whose bytes and end are counted on its tunnel and client. */
class CountedStream extends ConnWrapper {
  readonly #t: Tunnel;
  readonly #c: TunnelClient;
  #closed = false;

  constructor(inner: Conn, t: Tunnel, c: TunnelClient) {
    super(inner);
    this.#t = t;
    this.#c = c;
    t.connsOpen++;
    t.connsTotal++;
    c.connsOpen++;
    c.connsTotal++;
  }

  override async read(p: Uint8Array): Promise<number | null> {
    const n = await this.inner.read(p);
    if (n) this.#t.bytesOut += n;
    return n;
  }

  override async write(p: Uint8Array): Promise<number> {
    const n = await this.inner.write(p);
    this.#t.bytesIn += n;
    return n;
  }

  override close(): void {
    if (!this.#closed) {
      this.#closed = true;
      this.#t.connsOpen--;
      this.#c.connsOpen--;
      if (!this.#t.clients.length && !this.#t.connsOpen) this.#t.emptySince = Date.now();
    }
    this.inner.close();
  }
}

/** Options of a {@link TunnelPool}. */
export interface TunnelPoolOptions {
  service: string;
  ttlMs: number;
  maxTunnelsPerClient: number;
  maxClientsPerTunnel: number;
  logger: Logger;
}

/** Every tunnel of one tunnel server. */
export class TunnelPool {
  readonly #o: TunnelPoolOptions;
  readonly #tunnels = new Map<string, Tunnel>();
  /** Tunnel ids held (or reserved) per owner, with how many clients hold each. */
  readonly #owners = new Map<string, Map<string, number>>();
  /** Registrations under way per tunnel id (reserved, not added yet). */
  readonly #reserved = new Map<string, number>();
  readonly #sweeper: ReturnType<typeof setInterval>;

  constructor(opts: TunnelPoolOptions) {
    this.#o = opts;
    this.#sweeper = setInterval(() => this.#sweep(), Math.max(100, Math.min(opts.ttlMs, 5000)));
    Deno.unrefTimer(this.#sweeper as unknown as number);
  }

  /**
   * Reserves room for one more client of `owner` on tunnel `id` (so that concurrent registrations cannot pass the
   * caps together); {@link add} takes the reservation, {@link unreserve} gives it back.
   * @throws {PolicyError} naming the cap that is reached
   */
  reserve(owner: string, id: string): void {
    const held = this.#owners.get(owner) ?? new Map<string, number>();
    if (!held.has(id) && held.size >= this.#o.maxTunnelsPerClient) {
      throw new PolicyError(
        `tunnel client ${owner} already holds ${held.size} tunnel ids (tunnel.maxTunnelsPerClient): refused ${id}`,
      );
    }
    const clients = (this.#tunnels.get(id)?.clients.length ?? 0) + (this.#reserved.get(id) ?? 0);
    if (clients >= this.#o.maxClientsPerTunnel) {
      throw new PolicyError(`tunnel ${id} already has ${clients} clients (tunnel.maxClientsPerTunnel)`);
    }
    held.set(id, (held.get(id) ?? 0) + 1);
    this.#owners.set(owner, held);
    this.#reserved.set(id, (this.#reserved.get(id) ?? 0) + 1);
  }

  /** Gives back a reservation that was not used. */
  unreserve(owner: string, id: string): void {
    this.#unreserve(id);
    this.#release(owner, id);
  }

  #unreserve(id: string): void {
    const n = this.#reserved.get(id) ?? 0;
    if (n <= 1) this.#reserved.delete(id);
    else this.#reserved.set(id, n - 1);
  }

  #release(owner: string, id: string): void {
    const held = this.#owners.get(owner);
    const n = held?.get(id);
    if (!held || n === undefined) return;
    if (n <= 1) held.delete(id);
    else held.set(id, n - 1);
    if (!held.size) this.#owners.delete(owner);
  }

  /** Registers a client of tunnel `id` (`raw`: its 20-byte id) on the reservation {@link reserve} made. */
  add(id: string, raw: Uint8Array, client: TunnelClient): void {
    this.#unreserve(id);
    let t = this.#tunnels.get(id);
    if (!t) this.#tunnels.set(id, t = new Tunnel(id, raw));
    t.clients.push(client);
    t.emptySince = null;
  }

  /** Drops a client (its session ended). */
  remove(id: string, client: TunnelClient): void {
    const t = this.#tunnels.get(id);
    if (t) {
      const i = t.clients.indexOf(client);
      if (i >= 0) t.clients.splice(i, 1);
      if (!t.clients.length && !t.connsOpen) t.emptySince = Date.now();
    }
    this.#release(client.owner, id);
  }

  /** True when tunnel `id` has a live client for `network`. */
  has(id: string, network: "tcp" | "udp"): boolean {
    return this.#tunnels.get(id)?.clients.some((c) => c.network === network && !c.session.closed) ?? false;
  }

  /**
   * Opens a stream to a client of tunnel `id` serving `network`, trying up to {@link DIAL_ATTEMPTS} clients.
   * @returns the stream (counted on the tunnel) and the client
   * @throws {DialError} when the tunnel has no live client for `network` (GOST's "tunnel not available")
   */
  async open(id: string, network: "tcp" | "udp", log: Logger): Promise<{ stream: Conn; client: TunnelClient }> {
    const t = this.#tunnels.get(id);
    const tried = new Set<TunnelClient>();
    let last: unknown;
    for (let i = 0; t && i < DIAL_ATTEMPTS; i++) {
      const c = t.pick(network, tried);
      if (!c) break;
      tried.add(c);
      try {
        const stream = await c.session.openStream();
        return { stream: new CountedStream(stream, t, c), client: c };
      } catch (err) {
        last = err;
        log.warn(`tunnel ${id}: client ${c.id} failed to open a stream: ${errorMessage(err)}`);
        c.session.close();
      }
    }
    throw new DialError(id, `tunnel ${id} has no ${network} client${last ? `: ${errorMessage(last)}` : ""}`, {
      cause: last,
    });
  }

  /** The tunnels now, for the Web API. */
  view(): TunnelInfo[] {
    return [...this.#tunnels.values()].map((t) => ({
      service: this.#o.service,
      id: t.id,
      endpoint: t.endpoint,
      clients: t.clients.map((c) => ({
        id: c.id,
        network: c.network,
        weight: c.weight,
        remote: c.remote,
        since: c.since,
        connsOpen: c.connsOpen,
        connsTotal: c.connsTotal,
      })),
      connsOpen: t.connsOpen,
      connsTotal: t.connsTotal,
      bytesIn: t.bytesIn,
      bytesOut: t.bytesOut,
      createdAt: t.createdAt,
    }));
  }

  /** Ends every client session and the sweeper. */
  close(): void {
    clearInterval(this.#sweeper);
    for (const t of this.#tunnels.values()) for (const c of t.clients) c.session.close();
  }

  #sweep(): void {
    const now = Date.now();
    for (const [id, t] of this.#tunnels) {
      if (!t.clients.length && !t.connsOpen && t.emptySince !== null && now - t.emptySince >= this.#o.ttlMs) {
        this.#tunnels.delete(id);
        this.#o.logger.debug(`tunnel ${id}: no clients for ${this.#o.ttlMs} ms, forgotten`);
      }
    }
  }
}
