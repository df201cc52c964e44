/**
 * `wss` transport: the `ws` transport (listeners/ws/mod.ts, its keys) over TLS (listeners/tls/mod.ts, its keys:
 * certFile, keyFile, caFile, secure, serverName, …), as GOST's wss: TLS first, then the WebSocket upgrade
 * (`-L relay+wss://:443`, `-F relay+wss://host:443`). `handshakeTimeout` bounds both the TLS handshake and the
 * upgrade.
 * @module
 */
import type { Registries } from "../../core/registries.ts";

/** Registers the `wss` listener and dialer. */
export function register(reg: Registries): void {
  reg.listeners.register("wss", async (opts) => {
    const [{ TlsListener }, { WsListener }] = await Promise.all([
      import("../tls/listener.ts"),
      import("../ws/listener.ts"),
    ]);
    return new WsListener(new TlsListener(opts), opts, "wss");
  }, { tls: true });
  reg.dialers.register("wss", async (opts) => {
    const [{ TlsDialer }, { WsDialer }] = await Promise.all([import("../tls/dialer.ts"), import("../ws/dialer.ts")]);
    return new WsDialer(opts, new TlsDialer(opts), "wss");
  }, { tls: true });
}
