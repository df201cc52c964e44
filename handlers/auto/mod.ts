/**
 * `auto` handler: HTTP, SOCKS4/4a and SOCKS5 on one port, chosen by the first byte. It passes its metadata to all
 * three (see handlers/http/mod.ts and handlers/socks4/mod.ts, handlers/socks5/mod.ts for their keys).
 *
 * | key | default | meaning |
 * |---|---|---|
 * | readTimeout | 15s | time allowed for the first byte (and each handshake) |
 * | allowSelfTarget | false | let clients reach this process's own listeners (services, Web API, metrics); else 403 / REP 0x02 (README, Security) |
 * @module
 */
import type { Registries } from "../../core/registries.ts";

/** Registers `auto`. */
export function register(reg: Registries): void {
  reg.handlers.register("auto", async (opts) => new (await import("./handler.ts")).AutoHandler(opts), {
    fallback: true,
    openProxy: true,
  });
}
