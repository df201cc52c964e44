/**
 * `tcp` listener.
 *
 * | key | default | meaning |
 * |---|---|---|
 * | reusePort | false | SO_REUSEPORT |
 * @module
 */
import type { Registries } from "../../core/registries.ts";
import { TcpListener } from "./listener.ts";

/** Registers `tcp`. */
export function register(reg: Registries): void {
  reg.listeners.register("tcp", (opts) => new TcpListener(opts));
}
