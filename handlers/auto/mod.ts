/**
 * `auto` handler: HTTP, SOCKS4/4a and SOCKS5 on one port, chosen by the first byte. It passes its metadata to all
 * three (see handlers/http/mod.ts and handlers/socks/mod.ts for their keys).
 *
 * | key | default | meaning |
 * |---|---|---|
 * | readTimeout | 15s | time allowed for the first byte (and each handshake) |
 * @module
 */
import type { Registries } from "../../core/registries.ts";
import { AutoHandler } from "./handler.ts";

/** Registers `auto`. */
export function register(reg: Registries): void {
  reg.handlers.register("auto", (opts) => new AutoHandler(opts));
}
