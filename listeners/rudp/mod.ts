/**
 * `rudp` listener: remote UDP port forwarding. The UDP port is bound on the last node of the listener's chain
 * (`-L rudp://:5353/127.0.0.1:53 -F socks5://server:1080` or `-F relay://server:8421`): a SOCKS5 server gets
 * GOST's UDP-tun bind (CMD 0xF3, port ≠ 0), a relay server a UDP BIND; datagrams travel on that one stream. Without
 * a chain the port is bound locally (as the `udp` listener). A dropped tunnel is bound again.
 *
 * | key | default | meaning |
 * |---|---|---|
 * | ttl | 60s (GOST: 5s) | a peer's session ends after this long without traffic |
 * | readBufferSize | 65535 (GOST: 1500) | largest datagram accepted |
 * | readQueueSize | 128 | datagrams queued per session before drops |
 * | backlog | 128 | new sessions waiting to be accepted |
 * @module
 */
import type { Registries } from "../../core/registries.ts";

/** Registers `rudp`. */
export function register(reg: Registries): void {
  reg.listeners.register("rudp", async (opts) => new (await import("./listener.ts")).RudpListener(opts), {
    remote: true,
    datagram: true,
    forwardHandler: "rudp",
  });
}
