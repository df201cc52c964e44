/**
 * TLS handshakes with `node:tls` over any {@link Conn}, client and server side, each bounded by a deadline.
 * `node:tls` and the stream bridge are imported at the first handshake, not at startup: they cost about 25 ms and
 * 5 MiB, which a process without TLS does not pay (docs/architecture.md, "Module loading").
 * @module
 */
import type { ConnectionOptions, TLSSocket, TLSSocketOptions } from "node:tls";
import type { Conn } from "../../core/conn.ts";
import { after } from "../../core/deadline.ts";
import { HandshakeError, TimeoutError } from "../../core/errors.ts";
import type { ConnDuplex, NodeTlsConn } from "./node_conn.ts";

/** `node:tls` and the bridge, imported on first use (a module is evaluated once; later imports return it). */
function loadTls() {
  return Promise.all([import("node:tls"), import("./node_conn.ts")]);
}

/**
 * Runs a client TLS handshake over `inner` and returns the encrypted conn.
 * @param options node:tls connect options (servername, rejectUnauthorized, ca, cert, key); `socket` is set here
 * @param timeoutMs handshake deadline; the inner conn is closed when it passes
 * @throws the handshake error (certificate, alert, reset) or a TimeoutError
 */
export async function nodeTlsClient(inner: Conn, options: ConnectionOptions, timeoutMs: number): Promise<NodeTlsConn> {
  const [{ connect }, bridge] = await loadTls();
  const duplex = new bridge.ConnDuplex(inner);
  const sock = connect({ ...options, socket: duplex, allowHalfOpen: true } as ConnectionOptions);
  return handshake(sock, duplex, "secureConnect", timeoutMs, bridge.NodeTlsConn);
}

/**
 * Runs a server TLS handshake over `inner` (client certificates are required and verified when `requestCert`).
 * @throws the handshake error, a {@link HandshakeError} for an unauthorized client, or a TimeoutError
 */
export async function nodeTlsServer(inner: Conn, options: TLSSocketOptions, timeoutMs: number): Promise<NodeTlsConn> {
  const [{ TLSSocket }, bridge] = await loadTls();
  const duplex = new bridge.ConnDuplex(inner);
  const sock = new TLSSocket(duplex, { ...options, isServer: true });
  const conn = await handshake(sock, duplex, "secure", timeoutMs, bridge.NodeTlsConn);
  if (options.requestCert) {
    const why = clientCertError(sock);
    if (why) {
      conn.close();
      throw new HandshakeError(`TLS client certificate rejected: ${why}`);
    }
  }
  return conn;
}

/**
 * The client certificate's verification error, "" when it chains to the CA. A standalone server TLSSocket leaves
 * `authorized` unset: node's own `tls.Server` reads `_handle.verifyError()` after `secure`, and so do we (Deno
 * returns a code string, node an Error). Fails closed when that call is missing.
 */
function clientCertError(sock: TLSSocket): string {
  const handle = (sock as unknown as { _handle?: { verifyError?: () => unknown } })._handle;
  if (typeof handle?.verifyError !== "function") return "cannot verify client certificates on this runtime";
  const v = handle.verifyError();
  if (!v) return "";
  if (typeof v === "string") return v;
  const e = v as { code?: string; message?: string };
  return e.code ?? e.message ?? String(v);
}

/**
 * Waits for the handshake, bounded by `timeoutMs`. On a failure or the deadline both the socket and the duplex are
 * destroyed: a handshake that would never end (a client that closed its side mid-handshake gets no `close` event
 * from node:tls over a duplex) must not keep its TLSSocket, which node:tls holds until it is destroyed.
 */
async function handshake(
  sock: TLSSocket,
  duplex: ConnDuplex,
  event: "secureConnect" | "secure",
  timeoutMs: number,
  TlsConn: typeof NodeTlsConn,
): Promise<NodeTlsConn> {
  // From here on an error event must never go unheard: a late one would be an uncaught exception.
  sock.on("error", () => {});
  let expire!: (err: Error) => void;
  const expired = new Promise<never>((_, reject) => (expire = reject));
  const cancel = timeoutMs > 0
    ? after(timeoutMs, () => expire(new TimeoutError(`Handshake timed out after ${timeoutMs} ms`)))
    : () => {};
  try {
    await Promise.race([waitSecure(sock, event), expired]);
    return new TlsConn(sock, duplex);
  } catch (err) {
    sock.destroy();
    duplex.destroy();
    throw err;
  } finally {
    cancel();
  }
}

/**
 * Resolves on the handshake event; rejects on `error`, an early close, or the end of the peer's bytes before the
 * handshake is done (node:tls over a duplex then waits for ever: the peer can no longer finish it). The end waits
 * one macrotask first, so a handshake whose last flight came with the end completes. Listeners are removed either way.
 */
function waitSecure(sock: TLSSocket, event: "secureConnect" | "secure"): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const done = (err?: Error) => {
      if (settled) return;
      settled = true;
      sock.off(event, onOk);
      sock.off("error", onErr);
      sock.off("close", onClose);
      sock.off("end", onEnd);
      if (err) reject(err);
      else resolve();
    };
    const onOk = () => done();
    const onErr = (err: Error) => done(err);
    const onClose = () => done(new Deno.errors.ConnectionReset("connection closed during the TLS handshake"));
    const onEnd = () => setTimeout(() => done(new Deno.errors.UnexpectedEof("peer closed during the TLS handshake")));
    sock.on(event, onOk);
    sock.on("error", onErr);
    sock.on("close", onClose);
    sock.on("end", onEnd);
  });
}
