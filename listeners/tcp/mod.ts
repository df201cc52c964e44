/**
 * `tcp` listener.
 *
 * | key | default | meaning |
 * |---|---|---|
 * | reusePort | false | SO_REUSEPORT |
 * @module
 */
import type { Registries } from "../../core/registries.ts";
import { registerDialers } from "./dialer.ts";
import { TcpListener } from "./listener.ts";

/** Registers the `tcp` listener and dialer. */
export function register(reg: Registries): void {
  reg.listeners.register("tcp", (opts) => new TcpListener(opts), { fallback: true, forwardHandler: "tcp" });
  registerDialers(reg);
}
