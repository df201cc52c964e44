/**
 * The `direct` connector (alias `virtual`, as GOST registers it): the client side of GOST's virtual node — no
 * protocol and no server; the node reaches its target from this host, so a hop can mix direct and proxied nodes (a
 * backup direct node behind a proxy). It pairs with the `direct` dialer (listeners/direct/), which opens nothing;
 * a node of it needs no `addr` (README, "Chains").
 *
 * | key | default | meaning |
 * |---|---|---|
 * | action | (none) | `reject`: refuse every target (the client gets its protocol's refusal, HTTP 403 / SOCKS5 0x02) |
 * @module
 */
import type { Registries } from "../../core/registries.ts";

/** Registers the connectors `direct` and `virtual`. */
export function register(reg: Registries): void {
  const create = async () => new (await import("./connector.ts")).DirectConnector();
  reg.connectors.register("direct", create, { addressless: true, defaultDialer: "direct" });
  reg.connectors.register("virtual", create, { addressless: true, defaultDialer: "virtual" });
}
