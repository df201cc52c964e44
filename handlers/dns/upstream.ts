/**
 * The DNS proxy's upstream nameservers: the forwarder's nodes (GOST's `-L dns://:53/1.1.1.1,tls://1.1.1.1:853`,
 * picked by the forwarder's selector), else the `dns` list (the first live one, in order), else the system's
 * nameservers from /etc/resolv.conf, else `udp://127.0.0.1:53` (GOST's fallbacks). Every exchange dials through the
 * service's router, so the handler's chain carries the queries (TLS over a chain conn is node:tls); one that fails
 * marks its nameserver failed and the next one is asked (GOST asks one). Exchanges in flight are capped
 * (`concurrency`).
 * @module
 */
import { type ConnContext, dialOptions, type ForwardTargets, type Node, type Router } from "../../core/contracts.ts";
import { type DnsReply, type DnsUpstream, exchangeDns, parseDnsUpstream } from "../../core/routing/dns_exchange.ts";
import { DialError, errorMessage } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import { canonicalIP } from "../../core/routing/matcher.ts";
import { NodeGroup } from "../../core/routing/node_group.ts";
import { nodeTlsClient } from "../../listeners/tls/handshake.ts";

/** GOST's last resort when no nameserver is configured or found. */
export const DEFAULT_NAMESERVER = "udp://127.0.0.1:53";

/** Thrown when `concurrency` exchanges are in flight already: the query is answered SERVFAIL. */
export class UpstreamBusyError extends DialError {}

/** The system's nameservers (`nameserver` lines of /etc/resolv.conf that are IPs), as `udp://ip:53`. */
export function systemNameservers(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split("\n")) {
    const f = raw.trim().split(/\s+/);
    if (f[0] !== "nameserver" || !f[1]) continue;
    const ip = f[1].replace(/%.*$/, "");
    if (!/^[\d.]+$/.test(ip) && !ip.includes(":")) continue;
    out.push(ip.includes(":") ? `udp://[${ip}]:53` : `udp://${ip}:53`);
  }
  return out;
}

function readResolvConf(): string {
  try {
    return Deno.readTextFileSync("/etc/resolv.conf");
  } catch {
    return "";
  }
}

/** What {@link Upstreams} is built from. */
export interface UpstreamsOptions {
  /** The forwarder's nodes, when the service has a forwarder. */
  forwarder?: ForwardTargets;
  /** GOST's `dns` list (used without a forwarder). */
  dns: string[];
  timeoutMs: number;
  concurrency: number;
  router: Router;
  logger: Logger;
}

/** The upstream nameservers of one handler. */
export class Upstreams {
  readonly #targets: ForwardTargets;
  readonly #parsed = new Map<Node, DnsUpstream>();
  readonly #router: Router;
  readonly #concurrency: number;
  readonly #timeoutMs: number;
  #running = 0;

  /** @throws {ConfigError} naming a nameserver address that does not parse */
  constructor(opts: UpstreamsOptions) {
    this.#router = opts.router;
    this.#concurrency = opts.concurrency;
    this.#timeoutMs = opts.timeoutMs;
    if (opts.forwarder?.nodes.length) this.#targets = opts.forwarder;
    else {
      let list = opts.dns;
      if (!list.length) list = systemNameservers(readResolvConf());
      if (!list.length) {
        opts.logger.warn(`dns: no nameserver configured or in /etc/resolv.conf, using ${DEFAULT_NAMESERVER}`);
        list = [DEFAULT_NAMESERVER];
      }
      const nodes = list.map((addr, i): Node => ({ name: `target-${i}`, addr, weight: 1, backup: false }));
      this.#targets = new NodeGroup(nodes, { strategy: "fifo", maxFails: 1, failTimeoutMs: 10_000 });
    }
    for (const n of this.#targets.nodes) this.#parsed.set(n, parseDnsUpstream(n.addr, { timeout: this.#timeoutMs }));
  }

  /** The nameservers, in order (their URLs). */
  get urls(): string[] {
    return this.#targets.nodes.map((n) => this.#upstream(n).url);
  }

  #upstream(n: Node): DnsUpstream {
    let up = this.#parsed.get(n);
    if (!up) this.#parsed.set(n, up = parseDnsUpstream(n.addr, { timeout: this.#timeoutMs })); // a hop's new node
    return up;
  }

  /**
   * Sends `query` upstream: to the nameserver the selector picks, then to the next one while they fail.
   * @throws {UpstreamBusyError} when `concurrency` exchanges are in flight
   * @throws {DialError} naming the nameservers when every one failed
   */
  exchange(query: Uint8Array, ctx: ConnContext): Promise<DnsUpstreamReply> {
    if (this.#running >= this.#concurrency) {
      return Promise.reject(
        new UpstreamBusyError("upstream", `${this.#running} upstream exchanges in flight (concurrency)`),
      );
    }
    this.#running++;
    return this.#tryEach(query, ctx).finally(() => this.#running--);
  }

  /** Exchanges in flight now. */
  get running(): number {
    return this.#running;
  }

  async #tryEach(query: Uint8Array, ctx: ConnContext): Promise<DnsUpstreamReply> {
    const tried = new Set<Node>();
    const errors: string[] = [];
    let last: unknown;
    const opts = dialOptions(ctx);
    const dial = (network: "tcp" | "udp", addr: string) => this.#router.dial(network, addr, opts);
    // an IP is checked against the certificate but not sent as SNI (RFC 6066 §3)
    const tls = (conn: Parameters<typeof nodeTlsClient>[0], host: string, ca?: string[]) =>
      nodeTlsClient(
        conn,
        { host, ...(canonicalIP(host) ? {} : { servername: host }), ...(ca ? { ca } : {}) },
        this.#timeoutMs,
      );
    for (;;) {
      const node = this.#targets.select(opts.hashKey, tried);
      if (!node) break;
      tried.add(node);
      const up = this.#upstream(node);
      try {
        const reply = await exchangeDns(up, query, { dial, tls });
        this.#targets.markOk(node);
        return { ...reply, upstream: up.url };
      } catch (err) {
        this.#targets.markFailed(node);
        last = err;
        errors.push(`${up.url}: ${errorMessage(err)}`);
        if (ctx.signal.aborted) break;
      }
    }
    throw new DialError(
      errors.length ? "upstream" : "none",
      `exchange failed: ${errors.join("; ") || "no nameserver"}`,
      {
        cause: last,
        node: [...tried].map((n) => n.addr).join(",") || "none",
      },
    );
  }
}

/** An upstream's answer and which nameserver gave it. */
export interface DnsUpstreamReply extends DnsReply {
  /** The nameserver's URL. */
  readonly upstream: string;
}
