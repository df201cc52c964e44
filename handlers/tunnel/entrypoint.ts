/**
 * A tunnel server's public entrypoint (GOST's `entrypoint`, handler/tunnel/entrypoint): a TCP port, run as a service
 * of its own (`<service>-ep-<addr>`), whose conns are told apart by their first byte, within `entrypoint.readTimeout`:
 * - 0x01, a relay request: a visitor CONNECT to the tunnel id it names, no ingress asked (GOST's eprelay);
 * - 0x16, a TLS handshake: the ClientHello's SNI (port 443) is routed through the ingress and the bytes pass through
 *   untouched (core/tls_client_hello.ts); no SNI, no rule or a private one close the conn;
 * - anything else is HTTP/1.x, routed per request by Host (ep_http.ts).
 *
 * Beyond GOST, the ingress's raw rules (`tcp://[host]:port`, `udp://[host]:port`, core/routing/ingress.ts) open
 * ports of their own (ep_raw.ts), re-read every second so that an ingress reload or an API change opens and closes
 * them.
 * @module
 */
import { addrString, type Conn } from "../../core/conn.ts";
import type { ConnContext, Handler, Router } from "../../core/contracts.ts";
import { HandshakeReader } from "../../core/bufio.ts";
import { withDeadline } from "../../core/deadline.ts";
import { HandshakeError, TimeoutError } from "../../core/errors.ts";
import { Metadata } from "../../core/metadata.ts";
import { relay } from "../../core/relay.ts";
import type { Ingress } from "../../core/routing/ingress.ts";
import { Service } from "../../core/service/service.ts";
import { readClientHello, TLS_HANDSHAKE_RECORD } from "../../core/tls_client_hello.ts";
import { TcpListener } from "../../listeners/tcp/listener.ts";
import { sendError, sendResponse } from "../relay/scope.ts";
import { Cmd, readRequest, Status, VERSION } from "../relay/wire.ts";
import { RawPorts } from "./ep_raw.ts";
import { serveHttp } from "./ep_http.ts";
import { tunnelRequest } from "./request.ts";
import { idText, isPrivate, parseTunnelId } from "./id.ts";
import type { EntrypointConfig } from "./metadata.ts";
import { openTunnel, refusal, type TunnelServer } from "./server.ts";

/** A sniffing read that did not finish in time: the client's doing, logged at info as a protocol error. */
function sniffTimeout(err: unknown, what: string, ms: number): unknown {
  return err instanceof TimeoutError ? new HandshakeError(`entrypoint: ${what} not complete within ${ms} ms`) : err;
}

/** Serves the conns of one entrypoint port. */
class EntrypointHandler implements Handler {
  readonly #s: TunnelServer;
  readonly #ingress: () => Ingress | undefined;

  constructor(s: TunnelServer, ingress: () => Ingress | undefined) {
    this.#s = s;
    this.#ingress = ingress;
  }

  init(): Promise<void> {
    return Promise.resolve();
  }

  async handle(conn: Conn, ctx: ConnContext): Promise<void> {
    try {
      const ms = this.#s.md.entrypointReadTimeoutMs;
      const r = new HandshakeReader(conn, 4096);
      let first: number | null;
      try {
        first = await withDeadline(conn, ms, () => r.peekByte());
      } catch (err) {
        throw sniffTimeout(err, "first byte", ms);
      }
      if (first === null) return;
      if (first === VERSION) return await this.#relay(conn, r, ctx);
      if (first === TLS_HANDSHAKE_RECORD) return await this.#tls(conn, r, ctx);
      return await serveHttp(this.#s, this.#ingress(), conn, r, ctx);
    } finally {
      conn.close();
    }
  }

  /** A relay visitor at the entrypoint: CONNECT to the tunnel id it names. */
  async #relay(conn: Conn, r: HandshakeReader, ctx: ConnContext): Promise<void> {
    const s = this.#s;
    const raw = await withDeadline(conn, s.md.readTimeoutMs, () => readRequest(r));
    const req = await tunnelRequest(conn, raw);
    if (req.cmd !== Cmd.Connect) {
      await sendError(conn, Status.BadRequest);
      throw new HandshakeError(`entrypoint: relay command 0x${req.cmd.toString(16)} (only CONNECT is served here)`);
    }
    const id = idText(req.tunnelId);
    ctx.dst = `${req.dst || "-"}/${req.network} (tunnel ${id})`;
    let stream: Conn;
    try {
      stream = await openTunnel(s, id, req.network, req.src || ctx.src, req.dst, ctx.logger);
    } catch (err) {
      await sendError(conn, Status.ServiceUnavailable);
      throw err;
    }
    try {
      await sendResponse(conn, Status.OK);
    } catch (err) {
      stream.close();
      throw err;
    }
    ctx.logger.info(`${ctx.src} <-> tunnel ${id} (${req.dst || "-"}/${req.network})`);
    await relay(r.conn(), stream);
  }

  /** TLS by SNI, passed through. */
  async #tls(conn: Conn, r: HandshakeReader, ctx: ConnContext): Promise<void> {
    const ms = this.#s.md.entrypointReadTimeoutMs;
    let hello, raw;
    try {
      ({ hello, raw } = await withDeadline(conn, ms, () => readClientHello(r)));
    } catch (err) {
      throw sniffTimeout(err, "TLS ClientHello", ms);
    }
    const host = hello.serverName;
    if (!host) throw refusal(ctx, "entrypoint: a TLS ClientHello without a server name (SNI) cannot be routed");
    const rule = this.#ingress()?.getRule(host);
    const tid = rule ? parseTunnelId(rule.endpoint) : null;
    if (!tid) throw refusal(ctx, `entrypoint: no route to host ${host} (TLS)`);
    if (isPrivate(tid)) throw refusal(ctx, `entrypoint: tunnel ${idText(tid)} of host ${host} is private (TLS)`);
    const id = idText(tid);
    ctx.dst = `${host}:443 (tunnel ${id})`;
    const stream = await openTunnel(this.#s, id, "tcp", ctx.src, `${host}:443`, ctx.logger, raw);
    ctx.logger.info(`${ctx.src} <-> ${host}:443 (tunnel ${id}, TLS)`);
    await relay(r.conn(), stream);
  }
}

/** One public entrypoint and the raw ports of its ingress. */
export class Entrypoint {
  readonly #s: TunnelServer;
  readonly #cfg: EntrypointConfig;
  readonly #router: Router;
  readonly #ingress: () => Ingress | undefined;
  #service: Service | null = null;
  #raw: RawPorts | null = null;

  constructor(s: TunnelServer, cfg: EntrypointConfig, router: Router) {
    this.#s = s;
    this.#cfg = cfg;
    this.#router = router;
    this.#ingress = cfg.ingress ? () => s.namedIngress(cfg.ingress) : () => s.ingress();
  }

  /**
   * Listens and starts serving.
   * @throws {Error} when the port cannot be bound
   */
  async start(): Promise<void> {
    const s = this.#s;
    const name = `${s.service}-ep-${this.#cfg.addr}`;
    const logger = s.logger.child({ kind: "entrypoint", entrypoint: this.#cfg.addr });
    const listener = new TcpListener({ addr: this.#cfg.addr, logger, service: name, router: this.#router });
    await listener.init(new Metadata({}));
    const service = new Service({
      name,
      listener,
      handler: new EntrypointHandler(s, this.#ingress),
      logger: logger.child({ service: name }),
    });
    this.#service = service;
    service.serve().catch((err) => logger.error(`entrypoint ${this.#cfg.addr}: ${err}`));
    s.logger.info(`tunnel entrypoint listening on ${addrString(listener.addr)}`);
    this.#raw = new RawPorts(s, this.#ingress, this.#router, logger);
    await this.#raw.reconcile();
  }

  /** The addresses it listens on now (the raw ports with their network). */
  addrs(): string[] {
    const main = this.#service ? [addrString(this.#service.addr)] : [];
    return [...main, ...(this.#raw?.addrs() ?? [])];
  }

  /** Stops listening (the port is free when this returns) and ends its conns. */
  close(): void {
    this.#raw?.close();
    this.#service?.close().catch(() => {});
    this.#service = null;
  }
}
