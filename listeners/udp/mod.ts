/**
 * `udp` listener: per-client sessions over one socket.
 *
 * | key | default | meaning |
 * |---|---|---|
 * | ttl | 60s (GOST: 5s) | a session ends after this long without traffic |
 * | keepAlive | true (GOST: false) | false = a session ends after its first reply, as GOST |
 * | readBufferSize | 65535 (GOST: 4096) | largest datagram read |
 * | readQueueSize | 128 | datagrams queued per session before drops |
 * | backlog | 128 | new sessions waiting to be accepted |
 * @module
 */
import type { Registries } from "../../core/registries.ts";

/** Registers the `udp` listener and dialer. */
export function register(reg: Registries): void {
  reg.listeners.register("udp", async (opts) => new (await import("./listener.ts")).UdpListener(opts), {
    datagram: true,
    forwardHandler: "udp",
  });
  reg.dialers.register("udp", async (opts) => new (await import("./dialer.ts")).UdpDialer(opts));
}
