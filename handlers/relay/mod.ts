/**
 * GOST's relay protocol (docs/wire.md, "Relay"), both sides: the `relay` handler (server) and the `relay` connector
 * (client), wire-compatible with GOST v3.
 *
 * Handler metadata:
 *
 * | key | default | meaning |
 * |---|---|---|
 * | `readTimeout` | `15s` | deadline for reading the request; `0` means the default, as in GOST |
 * | `bind` | `false` | allow BIND (else status 0x03 Forbidden): TCP BIND with smux (`rtcp`), UDP BIND (`rudp`) |
 * | `mux.version`, `mux.keepaliveInterval`, … | smux defaults | TCP BIND session settings, handler and connector |
 * | `nodelay` | `false` | send the OK response at once instead of with the first bytes to the client |
 * | `allowSelfTarget` | `false` | service or handler metadata: let clients reach this process's own listeners (services, Web API, metrics); else status 0x03 Forbidden; not with forwarder nodes, whose targets are the operator's (README, Security) |
 *
 * Connector metadata:
 *
 * | key | default | meaning |
 * |---|---|---|
 * | `nodelay` | `false` | send the request at once and wait for the response inside `connect()` |
 * | `connectTimeout` | `10s` | deadline of that wait (`nodelay` only); `0` = none (GOST: none) |
 * | `lazyFlush` | `100ms` | a held request is sent alone once a read has waited this long without a write; `0` = never (GOST) |
 *
 * Interop decisions:
 * - Server: like GOST the OK is held back and sent with the first downstream bytes when client bytes came with the
 *   request (GOST's lazy client); when the request came alone the client may be waiting for the answer (a `nodelay`
 *   client), so it is sent at once — GOST would deadlock a `nodelay` client in front of a client-speaks-first
 *   target. A held OK is also flushed before a half-close, so the client reads OK + EOF.
 * - Client: the request rides on the first write as in GOST; `lazyFlush` fixes server-speaks-first targets
 *   (gost#125) without `nodelay`.
 * - Forward mode (forwarder nodes) serves CONNECT only and fails over between nodes; GOST forwards every command
 *   to one selected node. UDP BIND listen failures answer 0x05 (GOST closes without a response). The version byte
 *   is checked before the rest of the header arrives, so non-relay clients are dropped at once.
 *
 * Remote port forwarding: TCP BIND turns the stream into an smux session (bind_mux.ts); the connector's `bind()`
 * speaks TCP and UDP BIND (bind_connector.ts) for `rtcp`/`rudp` listeners.
 *
 * Not implemented yet: UDP association (`connect("udp", "")`), `unix`/`serial`/`ip` networks (0x01 Bad Request),
 * sniffing, `hash`, limiter and observer options.
 * @module
 */
import type { Registries } from "../../core/registries.ts";

/** Registers the `relay` handler and the `relay` connector. */
export function register(reg: Registries): void {
  reg.handlers.register("relay", async (opts) => new (await import("./handler.ts")).RelayHandler(opts), {
    openProxy: true,
    keepsTargets: true,
  });
  reg.connectors.register("relay", async (opts) => new (await import("./connector.ts")).RelayConnector(opts));
}
