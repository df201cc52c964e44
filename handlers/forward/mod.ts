/**
 * Local port forwarding handlers: `tcp`, `udp`, `forward`; and the `forward` connector (no protocol: the next
 * node forwards to its own targets). Targets come from `forwarder.nodes` (the URL path on
 * the CLI); `forwarder.selector` picks one (round/random/fifo/hash, maxFails, failTimeout).
 * Remote port forwarding handlers `rtcp`, `rudp` (remote.ts) forward the conns an `rtcp`/`rudp` listener accepts.
 *
 * | key | default | meaning |
 * |---|---|---|
 * | (none) | | targets and selection live in `forwarder` |
 * @module
 */
import type { Registries } from "../../core/registries.ts";
import { ForwardConnector } from "./connector.ts";
import { ForwardHandler } from "./handler.ts";
import { RemoteForwardHandler } from "./remote.ts";

/** Registers the handlers `tcp`, `udp`, `forward`, `rtcp`, `rudp` and the connector `forward`. */
export function register(reg: Registries): void {
  reg.connectors.register("forward", () => new ForwardConnector());
  reg.handlers.register("tcp", (opts) => new ForwardHandler(opts, "tcp"));
  reg.handlers.register("forward", (opts) => new ForwardHandler(opts, "tcp"), { forwardDefault: true });
  reg.handlers.register("udp", (opts) => new ForwardHandler(opts, "udp"));
  reg.handlers.register("rtcp", (opts) => new RemoteForwardHandler(opts, "rtcp"));
  reg.handlers.register("rudp", (opts) => new RemoteForwardHandler(opts, "rudp"));
}
