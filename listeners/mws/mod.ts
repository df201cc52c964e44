/**
 * `mws` transport: smux over one WebSocket (GOST's mws; docs/wire.md, "WebSocket"): every client conn is one stream of
 * the session the chain keeps to the node (`-L relay+mws://:8080`, `-F relay+mws://host:8080`). The WebSocket keys are
 * the `ws` transport's (listeners/ws/mod.ts: path, host, header, handshakeTimeout, keepalive/ttl on the dialer, …),
 * the `mux.*` keys and `backlog` mtcp's (listeners/mtcp/mod.ts) with `mux.version` defaulting to 1, as in GOST. On the
 * listener `keepalive*` and `mptcp=true` are ConfigErrors, as for mtcp.
 * @module
 */
import type { Registries } from "../../core/registries.ts";

/** Registers the `mws` listener and dialer. */
export function register(reg: Registries): void {
  reg.listeners.register("mws", async (opts) => {
    const [{ TcpListener }, { WsListener }, { MuxServerListener }] = await Promise.all([
      import("../tcp/listener.ts"),
      import("../ws/listener.ts"),
      import("../mtcp/listener.ts"),
    ]);
    return new MuxServerListener(new WsListener(new TcpListener(opts), opts, "mws"), opts, {}, "mws");
  });
  reg.dialers.register("mws", async (opts) => new (await import("./dialer.ts")).MwsDialer(opts, false));
}
