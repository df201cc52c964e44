/**
 * The TLS side of a sniffing forward handler (GOST's x/internal/util/forwarder `HandleTLS`, without its MITM): the
 * ClientHello is read (bounded by `readTimeout`, core/tls_client_hello.ts), its server name routes the conn to a
 * forwarder node (route.ts: host filter, protocol `tls`), and the hello goes to the node unchanged, followed by the
 * rest of the conn both ways: TLS is not terminated, the client's handshake is with the node. A node with `tls` is
 * dialed with TLS first, so the client's TLS runs inside the node's, as GOST does. A hello cut short or malformed,
 * or a name no node takes, closes the conn (logged); GOST answers nothing either.
 * @module
 */
import { closeQuietly, type Conn, writeFull } from "../../core/conn.ts";
import { withDeadline } from "../../core/deadline.ts";
import { errorMessage } from "../../core/errors.ts";
import type { ConnContext } from "../../core/contracts.ts";
import { relay } from "../../core/relay.ts";
import { readClientHello } from "../../core/tls_client_hello.ts";
import { newReader } from "../http/stream.ts";
import type { ForwardMetadata } from "./metadata.ts";
import { type NodeRouter, NoNodeError } from "./route.ts";

/** Routes one sniffed TLS conn by its server name (the handler closes the conn afterwards). */
export async function serveTls(conn: Conn, ctx: ConnContext, md: ForwardMetadata, nodes: NodeRouter): Promise<void> {
  const reader = newReader(conn);
  let hello;
  try {
    hello = await withDeadline(conn, md.readTimeoutMs, () => readClientHello(reader));
  } catch (err) {
    ctx.logger.warn(`TLS conn refused: ${errorMessage(err)}`);
    return;
  }
  const host = hello.hello.serverName;
  if (!host) ctx.logger.debug(`no server name in the ClientHello from ${ctx.src}`);
  let reached;
  try {
    reached = await nodes.reach({ host, protocol: "tls", path: "" }, ctx, 443);
  } catch (err) {
    if (err instanceof NoNodeError) ctx.logger.warn(`node for server name ${host || "(none)"} not found`);
    else ctx.logger.warn(`${host || "(no server name)"}: ${errorMessage(err)}`);
    return;
  }
  const { conn: upstream, node, addr } = reached;
  try {
    ctx.logger.info(`${ctx.src} <-> ${addr} (${node.name}, server name ${host || "(none)"})`);
    await writeFull(upstream, hello.raw);
    await relay(reader.conn(), upstream);
  } finally {
    closeQuietly(upstream);
  }
}
