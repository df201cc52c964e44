/**
 * Probe resistance of the Shadowsocks servers (docs/wire.md, "Shadowsocks"): a client that fails the handshake — a
 * wrong key or method, a replayed salt, garbage — gets no answer at all. Its conn is held, everything it sends read
 * and dropped, until the handshake deadline that any client has (`readTimeout` from accept) or until it closes, and
 * is then closed; so neither a reply, nor a reset, nor the moment of the close tells a prober how many bytes the
 * server read or why it gave up.
 * @module
 */
import { closeQuietly, type Conn } from "../../core/conn.ts";
import { after } from "../../core/deadline.ts";
import { AuthError } from "../../core/errors.ts";

/** A client sent a salt the server has seen (a replay of a recorded session, or of the server's own stream). */
export class ReplayError extends AuthError {}

/**
 * Reads and drops what the client sends until it closes or `ms` pass, then closes the conn.
 * @returns when the client closed first (true) or the time ran out (false)
 */
export async function hold(conn: Conn, ms: number): Promise<boolean> {
  let expired = false;
  const cancel = after(Math.max(0, ms), () => {
    expired = true;
    closeQuietly(conn);
  });
  const sink = new Uint8Array(4096);
  try {
    while ((await conn.read(sink)) !== null) { /* dropped */ }
  } catch {
    // closed by the deadline, or reset by the client
  } finally {
    cancel();
    closeQuietly(conn);
  }
  return !expired;
}
