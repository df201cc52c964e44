/**
 * `mwss` transport: the `mws` transport (listeners/mws/mod.ts) over TLS (listeners/tls/mod.ts, its keys), as GOST's
 * mwss: TLS, then the WebSocket upgrade, then smux (`-L relay+mwss://:443`, `-F relay+mwss://host:443`).
 * @module
 */
import type { Registries } from "../../core/registries.ts";

/** Registers the `mwss` listener and dialer. */
export function register(reg: Registries): void {
  reg.listeners.register("mwss", async (opts) => {
    const [{ TlsListener }, { WsListener }, { MuxServerListener }] = await Promise.all([
      import("../tls/listener.ts"),
      import("../ws/listener.ts"),
      import("../mtcp/listener.ts"),
    ]);
    return new MuxServerListener(new WsListener(new TlsListener(opts), opts, "mwss"), opts, {}, "mwss");
  }, { tls: true });
  reg.dialers.register("mwss", async (opts) => new (await import("../mws/dialer.ts")).MwsDialer(opts, true), {
    tls: true,
  });
}
