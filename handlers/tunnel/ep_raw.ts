/**
 * Raw TCP and UDP ports of an entrypoint (beyond GOST, README.md "Reverse-proxy tunnel"): for each raw ingress rule
 * (`tcp://[host]:port`, `udp://[host]:port` → tunnel id) the entrypoint listens on that address and sends every TCP
 * conn, or every UDP peer session (the `udp` listener's, 60 s idle), to a client of the tunnel serving that network
 * (rtcp, rudp). The routed stream's header names the visitor and the rule's address (`host:port`, an empty host as
 * 0.0.0.0). The set of ports follows the ingress: it is compared every second and ports are opened and closed to
 * match; a port that cannot be bound is logged (once per error) and tried again at the next pass. A private rule
 * (`$id`) opens no port: the public side never routes to a private tunnel.
 * @module
 */
import { addrString, type Conn } from "../../core/conn.ts";
import type { ConnContext, Handler, Listener, Router } from "../../core/contracts.ts";
import { errorMessage } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import { Metadata } from "../../core/metadata.ts";
import { relay } from "../../core/relay.ts";
import type { Ingress, RawIngressRule } from "../../core/routing/ingress.ts";
import { Service } from "../../core/service/service.ts";
import { TcpListener } from "../../listeners/tcp/listener.ts";
import { UdpListener } from "../../listeners/udp/listener.ts";
import { DatagramFrameConn } from "../relay/frames.ts";
import { idText, isPrivate, parseTunnelId } from "./id.ts";
import { openTunnel, type TunnelServer } from "./server.ts";

/** How often the raw ports are compared with the ingress. */
export const RAW_RECONCILE_MS = 1000;

/** `network://host:port` of a rule: the port's identity. */
const keyOf = (r: RawIngressRule) => `${r.network}://${r.host.includes(":") ? `[${r.host}]` : r.host}:${r.port}`;

/** Sends each conn of one raw port to the rule's tunnel. */
class RawHandler implements Handler {
  readonly #s: TunnelServer;
  readonly #rule: RawIngressRule;

  constructor(s: TunnelServer, rule: RawIngressRule) {
    this.#s = s;
    this.#rule = rule;
  }

  init(): Promise<void> {
    return Promise.resolve();
  }

  async handle(conn: Conn, ctx: ConnContext): Promise<void> {
    try {
      const rule = this.#rule;
      const id = idText(parseTunnelId(rule.endpoint)!);
      const dst = `${rule.host.includes(":") ? `[${rule.host}]` : rule.host || "0.0.0.0"}:${rule.port}`;
      ctx.dst = `${dst}/${rule.network} (tunnel ${id})`;
      const stream = await openTunnel(this.#s, id, rule.network, ctx.src, dst, ctx.logger);
      ctx.logger.info(`${ctx.src} <-> tunnel ${id} (${rule.hostname})`);
      await relay(conn, rule.network === "udp" ? new DatagramFrameConn(stream) : stream);
    } finally {
      conn.close();
    }
  }
}

/** The raw ports of one entrypoint's ingress. */
export class RawPorts {
  readonly #s: TunnelServer;
  readonly #ingress: () => Ingress | undefined;
  readonly #router: Router;
  readonly #log: Logger;
  readonly #open = new Map<string, { endpoint: string; service: Service }>();
  /** The last error per port that could not be opened (logged once). */
  readonly #failed = new Map<string, string>();
  readonly #timer: ReturnType<typeof setInterval>;
  #closed = false;
  #busy: Promise<void> | null = null;

  constructor(s: TunnelServer, ingress: () => Ingress | undefined, router: Router, log: Logger) {
    this.#s = s;
    this.#ingress = ingress;
    this.#router = router;
    this.#log = log;
    this.#timer = setInterval(() => void this.reconcile().catch(() => {}), RAW_RECONCILE_MS);
    Deno.unrefTimer(this.#timer as unknown as number);
  }

  /** The raw ports open now, `tcp://host:port` / `udp://host:port`. */
  addrs(): string[] {
    return [...this.#open.values()].map(({ service }) =>
      `${(service.addr as Deno.NetAddr).transport}://${addrString(service.addr)}`
    );
  }

  /** Opens the ports the ingress has rules for and closes the others. Never rejects. */
  reconcile(): Promise<void> {
    this.#busy ??= this.#reconcile().finally(() => this.#busy = null);
    return this.#busy;
  }

  async #reconcile(): Promise<void> {
    if (this.#closed) return;
    const wanted = new Map<string, RawIngressRule>();
    for (const r of this.#ingress()?.rawRules() ?? []) {
      const tid = parseTunnelId(r.endpoint);
      if (!tid) continue;
      if (isPrivate(tid)) {
        this.#warnOnce(keyOf(r), `raw ingress rule ${r.hostname} names a private tunnel: no port is opened for it`);
        continue;
      }
      wanted.set(keyOf(r), r);
    }
    for (const [key, open] of this.#open) {
      const rule = wanted.get(key);
      if (rule && rule.endpoint === open.endpoint) continue;
      this.#open.delete(key);
      await open.service.close();
      this.#log.info(`tunnel entrypoint: closed raw port ${key}`);
    }
    for (const [key, rule] of wanted) {
      if (this.#open.has(key) || this.#closed) continue;
      const addr = `${rule.host.includes(":") ? `[${rule.host}]` : rule.host}:${rule.port}`;
      const name = `${this.#s.service}-ep-${key}`;
      const logger = this.#log.child({ service: name });
      const opts = { addr, logger, service: name, router: this.#router };
      const listener: Listener = rule.network === "udp" ? new UdpListener(opts) : new TcpListener(opts);
      try {
        await listener.init(new Metadata({}));
      } catch (err) {
        this.#warnOnce(key, `tunnel entrypoint: cannot open raw port ${key}: ${errorMessage(err)}`);
        continue;
      }
      if (this.#closed) {
        listener.close();
        return;
      }
      this.#failed.delete(key);
      const service = new Service({ name, listener, handler: new RawHandler(this.#s, rule), logger });
      this.#open.set(key, { endpoint: rule.endpoint, service });
      service.serve().catch((err) => logger.error(`raw port ${key}: ${err}`));
      this.#log.info(
        `tunnel entrypoint listening on ${rule.network}://${addrString(listener.addr)} for tunnel ${rule.endpoint}`,
      );
    }
  }

  #warnOnce(key: string, msg: string): void {
    if (this.#failed.get(key) === msg) return;
    this.#failed.set(key, msg);
    this.#log.warn(msg);
  }

  /** Closes every raw port (each is free when this returns) and stops following the ingress. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    for (const { service } of this.#open.values()) service.close().catch(() => {});
    this.#open.clear();
  }
}
