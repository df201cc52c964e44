/**
 * The TLS side of the SNI proxy: the ClientHello is read whole within `readTimeout` (capped, core/tls_client_hello.ts),
 * its `server_name` names the target on port 443 (GOST's rule) — or, when GOST's `sni` connector covered it, the real
 * name hidden in extension 0xFFFE, with the ClientHello restored as the client sent it (handlers/sni/cover.ts). The
 * proxy dials the target through the router, sends the ClientHello and relays both ways: it never terminates TLS.
 * @module
 */
import { HandshakeReader } from "../../core/bufio.ts";
import { readClientHello } from "../../core/tls_client_hello.ts";
import { closeQuietly, type Conn, joinHostPort, writeFull } from "../../core/conn.ts";
import { withDeadline } from "../../core/deadline.ts";
import { DialError, errorMessage, HandshakeError, PolicyError, TimeoutError } from "../../core/errors.ts";
import { type ConnContext, dialOptions, type HandlerOptions } from "../../core/contracts.ts";
import { relay } from "../../core/relay.ts";
import { frameRecords, helloMessage, locateExtensions, MAX_HELLO_BYTES } from "./clienthello.ts";
import { uncoverHello } from "./cover.ts";
import type { SniMetadata } from "./metadata.ts";

/** GOST's port for a ClientHello's server name. */
export const TLS_PORT = 443;

/**
 * Serves one TLS conn (its first bytes are a handshake record) to its end.
 * @throws {HandshakeError} on a ClientHello that is cut short, too long, malformed or names no server, or none
 *   within `readTimeout`; {@link DialError} / {@link PolicyError} when the target cannot or may not be reached
 */
export async function serveTls(conn: Conn, ctx: ConnContext, opts: HandlerOptions, md: SniMetadata): Promise<void> {
  const reader = new HandshakeReader(conn, 4096);
  const { hello, raw } = await withDeadline(conn, md.readTimeoutMs, () => readClientHello(reader, MAX_HELLO_BYTES))
    .catch((err) => {
      throw err instanceof TimeoutError
        ? new HandshakeError(`sni: no complete ClientHello within ${md.readTimeoutMs} ms`, { cause: err })
        : err;
    });
  const message = helloMessage(raw);
  const uncovered = uncoverHello(message, locateExtensions(message));
  let target: string;
  let first: Uint8Array;
  if (uncovered) {
    target = uncovered.target.includes(":") ? uncovered.target : joinHostPort(uncovered.target, TLS_PORT);
    first = frameRecords(uncovered.message, (raw[1] << 8) | raw[2]);
  } else {
    if (!hello.serverName) throw new HandshakeError("sni: refused: the ClientHello names no server (no server_name)");
    target = joinHostPort(hello.serverName, TLS_PORT);
    first = raw;
  }
  ctx.dst = target;
  if (ctx.logger.enabled("debug")) {
    ctx.logger.debug(`sni: ClientHello for ${target}${uncovered ? ` (covered as ${hello.serverName})` : ""}`);
  }
  let up: Conn;
  try {
    up = await opts.router.dial("tcp", target, dialOptions(ctx));
  } catch (err) {
    throw err instanceof DialError || err instanceof PolicyError
      ? err
      : new DialError(target, errorMessage(err), { cause: err });
  }
  try {
    await writeFull(up, first);
  } catch (err) {
    closeQuietly(up);
    throw err;
  }
  ctx.logger.info(`${ctx.src} <-> ${target}`);
  await relay(reader.conn(), up);
}
