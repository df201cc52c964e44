/**
 * The relay server (`relay`): reads one request within `readTimeout`, authenticates the UserAuth feature, then
 * serves CONNECT (TCP, or UDP in `[len]` frames), BIND (UDP association; TCP needs smux, not implemented yet), or
 * forwards to the forwarder's nodes when it has any (GOST's fixed-target tunnel).
 * @module
 */
import { HandshakeReader } from "../../core/bufio.ts";
import { closeQuietly, type Conn } from "../../core/conn.ts";
import { withDeadline } from "../../core/deadline.ts";
import { AuthError, HandshakeError } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { ConnContext, Handler, HandlerOptions } from "../../core/contracts.ts";
import { bind } from "./bind.ts";
import { connect, forward } from "./connect.ts";
import { parseRelayHandlerMetadata, type RelayHandlerMetadata } from "./metadata.ts";
import { type RelayScope, sendError } from "./scope.ts";
import {
  Cmd,
  FLAG_UDP,
  NetworkId,
  readRequest,
  type RelayRequest,
  type RequestFacts,
  requestFacts,
  Status,
} from "./wire.ts";

/** The network a request asks for: the UDP flag wins, then the Network feature (unknown ids mean tcp, as in GOST). */
export function requestNetwork(req: RelayRequest, facts: RequestFacts): "tcp" | "udp" | null {
  if (req.flags & FLAG_UDP) return "udp";
  switch (facts.network) {
    case NetworkId.Udp:
      return "udp";
    case NetworkId.Ip:
    case NetworkId.Unix:
    case NetworkId.Serial:
      return null;
    default:
      return "tcp";
  }
}

/**
 * Relay handler. Every refusal is answered with a bare response (status, no features) before the conn closes; a
 * bad version or a malformed request is closed without an answer, as GOST does.
 * @example const h = new RelayHandler({ service, logger, router, auth }); await h.init(md); await h.handle(conn, ctx);
 */
export class RelayHandler implements Handler {
  readonly #opts: HandlerOptions;
  #md!: RelayHandlerMetadata;

  constructor(opts: HandlerOptions) {
    this.#opts = opts;
  }

  init(md: Metadata): Promise<void> {
    this.#md = parseRelayHandlerMetadata(md);
    return Promise.resolve();
  }

  /** Serves one client; closes the conn before settling. */
  async handle(conn: Conn, ctx: ConnContext): Promise<void> {
    try {
      const r = new HandshakeReader(conn, 512);
      const req = await withDeadline(conn, this.#md.readTimeoutMs, () => readRequest(r));
      const facts = requestFacts(req.features);
      if (ctx.logger.enabled("trace")) {
        // the relay request as -DD shows it; the password never appears in a log
        ctx.logger.trace(
          `relay request: cmd=0x${req.cmd.toString(16)} network=${facts.network ?? 0} ` +
            `addr=${facts.host === undefined ? "-" : `${facts.host}:${facts.port}`} user=${facts.username ?? "-"}` +
            (facts.tunnel ? ` tunnel=${[...facts.tunnel].map((b) => b.toString(16).padStart(2, "0")).join("")}` : ""),
        );
      }
      await this.#authenticate(conn, facts, ctx);
      const network = requestNetwork(req, facts);
      if (!network) {
        await sendError(conn, Status.BadRequest);
        throw new HandshakeError(`Relay network 0x${facts.network!.toString(16)} is not supported`);
      }
      const early = r.buffered > 0;
      const scope: RelayScope = { conn: r.conn(), early, facts, network, ctx, opts: this.#opts, md: this.#md };
      const cmd = req.cmd === 0 ? Cmd.Connect : req.cmd;
      if (cmd === Cmd.Connect) return await (this.#opts.forwarder?.nodes.length ? forward(scope) : connect(scope));
      if (cmd === Cmd.Bind) return await bind(scope);
      await sendError(conn, Status.BadRequest);
      throw new HandshakeError(`Relay command 0x${req.cmd.toString(16)} is not supported`);
    } finally {
      closeQuietly(conn);
    }
  }

  /**
   * Checks the UserAuth feature when an authenticator is configured (no feature = empty credentials, refused).
   * @throws {AuthError} after answering Unauthorized
   */
  async #authenticate(conn: Conn, facts: RequestFacts, ctx: ConnContext): Promise<void> {
    const auth = this.#opts.auth;
    if (!auth) return;
    const id = auth.authenticate(facts.username ?? "", facts.password ?? "");
    if (id === null) {
      await sendError(conn, Status.Unauthorized);
      throw new AuthError(`Relay user "${facts.username ?? ""}" refused`);
    }
    ctx.clientId = id;
    ctx.logger = ctx.logger.child({ user: id });
  }
}
