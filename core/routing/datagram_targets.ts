/**
 * The addresses a UDP socket that sends to client-named targets itself (relay UDP BIND, SOCKS5 UDP-tun bind) may
 * send to: each target goes through the router's rules once ({@link Router.resolveDirect}: canonical form, bypass
 * on the name and its addresses, own-endpoint guard), and the verdict is kept a few seconds, so a datagram costs
 * one map lookup.
 * @module
 */
import { errorMessage } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { DialOptions, Router } from "../contracts.ts";
import { joinHostPort, splitHostPort } from "../conn.ts";
import { canonicalHost } from "./canonical_host.ts";

/** How long a verdict is kept: a changed bypass applies to an association within this time. */
const TTL_MS = 5_000;
/** Most verdicts one association keeps; the oldest goes first. */
const MAX_ENTRIES = 256;

interface Verdict {
  at: number;
  /** Where to send, or null to drop. */
  to: Deno.NetAddr | null;
}

/**
 * The send addresses of one association.
 * @example
 * const targets = new DatagramTargets(router, dialOptions(ctx), ctx.logger);
 * const to = targets.get(host, port); const addr = to instanceof Promise ? await to : to;
 * if (addr) await sock.send(data, addr);
 */
export class DatagramTargets {
  readonly #router: Pick<Router, "resolveDirect">;
  readonly #opts: DialOptions;
  readonly #log: Logger;
  readonly #cache = new Map<string, Verdict>();
  readonly #mapV4: boolean;

  /**
   * @param router whose `resolveDirect` gives each target's rules and address
   * @param from the sending socket's address: an IPv6 socket sends to IPv4 targets by their mapped address
   */
  constructor(router: Pick<Router, "resolveDirect">, opts: DialOptions, log: Logger, from?: Deno.Addr) {
    this.#router = router;
    this.#opts = opts;
    this.#log = log;
    this.#mapV4 = from?.transport === "udp" && from.hostname.includes(":");
  }

  /**
   * Where a datagram for `host:port` goes: the address, or null when the rules refuse it (logged at debug).
   * A known target answers at once; a new one (or one seen more than 5 s ago) asks the router.
   */
  get(host: string, port: number): Deno.NetAddr | null | Promise<Deno.NetAddr | null> {
    const key = `${host}\n${port}`;
    const hit = this.#cache.get(key);
    if (hit && performance.now() - hit.at < TTL_MS) return hit.to;
    return this.#resolve(key, host, port);
  }

  async #resolve(key: string, host: string, port: number): Promise<Deno.NetAddr | null> {
    const addr = joinHostPort(host, port);
    let to: Deno.NetAddr | null;
    try {
      const resolved = this.#router.resolveDirect
        ? splitHostPort(await this.#router.resolveDirect("udp", addr, this.#opts))
        : { host: canonicalHost(host).dial, port };
      const v4 = !resolved.host.includes(":") && canonicalHost(resolved.host).ip !== null;
      const hostname = this.#mapV4 && v4 ? `::ffff:${resolved.host}` : resolved.host;
      to = { transport: "udp", hostname, port: resolved.port };
    } catch (err) {
      this.#log.debug(`udp: dropped a datagram to ${addr}: ${errorMessage(err)}`);
      to = null;
    }
    this.#cache.delete(key);
    if (this.#cache.size >= MAX_ENTRIES) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(key, { at: performance.now(), to });
    return to;
  }
}
