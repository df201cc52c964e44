/**
 * Relay CONNECT: dial the requested target (or, in forward mode, a forwarder node), answer OK (lazily, see
 * {@link answerOk}), then relay raw bytes — or, for UDP, `[len u16]` frames to a datagram conn.
 * @module
 */
import { closeQuietly, type Conn, joinHostPort } from "../../core/conn.ts";
import { DialError, errorMessage, HandshakeError, PolicyError } from "../../core/errors.ts";
import { dialOptions } from "../../core/contracts.ts";
import { relay } from "../../core/relay.ts";
import type { Node } from "../../core/contracts.ts";
import { DatagramFrameConn } from "./frames.ts";
import { answerOk, type RelayScope, sendError } from "./scope.ts";
import { Status } from "./wire.ts";

/** Wraps any dial failure as a {@link DialError} naming `target` (policy refusals pass through). */
function dialFailure(err: unknown, target: string): Error {
  if (err instanceof DialError || err instanceof PolicyError) return err;
  return new DialError(target, `Dial ${target}: ${errorMessage(err)}`, { cause: err });
}

/**
 * Serves CONNECT to the Addr feature's target. No target → Bad Request; refused by policy → Forbidden; dial failure
 * → Network Unreachable (GOST's codes), also for `0.0.0.0:0`, what a client without a target sends (the server
 * needs targets of its own for it: {@link forward}).
 * @throws {HandshakeError} without a target; {@link DialError} or {@link PolicyError} when the dial fails
 */
export async function connect(s: RelayScope): Promise<void> {
  const { conn, ctx, facts } = s;
  if (!facts.host) {
    await sendError(conn, Status.BadRequest);
    throw new HandshakeError("Relay CONNECT without a target address");
  }
  const dst = joinHostPort(facts.host, facts.port ?? 0);
  if (!facts.port && (facts.host === "0.0.0.0" || facts.host === "::")) {
    // what GOST's client sends without a target of its own (-L tcp://:2222 -F relay://…): a dial would fail too
    await sendError(conn, Status.NetworkUnreachable);
    throw new HandshakeError(
      `Relay CONNECT to ${dst}: the client has no target (a forwarding service without one) and this relay ` +
        `server has none to forward to: give the server a target (-L relay://:8420/host:port)`,
    );
  }
  ctx.dst = dst;
  ctx.logger = ctx.logger.child({ dst: `${dst}/${s.network}` });
  let target: Conn;
  try {
    target = await s.opts.router.dial(s.network, dst, dialOptions(ctx));
  } catch (err) {
    await sendError(conn, err instanceof PolicyError ? Status.Forbidden : Status.NetworkUnreachable);
    throw dialFailure(err, dst);
  }
  ctx.logger.info(`${ctx.src} <-> ${dst}/${s.network}`);
  await serve(s, target);
}

/**
 * Forward mode (the handler has forwarder nodes): the requested address is ignored and the target is a node picked
 * by the selector; a node that fails is marked and the next one tried. No node → Service Unavailable; every node
 * failed → Host Unreachable (GOST's codes).
 * @throws {DialError} naming the last node tried
 */
export async function forward(s: RelayScope): Promise<void> {
  const { conn, ctx } = s;
  const group = s.opts.forwarder!;
  const tried = new Set<Node>();
  const { hashKey } = dialOptions(ctx);
  let last: unknown;
  for (let node = group.select(hashKey); node; node = group.select(hashKey, tried)) {
    tried.add(node);
    ctx.dst = node.addr;
    let target: Conn;
    try {
      target = await s.opts.router.dial(s.network, node.addr, dialOptions(ctx));
    } catch (err) {
      last = err;
      group.markFailed(node);
      ctx.logger.warn(`${node.name}@${node.addr}: ${errorMessage(err)}`);
      continue;
    }
    group.markOk(node);
    ctx.logger = ctx.logger.child({ dst: `${node.addr}/${s.network}`, node: node.name });
    ctx.logger.info(`${ctx.src} <-> ${node.addr}/${s.network} (forward)`);
    return await serve(s, target);
  }
  await sendError(conn, tried.size ? Status.HostUnreachable : Status.ServiceUnavailable);
  throw tried.size ? dialFailure(last, ctx.dst ?? "") : new DialError("", "Relay forward mode: no target available");
}

/** Answers OK and relays the client to `target` until both sides are done; closes `target` on failure. */
async function serve(s: RelayScope, target: Conn): Promise<void> {
  let client: Conn;
  try {
    client = await answerOk(s);
  } catch (err) {
    closeQuietly(target);
    throw err;
  }
  if (s.network === "udp") client = new DatagramFrameConn(client);
  await relay(client, target);
}
