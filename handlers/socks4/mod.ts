/**
 * SOCKS4 and SOCKS4a, server side (handlers `socks4`, `socks4a`: CONNECT) and client side (connectors `socks4`,
 * `socks4a`). The handler reads its options with the SOCKS5 handler's parser (`readTimeout`, `allowSelfTarget`;
 * handlers/socks5/mod.ts), the connector `connectTimeout` (`timeout`, default `10s`) and, on `socks4a`,
 * `disable4a` (resolve host names locally and send plain SOCKS4).
 *
 * Differences from GOST, on purpose:
 * - With an authenticator the USERID is checked as a username with an empty password; the built-in authenticators
 *   never accept empty passwords, so SOCKS4 with auth configured refuses every client (0x5D).
 * - BIND is answered with 0x5B (GOST closes without a reply).
 * - The `socks4` connector resolves host names locally and sends SOCKS4 (as curl's `--socks4`); `socks4a` sends them
 *   to the server. GOST registers one connector under both names that always sends SOCKS4a unless `disable4a`.
 * - IP targets go as plain SOCKS4 (GOST sends every target as SOCKS4a).
 * @module
 */
import type { ConnectorFactory, HandlerFactory } from "../../core/contracts.ts";
import type { Registries } from "../../core/registries.ts";

/** Registers the handler and connector types `socks4` and `socks4a`. */
export function register(reg: Registries): void {
  const handler: HandlerFactory = async (opts) => new (await import("./handler.ts")).Socks4Handler(opts);
  const connector = (version: "socks4" | "socks4a"): ConnectorFactory => async (opts) =>
    new (await import("./connector.ts")).Socks4Connector(opts, version);
  reg.handlers.register("socks4", handler, { openProxy: true });
  reg.handlers.register("socks4a", handler, { openProxy: true });
  reg.connectors.register("socks4", connector("socks4"));
  reg.connectors.register("socks4a", connector("socks4a"));
}
