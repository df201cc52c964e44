/**
 * SOCKS5 CONNECT: dial the target through the router, answer with the outbound socket's local address, relay.
 * @module
 */
import { dialOptions } from "../../core/contracts.ts";
import { closeQuietly, type Conn, joinHostPort } from "../../core/conn.ts";
import {
  DialError,
  dialFailure,
  errorMessage,
  HandshakeError,
  InvalidTargetError,
  PolicyError,
} from "../../core/errors.ts";
import { relay, type RelayResult } from "../../core/relay.ts";
import { Rep } from "./wire.ts";
import { type CommandScope, netAddr, sendError, sendReply } from "./command.ts";

/**
 * The reply code for a failed dial. GOST answers 0x03 to every failure; we keep 0x03 as the default and say more
 * when the cause is known: a chain node failed (dead, hung, garbage, refused our credentials, loops back) → 0x05,
 * as HTTP answers 502 for it; refused → 0x05; name not resolved or not a name, no route or timeout → 0x04.
 */
export function dialFailureRep(err: unknown): number {
  if (err instanceof PolicyError) return Rep.NotAllowed;
  if (err instanceof InvalidTargetError) return Rep.HostUnreachable; // as an empty host or port 0
  if (err instanceof DialError && err.node) return Rep.ConnRefused;
  switch (dialFailure(err)) {
    case "refused":
      return Rep.ConnRefused;
    case "dns":
    case "host-unreachable":
    case "timeout":
      return Rep.HostUnreachable;
    default:
      return Rep.NetUnreachable;
  }
}

/**
 * Serves CONNECT.
 * @returns the bytes relayed each way
 * @throws {DialError} after replying with {@link dialFailureRep}
 */
export async function connect(s: CommandScope): Promise<RelayResult> {
  const { conn, ctx, addr } = s;
  if (!addr.host || addr.port === 0) {
    await sendError(conn, Rep.HostUnreachable);
    throw new HandshakeError(`CONNECT to an empty host or port 0: "${ctx.dst}"`);
  }
  const dst = joinHostPort(addr.host, addr.port);
  let target: Conn;
  try {
    target = await s.opts.router.dial("tcp", dst, dialOptions(ctx));
  } catch (err) {
    await sendError(conn, dialFailureRep(err));
    throw err instanceof DialError || err instanceof PolicyError
      ? err
      : new DialError(dst, errorMessage(err), { cause: err });
  }
  try {
    const bnd = netAddr(target.localAddr);
    await sendReply(conn, Rep.Succeeded, bnd.hostname, bnd.port);
  } catch (err) {
    closeQuietly(target);
    throw err;
  }
  ctx.logger.info(`${ctx.src} <-> ${dst}`);
  // returned, not awaited: this function's frame is not kept for the life of the relay
  return relay(conn, target);
}
