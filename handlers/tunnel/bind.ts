/**
 * A client registers a tunnel (BIND, docs/wire.md, "Tunnel"): what `rtcp`/`rudp` through a `tunnel` node ask for.
 * The server checks the caps, answers OK + Addr(the public host and port) + Tunnel(a fresh connector id carrying the
 * UDP flag and the client's weight) at once, then the conn becomes an smux session in which the server is the client
 * role: every conn routed to the tunnel is a stream it opens. The client stays registered until its session ends.
 * @module
 */
import { type Conn, splitHostPort } from "../../core/conn.ts";
import type { ConnContext } from "../../core/contracts.ts";
import { errorMessage } from "../../core/errors.ts";
import { MuxProtocolError } from "../../core/mux/frame.ts";
import { MuxSession } from "../../core/mux/session.ts";
import { sendError, sendResponse } from "../relay/scope.ts";
import { Status } from "../relay/wire.ts";
import type { TunnelRequest } from "./request.ts";
import { FLAG_UDP, idText, parseTunnelId, randomId, sameId, tunnelEndpoint, weightOf } from "./id.ts";
import type { TunnelClient } from "./pool.ts";
import type { TunnelServer } from "./server.ts";

/** The client's owner for the caps: its user, else its IP. */
function ownerOf(ctx: ConnContext): string {
  if (ctx.clientId !== undefined) return `user ${ctx.clientId}`;
  try {
    return splitHostPort(ctx.src).host;
  } catch {
    return ctx.src;
  }
}

/**
 * Serves a BIND until the client's session ends.
 * @throws {PolicyError} after answering Forbidden when a cap is reached; {@link MuxProtocolError} when the client
 *   breaks the smux protocol
 */
export async function serveBind(s: TunnelServer, conn: Conn, req: TunnelRequest, ctx: ConnContext): Promise<void> {
  const id = idText(req.tunnelId);
  const owner = ownerOf(ctx);
  try {
    s.pool.reserve(owner, id);
  } catch (err) {
    await sendError(conn, Status.Forbidden);
    ctx.logger.warn(`tunnel client refused: ${errorMessage(err)}`, { client: owner });
    throw err;
  }
  const state = { added: false };
  try {
    return await registered(s, conn, req, ctx, id, owner, state);
  } finally {
    if (!state.added) s.pool.unreserve(owner, id);
  }
}

/** Answers the BIND and serves the client's session; the pool reservation is taken once the answer is out. */
async function registered(
  s: TunnelServer,
  conn: Conn,
  req: TunnelRequest,
  ctx: ConnContext,
  id: string,
  owner: string,
  state: { added: boolean },
): Promise<void> {
  const connector = randomId(req.network === "udp" ? FLAG_UDP : 0, weightOf(req.tunnelId));
  const endpoint = tunnelEndpoint(req.tunnelId);
  // the public host: the one asked for, unless none was, there is no ingress, or another tunnel's rule owns it
  let host = req.dstHost;
  const ingress = s.ingress();
  if (!host || host === "0.0.0.0" || host === "::" || !ingress) host = endpoint;
  else if (host !== endpoint) {
    const rule = ingress.getRule(host);
    const owned = rule ? parseTunnelId(rule.endpoint) : null;
    if (rule && !(owned && sameId(owned, req.tunnelId))) host = endpoint;
  }
  await sendResponse(conn, Status.OK, [
    { kind: "addr", host, port: req.dstPort },
    { kind: "tunnel", id: connector },
  ]);
  const session = MuxSession.client(conn, s.md.mux);
  const client: TunnelClient = {
    id: idText(connector),
    network: req.network,
    weight: weightOf(req.tunnelId) || 1,
    session,
    remote: ctx.src,
    owner,
    since: Date.now(),
    connsOpen: 0,
    connsTotal: 0,
    current: 0,
  };
  s.pool.add(id, req.tunnelId, client);
  state.added = true;
  ctx.dst = `${host}:${req.dstPort}`;
  ctx.logger.info(
    `tunnel ${id}: client ${client.id} registered (${req.network}, weight ${client.weight}, endpoint ${endpoint})`,
  );
  const onAbort = () => session.close();
  ctx.signal.addEventListener("abort", onAbort, { once: true });
  if (ctx.signal.aborted) session.close();
  try {
    // streams go one way: the server opens them; any the client opens is closed at once
    for (;;) {
      try {
        (await session.acceptStream()).close();
      } catch {
        break;
      }
    }
    await session.done;
  } finally {
    ctx.signal.removeEventListener("abort", onAbort);
    s.pool.remove(id, client);
  }
  const why = session.closeReason ?? "closed";
  ctx.logger.info(
    `tunnel ${id}: client ${client.id} gone (${why}${session.error ? `: ${errorMessage(session.error)}` : ""})`,
  );
  if (session.error instanceof MuxProtocolError) throw session.error;
}
