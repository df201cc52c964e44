/**
 * `ohttp` transport: GOST's obfs-http, simple-obfs's "http" mode (docs/wire.md "obfs-http / obfs-tls"): plain TCP
 * whose first bytes look like a WebSocket upgrade. No encryption: it disguises, it does not protect.
 *
 * Listener (`-L http+ohttp://:8080`, `-L tcp+ohttp://:8080/host:port`):
 *
 * | key | default | meaning |
 * |---|---|---|
 * | header | none | extra headers of the 101 (and 400) response |
 * | handshakeTimeout | 10s | a client whose request has not arrived by then is dropped (gost.ts) |
 * | reusePort | false | SO_REUSEPORT |
 *
 * Dialer (`-F http+ohttp://host:8080`):
 *
 * | key | default | meaning |
 * |---|---|---|
 * | host (obfs.host) | the node's address | the request's `Host` |
 * | path (obfs.path) | `/` | the request path (GOST reads it but always sends `/`) |
 * | header (obfs.header) | none | extra request headers |
 * | dialTimeout (timeout) | 10s | TCP connect deadline of `dial` |
 * @module
 */
import type { Registries } from "../../core/registries.ts";

/** Registers the `ohttp` listener and the `ohttp` dialer. */
export function register(reg: Registries): void {
  reg.listeners.register("ohttp", async (opts) => new (await import("./listener.ts")).ObfsHttpListener(opts));
  reg.dialers.register("ohttp", async (opts) => new (await import("./dialer.ts")).ObfsHttpDialer(opts));
}
