/**
 * The server side of GOST's multiplexed BIND (SOCKS5 MBIND, relay BIND): a TCP listener whose peers each get a
 * stream of an smux session (we are the client role), started with a protocol-specific message naming the peer,
 * then relayed. Streams the other side opens are closed at once. The listener lives as long as the session.
 * @module
 */
import { addrString, closeQuietly, writeFull } from "../conn.ts";
import { errorMessage } from "../errors.ts";
import type { Logger } from "../log.ts";
import { relay } from "../relay.ts";
import type { MuxSession } from "./session.ts";
import type { MuxStream } from "./stream.ts";

/** What {@link serveMuxBind} runs. */
export interface MuxBindServer {
  /** The smux session (client role) over the control connection. */
  session: MuxSession;
  /** The bound listener; closed when the session ends. */
  listener: Deno.TcpListener;
  /** The message that starts a peer's stream (a SOCKS5 reply, a relay response); undefined sends none. */
  greeting(peer: Deno.NetAddr): Uint8Array | undefined;
  logger: Logger;
  /** Service close: ends the session. */
  signal?: AbortSignal;
}

/**
 * Accepts peers until the session or the listener ends, then closes both and waits for every relay.
 * Never rejects.
 */
export async function serveMuxBind(o: MuxBindServer): Promise<void> {
  const { session, listener, logger } = o;
  const onAbort = () => session.close();
  o.signal?.addEventListener("abort", onAbort, { once: true });
  if (o.signal?.aborted) session.close();
  session.done.then(() => closeQuietly(listener));
  const refusing = refuseStreams(session);
  const peers = new Set<Promise<void>>();
  try {
    for (;;) {
      let peer: Deno.TcpConn;
      try {
        peer = await listener.accept();
      } catch {
        break;
      }
      peer.setNoDelay(true);
      const p = servePeer(o, peer);
      peers.add(p);
      p.finally(() => peers.delete(p));
    }
  } finally {
    o.signal?.removeEventListener("abort", onAbort);
    closeQuietly(listener);
    session.close();
    await Promise.all([...peers, refusing, session.done]);
  }
  logger.debug(
    `bind on ${addrString(listener.addr)} closed: ${session.error ? errorMessage(session.error) : "done"}`,
  );
}

/** Closes every stream the other side opens: bind streams go one way only. */
async function refuseStreams(session: MuxSession): Promise<void> {
  for (;;) {
    try {
      (await session.acceptStream()).close();
    } catch {
      return;
    }
  }
}

/** Opens a stream for one peer, greets with the peer's address and relays. Never rejects. */
async function servePeer(o: MuxBindServer, peer: Deno.Conn): Promise<void> {
  const from = addrString(peer.remoteAddr);
  let stream: MuxStream | undefined;
  try {
    stream = await o.session.openStream();
    const hello = o.greeting(peer.remoteAddr as Deno.NetAddr);
    if (hello) await writeFull(stream, hello);
  } catch (err) {
    closeQuietly(stream);
    closeQuietly(peer);
    o.logger.debug(`bind: peer ${from} dropped: ${errorMessage(err)}`);
    return;
  }
  o.logger.debug(`bind: ${from} <-> stream ${stream.id}`);
  const { input, output } = await relay(stream, peer);
  o.logger.debug(`bind: ${from} >< stream ${stream.id}`, { input, output });
}
