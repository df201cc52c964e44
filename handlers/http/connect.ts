/**
 * CONNECT: dial the authority, answer `200 Connection established`, then relay raw bytes both ways. Bytes the
 * client sent after the head (already buffered by the reader) go first.
 * @module
 */
import { dialOptions } from "../../core/contracts.ts";
import { closeQuietly, type Conn } from "../../core/conn.ts";
import { DialError, errorMessage, PolicyError } from "../../core/errors.ts";
import { relay } from "../../core/relay.ts";
import type { Session } from "./session.ts";
import { parseAuthority, type RequestHead } from "./wire.ts";

/** GOST's port when a CONNECT authority has none. */
const CONNECT_DEFAULT_PORT = 80;

/**
 * Serves a CONNECT request to its end.
 * @throws {HttpStatusError} 400 on a bad authority (before anything was written)
 * @throws {DialError} after answering 502 when the target cannot be reached
 */
export async function handleConnect(s: Session, req: RequestHead): Promise<void> {
  const { addr } = parseAuthority(req.target, CONNECT_DEFAULT_PORT);
  s.ctx.dst = addr;
  s.closeUpstream();
  let target: Conn;
  try {
    target = await s.opts.router.dial("tcp", addr, dialOptions(s.ctx));
  } catch (err) {
    s.ctx.logger.debug(`CONNECT ${addr}: ${errorMessage(err)}`);
    if (err instanceof PolicyError) {
      await s.fail(403);
      throw err;
    }
    await s.fail(502);
    throw err instanceof DialError ? err : new DialError(addr, errorMessage(err), { cause: err });
  }
  try {
    await s.reply(200);
  } catch (err) {
    closeQuietly(target);
    throw err;
  }
  s.ctx.logger.info(`${s.ctx.src} <-> ${addr}`);
  await relay(s.reader.conn(), target);
}
