/**
 * The `dns` listener (GOST's x/listener/dns), the front end of the `dns` handler (handlers/dns/mod.ts): a DNS
 * server on UDP, TCP, TLS (DoT, RFC 7858) or HTTPS (DoH, RFC 8484) whose every query is one conn for the handler.
 * `-L dns://:10053?mode=udp&dns=udp://1.1.1.1`; the bytes are in docs/wire.md, "DNS proxy".
 *
 * | key | default | meaning |
 * |---|---|---|
 * | `mode` | `udp` | `udp`, `tcp`, `tls` (DNS over TLS, TCP framing inside), `https` (DNS over HTTPS: HTTP/2 and HTTP/1.1, `GET ?dns=` and `POST`, every path) |
 * | `backlog` | `128` | queries waiting for the handler; one more is dropped with a warning (DoH: 503) |
 * | `readBufferSize` | `512` | mode udp: the largest datagram taken; a longer one is dropped with a log line |
 * | `readTimeout` | `2s` | tcp/tls: the first query of a conn, and the rest of a message after its length; https: a request |
 * | `writeTimeout` | `2s` | tcp/tls/https: writing a reply |
 * | TLS keys | | modes tls and https: as the `tls` listener (listeners/tls/mod.ts: `tls:` block, certFile, keyFile, caFile, …; a self-signed certificate when none) |
 *
 * TCP and TLS conns may stay 8 s idle between queries and send 128 of them (miekg/dns's server bounds, GOST's), 16
 * at a time in the handler (ours); 1024 of them are served at once. Refused: `mptcp=true` (Deno has no MPTCP).
 * Differences from GOST, on purpose: a UDP datagram over `readBufferSize` is dropped rather than read cut.
 * @module
 */
import type { Registries } from "../../core/registries.ts";

/** Registers the `dns` listener. */
export function register(reg: Registries): void {
  reg.listeners.register("dns", async (opts) => new (await import("./listener.ts")).DnsListener(opts), {
    tls: true,
    forwardHandler: "dns",
  });
}
