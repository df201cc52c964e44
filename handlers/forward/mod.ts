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
import type { HandlerFactory } from "../../core/contracts.ts";
import type { Registries } from "../../core/registries.ts";

/** Registers the handlers `tcp`, `udp`, `forward`, `rtcp`, `rudp` and the connector `forward`. */
export function register(reg: Registries): void {
  const local = (network: "tcp" | "udp"): HandlerFactory => async (opts) =>
    new (await import("./handler.ts")).ForwardHandler(opts, network);
  const remote = (network: "rtcp" | "rudp"): HandlerFactory => async (opts) =>
    new (await import("./remote.ts")).RemoteForwardHandler(opts, network);
  reg.connectors.register("forward", async () => new (await import("./connector.ts")).ForwardConnector());
  reg.handlers.register("tcp", local("tcp"));
  reg.handlers.register("forward", local("tcp"), { forwardDefault: true });
  reg.handlers.register("udp", local("udp"));
  reg.handlers.register("rtcp", remote("rtcp"));
  reg.handlers.register("rudp", remote("rudp"));
}
