/**
 * `mtls` transport: smux over TLS (GOST's mtls). Every client conn is one stream of the session the chain keeps to
 * the node (`-L relay+mtls://:8443`, `-F relay+mtls://host:8443`). The TLS keys are the `tls` transport's
 * (listeners/tls/mod.ts: certFile, keyFile, caFile, secure, serverName, handshakeTimeout, …), the `mux.*` keys and
 * `backlog` are mtcp's (listeners/mtcp/mod.ts) except that `mux.version` defaults to 1, as in GOST. On the dialer,
 * `handshakeTimeout` bounds the TLS handshake (default 10s) and, when set, also opening each stream (as GOST's
 * deadline on the conn). `mux.type` other than smux, `mptcp=true` and `keepalive*` are ConfigErrors, as for mtcp.
 * @module
 */
import type { Registries } from "../../core/registries.ts";

/** Registers the `mtls` listener and dialer. */
export function register(reg: Registries): void {
  reg.listeners.register("mtls", async (opts) => (await import("./listener.ts")).mtlsListener(opts), { tls: true });
  reg.dialers.register("mtls", async (opts) => new (await import("./dialer.ts")).MtlsDialer(opts), { tls: true });
}
