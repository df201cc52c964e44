/**
 * `rtcp` listener: remote TCP port forwarding. The port is bound on the last node of the listener's chain
 * (`listener.chain`; `-L rtcp://:2222/127.0.0.1:22 -F socks5://server:1080` or `-F relay://server:8421`) through a
 * SOCKS5 MBIND or a relay BIND, both multiplexed (smux): every connection shares one tunnel. Without a chain the
 * port is bound locally. A dropped tunnel is bound again (the service backs off 1 s → 5 s between attempts).
 *
 * | key | default | meaning |
 * |---|---|---|
 * | (none) | | smux settings come from the connector (`mux.*` on the `-F` node for relay) |
 * @module
 */
import type { Registries } from "../../core/registries.ts";

/** Registers `rtcp`. */
export function register(reg: Registries): void {
  reg.listeners.register("rtcp", async (opts) => new (await import("./listener.ts")).RtcpListener(opts), {
    remote: true,
    forwardHandler: "rtcp",
  });
}
