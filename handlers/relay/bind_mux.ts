/**
 * Relay BIND over TCP (docs/wire.md, "Relay BIND"), what `rtcp` through a relay node asks for: listen on the requested
 * address (empty host = every interface), answer OK + Addr(the listen address) at once, then turn the connection into
 * an smux session in which the relay server is the client role. Each inbound peer gets a stream that starts with a
 * relay response `01 00 | FEALEN | Addr(peer)`, then raw bytes. Streams the client opens are closed at once.
 * @module
 */
import { addrString, closeQuietly } from "../../core/conn.ts";
import { BindError, errorMessage } from "../../core/errors.ts";
import { serveMuxBind } from "../../core/mux/bind_server.ts";
import { MuxProtocolError } from "../../core/mux/frame.ts";
import { MuxSession } from "../../core/mux/session.ts";

import { type RelayScope, sendError, sendResponse } from "./scope.ts";
import { encodeResponse, Status } from "./wire.ts";

/**
 * Serves a TCP BIND (the caller checked `bind`).
 * @throws {BindError} when listening fails (Service Unavailable is answered first); {@link MuxProtocolError} when
 *   the client breaks the smux protocol
 */
export async function bindTcp(s: RelayScope): Promise<void> {
  const { conn, ctx } = s;
  const hostname = s.facts.host || "0.0.0.0";
  const port = s.facts.port ?? 0;
  let ln: Deno.TcpListener;
  try {
    ln = Deno.listen({ hostname, port, transport: "tcp" });
  } catch (err) {
    await sendError(conn, Status.ServiceUnavailable);
    throw new BindError(`Relay BIND on ${hostname}:${port}: ${errorMessage(err)}`, { cause: err });
  }
  const bound = ln.addr as Deno.NetAddr;
  try {
    await sendResponse(conn, Status.OK, [{ kind: "addr", host: bound.hostname, port: bound.port }]);
  } catch (err) {
    closeQuietly(ln);
    throw err;
  }
  ctx.dst = addrString(bound);
  const session = MuxSession.client(conn, s.md.mux);
  ctx.logger.info(`${ctx.src} <-> tcp://${addrString(bound)} (bind)`);
  await serveMuxBind({
    session,
    listener: ln,
    logger: ctx.logger,
    signal: ctx.signal,
    greeting: (peer) =>
      encodeResponse({ status: Status.OK, features: [{ kind: "addr", host: peer.hostname, port: peer.port }] }),
  });
  if (session.error instanceof MuxProtocolError) throw session.error;
}
