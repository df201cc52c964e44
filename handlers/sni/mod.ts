/**
 * The `sni` handler and connector (GOST's x/handler/sni, x/connector/sni): an SNI proxy. The handler routes each
 * conn by what its client sends first: a TLS ClientHello to its `server_name` on port 443, relayed without
 * terminating TLS; an HTTP request to its `Host` (port 80 unless given), served as plain HTTP proxying with
 * keep-alive; anything else is refused with a log line (`-L sni://:443`; docs/wire.md, "SNI"). Targets go through
 * the router, so `hosts`, the resolver, bypass and a chain (`-F`) apply: `-L sni://:443 -F socks5://gw:1080`.
 * The connector (`-L http://:8080 -F sni://proxy:443?host=cover.example`) sends the client's bytes to an SNI proxy;
 * with `host` it covers the first message: `server_name` (or `Host`) becomes `host` and the real name travels in
 * GOST's hidden form (ClientHello extension 0xFFFE, header `Gost-Target`), which the handler routes by.
 *
 * Handler:
 *
 * | key | default | meaning |
 * |---|---|---|
 * | `readTimeout` | `15s` | bound on the first bytes, then on the whole ClientHello or request head (0: the default, as GOST) |
 *
 * Caps: a TLS record of at most 16,384 bytes, a ClientHello of at most 64 KiB (over several records); a request head
 * of 64 KiB, lines of 16 KiB. A ClientHello cut short, over a cap, malformed or without `server_name`, and bytes that
 * are neither TLS nor HTTP, are refused with an info line naming why; the process carries on.
 *
 * Connector:
 *
 * | key | default | meaning |
 * |---|---|---|
 * | `host` | none | the cover name put in the ClientHello's `server_name` or the request's `Host` |
 *
 * Refused (ConfigError naming the key): auth on the handler (an SNI proxy cannot ask for credentials; GOST ignores
 * it), GOST's `mitm.*` (TLS interception), `sniffing.websocket*` (recording) and `hash`. The connector's `timeout`,
 * which GOST reads and never uses (there is no handshake to bound), is the tcp dialer's dial timeout here.
 *
 * Differences from GOST: the handler uncovers what the connector covered — GOST's current handler routes a covered
 * ClientHello to the cover name (its 0xFFFE decoding went with its sniffing rewrite) and forwards the rewritten
 * bytes, which break the client's TLS transcript; here the real name is routed to and the ClientHello restored byte
 * for byte, so `host` works end to end (GOST's http handlers do decode `Gost-Target`). CONNECT is answered 405 (GOST
 * forwards it to the Host as a plain request), an HTTP/2 prior-knowledge preface is refused (GOST's sniffer serves
 * it; Redis, which GOST's sniffer also takes, is refused too), an unreachable host gets 502 and a bypassed one 403
 * (GOST closes the conn), and the connector holds the first message until it is whole (GOST rewrites only what the
 * first write carries). The ClientHello is read by core/tls_client_hello.ts, the first bytes classified by the
 * forward handler's sniffing (handlers/forward/sniff.ts): the rules of GOST's sniffer.
 * @module
 */
import type { Registries } from "../../core/registries.ts";

/** Registers the `sni` handler and connector. */
export function register(reg: Registries): void {
  reg.handlers.register("sni", async (opts) => new (await import("./handler.ts")).SniHandler(opts), {
    openProxy: true,
  });
  reg.connectors.register("sni", async (opts) => new (await import("./connector.ts")).SniConnector(opts));
}
