/**
 * A visitor reaches a tunnel (CONNECT, docs/wire.md, "Tunnel"), what a `tunnel` node with `tunnel.id` asks for
 * (`-L tcp://:2222/ssh.local -F tunnel://server:8443?tunnel.id=…`). The route is GOST's:
 * - the visitor's id is the server's `entrypoint.id` (an external public entrypoint): the target host is routed
 *   through the ingress; no rule → Network Unreachable, a private rule → Host Unreachable;
 * - any other id: the ingress rule for the target host must name that same tunnel (a private rule too: that is how
 *   private tunnels are reached), or the server has `tunnel.direct`; else Host Unreachable;
 * - the tunnel has no client for the network → Service Unavailable.
 * On success the OK goes out at once, the stream starts with the header naming the visitor and the host, and bytes
 * (UDP: `[len u16]` frames both ways, passed through as they are) are relayed.
 * @module
 */
import type { Conn } from "../../core/conn.ts";
import type { ConnContext } from "../../core/contracts.ts";
import type { DialError } from "../../core/errors.ts";
import { relay } from "../../core/relay.ts";
import { sendError, sendResponse } from "../relay/scope.ts";
import { Status } from "../relay/wire.ts";
import type { TunnelRequest } from "./request.ts";
import { idText, isPrivate, parseTunnelId, sameId } from "./id.ts";
import { openTunnel, refusal, type TunnelServer } from "./server.ts";

/**
 * Serves a visitor's CONNECT.
 * @throws {PolicyError} after the refusal status when no route leads to the tunnel; {@link DialError} after Service
 *   Unavailable when it has no client
 */
export async function serveConnect(s: TunnelServer, conn: Conn, req: TunnelRequest, ctx: ConnContext): Promise<void> {
  const asked = idText(req.tunnelId);
  const host = req.dstHost;
  if (req.dst && s.bypass()?.contains(req.network, req.dst)) {
    await sendError(conn, Status.Forbidden);
    throw refusal(ctx, `tunnel visitor: ${req.dst} is in the service bypass`);
  }
  const rule = host ? s.ingress()?.getRule(host) : undefined;
  const routed = rule ? parseTunnelId(rule.endpoint) : null;
  let target: string;
  if (s.md.entrypointId && sameId(req.tunnelId, s.md.entrypointId)) {
    if (!routed) {
      await sendError(conn, Status.NetworkUnreachable);
      throw refusal(ctx, `tunnel entrypoint visitor: no ingress rule routes host ${host || "(none)"}`);
    }
    if (isPrivate(routed)) {
      await sendError(conn, Status.HostUnreachable);
      throw refusal(ctx, `tunnel entrypoint visitor: tunnel ${idText(routed)} of host ${host} is private`);
    }
    target = idText(routed);
  } else if (s.md.direct || (routed && sameId(routed, req.tunnelId))) {
    target = asked;
  } else {
    await sendError(conn, Status.HostUnreachable);
    throw refusal(
      ctx,
      `tunnel visitor: no route to host ${host || "(none)"} on tunnel ${asked}` +
        (routed ? ` (its rule names tunnel ${idText(routed)})` : " (no ingress rule names it)"),
    );
  }
  ctx.dst = `${req.dst || host}/${req.network}`;
  let stream: Conn;
  try {
    stream = await openTunnel(s, target, req.network, req.src || ctx.src, req.dst, ctx.logger);
  } catch (err) {
    await sendError(conn, Status.ServiceUnavailable);
    throw err as DialError;
  }
  try {
    await sendResponse(conn, Status.OK);
  } catch (err) {
    stream.close();
    throw err;
  }
  ctx.logger.info(`${ctx.src} <-> tunnel ${target} (${req.dst || "-"}/${req.network})`);
  await relay(conn, stream);
}
