/**
 * GOST's SOCKS5 MBIND (CMD 0xF2, docs/wire.md, "SOCKS5 MBIND"): the server side of `rtcp` through a SOCKS5 node. Listen
 * on the requested address, answer with this connection's local IP and the listening port, then turn the connection
 * into an smux session in which we are the client role: every inbound peer gets a stream of its own, started with a
 * SOCKS5 reply naming the peer (omitted with `comp`, for GOST v2 clients), then relayed. Streams the client opens are
 * closed at once. The listener lives as long as the session: the client leaving, a keepalive timeout or a malformed
 * frame closes both.
 * @module
 */
import { addrString, closeQuietly } from "../../core/conn.ts";
import { BindError, errorMessage, PolicyError } from "../../core/errors.ts";
import { serveMuxBind } from "../../core/mux/bind_server.ts";
import { MuxProtocolError } from "../../core/mux/frame.ts";
import { MuxSession } from "../../core/mux/session.ts";
import { encodeReply, Rep } from "./wire.ts";
import { type CommandScope, netAddr, sendError, sendReply } from "./command.ts";

/**
 * Serves MBIND when the `bind` option is on (else REP 0x02).
 * @throws {PolicyError} when BIND is disabled; {@link BindError} when listening fails (REP 0x01);
 *   {@link MuxProtocolError} when the client breaks the smux protocol
 */
export async function muxBind(s: CommandScope): Promise<void> {
  const { conn, ctx, addr } = s;
  if (!s.md.bind) {
    await sendError(conn, Rep.NotAllowed);
    throw new PolicyError("MBIND is disabled (set bind=true)");
  }
  const hostname = addr.host || "0.0.0.0";
  let ln: Deno.TcpListener;
  try {
    ln = Deno.listen({ hostname, port: addr.port, transport: "tcp" });
  } catch (err) {
    await sendError(conn, Rep.Failure);
    throw new BindError(`MBIND on ${hostname}:${addr.port}: ${errorMessage(err)}`, { cause: err });
  }
  const bound = ln.addr as Deno.NetAddr;
  try {
    await sendReply(conn, Rep.Succeeded, netAddr(conn.localAddr).hostname, bound.port);
  } catch (err) {
    closeQuietly(ln);
    throw err;
  }
  const session = MuxSession.client(conn, s.md.mux);
  ctx.logger.info(`${ctx.src} <-> tcp://${addrString(bound)} (mbind)`);
  await serveMuxBind({
    session,
    listener: ln,
    logger: ctx.logger,
    signal: ctx.signal,
    greeting: (peer) => s.md.compat ? undefined : encodeReply(Rep.Succeeded, peer.hostname, peer.port),
  });
  if (session.error instanceof MuxProtocolError) throw session.error;
}
