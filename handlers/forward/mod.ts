/**
 * Local port forwarding handlers: `tcp`, `udp`, `forward`; and the `forward` connector (no protocol: the next
 * node forwards to its own targets). Targets come from `forwarder.nodes` (the URL path on
 * the CLI); `forwarder.selector` picks one (round/random/fifo/hash, maxFails, failTimeout).
 * Remote port forwarding handlers `rtcp`, `rudp` (remote.ts) forward the conns an `rtcp`/`rudp` listener accepts.
 *
 * `tcp` and `forward` are also GOST's reverse proxy: with `sniffing=true` one port serves several virtual hosts,
 * HTTP routed per request by Host and path, TLS by the ClientHello's server name, through the forwarder nodes'
 * `filter` (`host`, `protocol`, `path`), with each node's `http` settings (`host`, `requestHeader`,
 * `responseHeader`, `auth`, `rewriteURL`, `rewriteResponseBody`, `rewriteRequestBody`, `failCodes`) and `tls`
 * (the node is dialed with TLS: `serverName`, `secure`, `caFile`, `options`). See handler.ts, reverse_http.ts,
 * reverse_tls.ts and docs/wire.md, "Reverse proxy".
 *
 * | key (`tcp`, `forward`) | default | meaning |
 * |---|---|---|
 * | `sniffing` | `false` | route by the sniffed protocol, HTTP Host and path, TLS server name |
 * | `sniffing.timeout` | none | how long the first bytes are waited for; then the conn is forwarded raw |
 * | `readTimeout` | `15s` | bound on a sniffed request head or ClientHello, and on the node's response head |
 * | `http.keepalive` | `false` | keep the client conn open after a response (GOST's default closes it) |
 *
 * The keys act only with `sniffing=true`. GOST's `sniffing.websocket`, `mitm.*`, `idleTimeout`, `proxyProtocol`,
 * `stateless` and `bufferSize` are refused (README, "Refused settings"), as is `sniffing` on `udp`, `rtcp`, `rudp`.
 * @module
 */
import type { HandlerFactory } from "../../core/contracts.ts";
import type { Registries } from "../../core/registries.ts";

/** Registers the handlers `tcp`, `udp`, `forward`, `rtcp`, `rudp` and the connector `forward`. */
export function register(reg: Registries): void {
  const local = (network: "tcp" | "udp"): HandlerFactory => async (opts) =>
    new (await import("./handler.ts")).ForwardHandler(opts, network, network === "tcp");
  const remote = (network: "rtcp" | "rudp"): HandlerFactory => async (opts) =>
    new (await import("./remote.ts")).RemoteForwardHandler(opts, network);
  reg.connectors.register("forward", async () => new (await import("./connector.ts")).ForwardConnector());
  reg.handlers.register("tcp", local("tcp"), { nodeRoutes: true });
  reg.handlers.register("forward", local("tcp"), { forwardDefault: true, nodeRoutes: true });
  reg.handlers.register("udp", local("udp"));
  reg.handlers.register("rtcp", remote("rtcp"));
  reg.handlers.register("rudp", remote("rudp"));
}
