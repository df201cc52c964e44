/**
 * `tcp` listener.
 *
 * | key | default | meaning |
 * |---|---|---|
 * | reusePort | false | SO_REUSEPORT |
 * @module
 */
import type { Registries } from "../../core/registries.ts";

/** Registers the `tcp` listener and dialer. */
export function register(reg: Registries): void {
  reg.listeners.register("tcp", async (opts) => new (await import("./listener.ts")).TcpListener(opts), {
    fallback: true,
    forwardHandler: "tcp",
  });
  reg.dialers.register("tcp", async (opts) => new (await import("./dialer.ts")).TcpDialer(opts), { fallback: true });
}
