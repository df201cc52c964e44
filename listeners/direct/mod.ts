/**
 * The `direct` dialer (alias `virtual`, as GOST registers it): the transport half of GOST's virtual node. It opens
 * nothing; its node's `direct` connector (handlers/direct/) dials the target from this host. There is no `direct`
 * listener (GOST has none either).
 *
 * | key | default | meaning |
 * |---|---|---|
 * | (none) | | |
 * @module
 */
import type { Registries } from "../../core/registries.ts";

/** Registers the dialers `direct` and `virtual`. */
export function register(reg: Registries): void {
  const create = async () => new (await import("./dialer.ts")).DirectDialer();
  reg.dialers.register("direct", create, { addressless: true });
  reg.dialers.register("virtual", create, { addressless: true });
}
