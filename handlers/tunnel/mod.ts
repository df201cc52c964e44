/**
 * GOST's reverse-proxy tunnel (README.md, "Reverse-proxy tunnel"; docs/wire.md, "Tunnel"), both sides: the `tunnel`
 * handler (the public server clients behind NAT register with, and its entrypoints) and the `tunnel` connector (the
 * client: `rtcp`/`rudp` registering a tunnel id, or a visitor reaching a tunnel by id). The protocol is GOST's relay
 * with the Tunnel feature; ids are UUIDs (id.ts).
 *
 * Handler metadata:
 *
 * | key | default | meaning |
 * |---|---|---|
 * | `entrypoint` | none | public entrypoint address: HTTP by Host, TLS by SNI, relay visitors by id (entrypoint.ts) |
 * | `entrypoints` | none | more entrypoints, `[{addr, ingress}]` (an ingress by name; default the handler's) |
 * | `ingress` | none | the named ingress (`ingresses:`) that routes hosts to tunnels, looked up at each use |
 * | `tunnel` | none | inline rules `host:uuid,host:uuid` when no `ingress` is named (GOST's CLI form) |
 * | `entrypoint.id` | none | visitors with this tunnel id are external public entrypoints: routed through the ingress |
 * | `entrypoint.readTimeout` | `15s` | deadline of the entrypoint's first read (request head, ClientHello) and of a tunnel's response head |
 * | `entrypoint.keepalive` | `false` | keep a tunnel stream for the next request of a conn to the same host (GOST: a keep-alive pool) |
 * | `tunnel.direct` | `false` | a visitor reaches any tunnel by its id, without an ingress rule |
 * | `tunnel.ttl` | `15s` | a tunnel without clients stays listed (with its counters) this long |
 * | `tunnel.maxTunnelsPerClient` | `100` | distinct tunnel ids one client (user, else IP) may hold (gost.ts; Forbidden beyond, logged) |
 * | `tunnel.maxClientsPerTunnel` | `100` | clients one tunnel id may have (gost.ts; Forbidden beyond, logged) |
 * | `readTimeout` | `15s` | deadline of the relay request (GOST: none) |
 * | `mux.*` | smux v2, 1 MiB stream window | the client sessions' smux settings (GOST's) |
 *
 * Connector metadata:
 *
 * | key | default | meaning |
 * |---|---|---|
 * | `tunnel.id` (`tunnelID`) | random | the tunnel id (a UUID); without one a random id is used, as GOST does |
 * | `tunnel.weight` | `0` (counts as 1) | this client's share of its tunnel's conns, 1–255; 255 takes them all |
 * | `connectTimeout` | `10s` | deadline of the request/response exchange (GOST: none); `0` = none |
 * | `mux.*` | smux v2, 1 MiB stream window | the session's smux settings |
 *
 * GOST keys refused (not acted on): `entrypoint.ProxyProtocol`, `entrypoint.compression`, `sniffing.websocket*`,
 * `sd`, observer and limiter keys on the handler; `record.mode` on the connector.
 *
 * Differences from GOST: several clients of one tunnel share its conns by smooth weighted round robin (GOST: weighted
 * random), and a client whose session ends is dropped at once (GOST: at the next `tunnel.ttl` tick); the entrypoint
 * also serves raw TCP and UDP ports named by ingress rules (`tcp://:2222` → tunnel id); a server-generated endpoint
 * name is not routed by itself (as GOST's built-in ingress, which never adds rules; GOST's plugin ingresses may).
 * @module
 */
import type { Registries } from "../../core/registries.ts";

/** Registers the `tunnel` handler and the `tunnel` connector. */
export function register(reg: Registries): void {
  reg.handlers.register(
    "tunnel",
    async (opts) => new (await import("./handler.ts")).TunnelHandler({ ...opts, reg }),
    { ownBypass: true },
  );
  reg.connectors.register("tunnel", async (opts) => new (await import("./connector.ts")).TunnelConnector(opts));
}
