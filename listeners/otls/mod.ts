/**
 * `otls` transport: GOST's obfs-tls, simple-obfs's "tls" mode (docs/wire.md "obfs-http / obfs-tls"): plain TCP
 * dressed as a TLS 1.2 session resumption (a ClientHello carrying the first payload as its session ticket, then
 * application-data records). No encryption: it disguises, it does not protect.
 *
 * Listener (`-L http+otls://:8443`, `-L tcp+otls://:8443/host:port`):
 *
 * | key | default | meaning |
 * |---|---|---|
 * | handshakeTimeout | 10s | a client whose ClientHello has not arrived by then is dropped (gost.ts) |
 * | reusePort | false | SO_REUSEPORT |
 *
 * Dialer (`-F http+otls://host:8443`):
 *
 * | key | default | meaning |
 * |---|---|---|
 * | host | the node's address (with its port, as GOST) | the ClientHello's server name |
 * | dialTimeout (timeout) | 10s | TCP connect deadline of `dial` |
 * @module
 */
import type { Registries } from "../../core/registries.ts";

/** Registers the `otls` listener and the `otls` dialer. */
export function register(reg: Registries): void {
  reg.listeners.register("otls", async (opts) => new (await import("./listener.ts")).ObfsTlsListener(opts));
  reg.dialers.register("otls", async (opts) => new (await import("./dialer.ts")).ObfsTlsDialer(opts));
}
