/**
 * The tunnel server (`tunnel` handler, GOST's x/handler/tunnel): reads one relay request within `readTimeout`,
 * authenticates its UserAuth feature and serves BIND (a client behind NAT registers a tunnel id: bind.ts) or CONNECT
 * (a visitor reaches a tunnel by id: connect.ts). Its public entrypoints (entrypoint.ts) route HTTP by Host, TLS by
 * SNI and raw TCP/UDP ports through the ingress to the tunnels. It shows its tunnels in `Registries.tunnels` (the Web
 * API's `GET /tunnels`) while it runs.
 * @module
 */
import { HandshakeReader } from "../../core/bufio.ts";
import { closeQuietly, type Conn } from "../../core/conn.ts";
import type { ConnContext, Handler, HandlerOptions } from "../../core/contracts.ts";
import { withDeadline } from "../../core/deadline.ts";
import { AuthError, ConfigError, errorMessage, HandshakeError, ListenError } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { Registries } from "../../core/registries.ts";
import type { Ingress } from "../../core/routing/ingress.ts";
import type { TunnelServerView } from "../../core/service/tunnels.ts";
import { sendError } from "../relay/scope.ts";
import { Cmd, readRequest, Status } from "../relay/wire.ts";
import { serveBind } from "./bind.ts";
import { serveConnect } from "./connect.ts";
import { Entrypoint } from "./entrypoint.ts";
import { idText, randomId } from "./id.ts";
import { parseTunnelHandlerMetadata, type TunnelHandlerMetadata } from "./metadata.ts";
import { TunnelPool } from "./pool.ts";
import { tunnelRequest } from "./request.ts";
import type { TunnelServer } from "./server.ts";

/** The tunnel handler's options: the usual ones plus the registries (named ingresses, the tunnel list). */
export interface TunnelHandlerOptions extends HandlerOptions {
  readonly reg: Registries;
}

/**
 * Tunnel handler.
 * @example const h = new TunnelHandler({ service, logger, router, reg }); await h.init(md); await h.handle(conn, ctx);
 */
export class TunnelHandler implements Handler {
  readonly #opts: TunnelHandlerOptions;
  #md!: TunnelHandlerMetadata;
  #server!: TunnelServer;
  #entrypoints: Entrypoint[] = [];
  #view: TunnelServerView | null = null;

  constructor(opts: TunnelHandlerOptions) {
    this.#opts = opts;
  }

  /**
   * Parses the metadata, checks the ingresses named, starts the entrypoints and lists the server in the registries.
   * @throws {ConfigError} naming a bad key or an unknown ingress; the listen error of an entrypoint
   */
  async init(md: Metadata): Promise<void> {
    const o = this.#opts;
    this.#md = parseTunnelHandlerMetadata(md);
    const { reg } = o;
    const names = [this.#md.ingressName, ...this.#md.entrypoints.map((e) => e.ingress)].filter((n) => n);
    for (const name of names) {
      if (!reg.ingresses.has(name)) {
        throw new ConfigError(
          `"ingress": no ingress is named "${name}": defined are ${reg.ingresses.names().join(", ") || "none"}`,
        );
      }
    }
    const logger = o.logger;
    const pool = new TunnelPool({
      service: o.service,
      ttlMs: this.#md.tunnelTtlMs,
      maxTunnelsPerClient: this.#md.maxTunnelsPerClient,
      maxClientsPerTunnel: this.#md.maxClientsPerTunnel,
      logger,
    });
    const mdv = this.#md;
    const ingressName = mdv.ingressName;
    this.#server = {
      service: o.service,
      node: idText(randomId()),
      pool,
      md: mdv,
      logger,
      ingress: ():
        | Ingress
        | undefined => (ingressName ? reg.ingresses.get(ingressName) : mdv.inlineIngress ?? undefined),
      namedIngress: (name) => reg.ingresses.get(name),
      bypass: () => o.bypass?.(),
    };
    for (const [i, cfg] of mdv.entrypoints.entries()) {
      const ep = new Entrypoint(this.#server, cfg, o.router);
      this.#entrypoints.push(ep);
      try {
        await ep.start();
      } catch (err) {
        this.close();
        const key = i === 0 && md.string(["entrypoint", "entryPoint"]) ? "entrypoint" : "entrypoints";
        if (err instanceof ConfigError) throw new ConfigError(`"${key}": ${err.message}`, { cause: err });
        throw new ListenError(`"${key}": cannot listen on ${cfg.addr}: ${errorMessage(err)}`, { cause: err });
      }
    }
    const entrypoints = this.#entrypoints;
    this.#view = {
      service: o.service,
      entrypoints: () => entrypoints.flatMap((e) => e.addrs()),
      tunnels: () => pool.view(),
    };
    reg.tunnels.set(o.service, this.#view);
  }

  /** Serves one client; closes the conn before settling (a registered client's once its session ends). */
  async handle(conn: Conn, ctx: ConnContext): Promise<void> {
    try {
      const r = new HandshakeReader(conn, 512);
      const raw = await withDeadline(conn, this.#md.readTimeoutMs, () => readRequest(r));
      const req = await tunnelRequest(conn, raw);
      this.#authenticate(req.user, req.pass, ctx);
      if (this.#opts.auth && ctx.clientId === undefined) {
        await sendError(conn, Status.Unauthorized);
        throw new AuthError(`Tunnel user "${req.user ?? ""}" refused`);
      }
      ctx.logger = ctx.logger.child({ tunnel: idText(req.tunnelId) });
      if (req.cmd === Cmd.Bind) return await serveBind(this.#server, r.conn(), req, ctx);
      if (req.cmd === Cmd.Connect) return await serveConnect(this.#server, r.conn(), req, ctx);
      await sendError(conn, Status.BadRequest);
      throw new HandshakeError(`Tunnel command 0x${req.cmd.toString(16)} is not supported (CONNECT and BIND are)`);
    } finally {
      closeQuietly(conn);
    }
  }

  /** Sets `ctx.clientId` when an authenticator accepts the credentials. */
  #authenticate(user: string | undefined, pass: string | undefined, ctx: ConnContext): void {
    const auth = this.#opts.auth;
    if (!auth) return;
    const id = auth.authenticate(user ?? "", pass ?? "");
    if (id === null) return;
    ctx.clientId = id;
    ctx.logger = ctx.logger.child({ user: id });
  }

  /** Stops the entrypoints, ends every client session and leaves the tunnel list. */
  close(): void {
    for (const ep of this.#entrypoints) ep.close();
    this.#entrypoints = [];
    this.#server?.pool.close();
    if (this.#view && this.#opts.reg.tunnels.get(this.#opts.service) === this.#view) {
      this.#opts.reg.tunnels.unregister(this.#opts.service);
    }
  }
}
