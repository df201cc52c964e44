/**
 * SOCKS handlers: `socks4`, `socks4a` (SOCKS4/4a CONNECT) and `socks5`, `socks` (SOCKS5 CONNECT, BIND, UDP
 * ASSOCIATE with RFC 1929 auth; GOST's MBIND 0xF2 for `rtcp` and UDP-tun 0xF3, relay mode and bind mode for `rudp`).
 *
 * | key | default | meaning |
 * |---|---|---|
 * | `readTimeout` | `15s` | deadline of the whole handshake (greeting, auth, request); `0` = none |
 * | `bind` | `false` | allow SOCKS5 BIND, MBIND and UDP-tun bind mode (else REP 0x02) |
 * | `udp` | `false` | allow SOCKS5 UDP ASSOCIATE and UDP-tun relay mode (else REP 0x02) |
 * | `comp` | `false` | MBIND: no SOCKS5 reply at the start of each stream (GOST v2 clients) |
 * | `mux.version`, `mux.keepaliveInterval`, … | smux defaults | MBIND session settings (core/mux/config.ts) |
 * | `udpBufferSize` (`udp.bufferSize`) | `65535` | UDP receive buffer, clamped to [512, 65535] (GOST: 4096) |
 * | `notls` | `false` | accepted for GOST compatibility; the TLS methods 0x80/0x82 are not implemented yet |
 * | `allowSelfTarget` | `false` | service or handler metadata: let clients reach this process's own listeners (services, Web API, metrics); else 403 / REP 0x02 / Forbidden (README, Security) |
 *
 * Differences from GOST, on purpose:
 * - SOCKS4 with an authenticator checks the USERID as a username with an empty password; the built-in
 *   authenticators never accept empty passwords, so SOCKS4 with auth configured refuses every client (0x5D).
 * - SOCKS4 BIND is answered with 0x5B (GOST closes without a reply).
 * - SOCKS5 CONNECT dial failures answer 0x05 (refused) or 0x04 (name not resolved, no route, timeout) when the
 *   cause is known, else GOST's 0x03.
 * - UDP-tun relay mode sends each destination through the router (chains and bypass apply, as for ASSOCIATE);
 *   GOST sends from one local socket.
 * @module
 */
import type { HandlerFactory } from "../../core/plugin.ts";
import type { Registries } from "../../core/registries.ts";
import { registerConnectors } from "./connector_mod.ts";
import { Socks4Handler } from "./v4.ts";
import { Socks5Handler } from "./v5/handler.ts";

export { Socks4Handler } from "./v4.ts";
export { Socks5Handler } from "./v5/handler.ts";

/** Registers the handlers and connectors `socks4`, `socks4a`, `socks5` and `socks`. */
export function register(reg: Registries): void {
  registerConnectors(reg);
  const v4: HandlerFactory = (opts) => new Socks4Handler(opts);
  const v5: HandlerFactory = (opts) => new Socks5Handler(opts);
  reg.handlers.register("socks4", v4);
  reg.handlers.register("socks4a", v4);
  reg.handlers.register("socks5", v5);
  reg.handlers.register("socks", v5);
}
