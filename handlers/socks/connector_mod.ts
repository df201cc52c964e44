/**
 * SOCKS connectors (client side, what a chain node uses to ask a SOCKS server to connect onward): `socks4`,
 * `socks4a` (SOCKS4/4a CONNECT) and `socks5`, `socks` (SOCKS5 CONNECT, UDP ASSOCIATE, GOST's UDP-tun, RFC 1929
 * auth, GOST's TLS methods 0x80/0x82). Credentials come from the node's auth (`socks5://user:pass@host:port`).
 *
 * | key | connectors | default | meaning |
 * |---|---|---|---|
 * | `connectTimeout` (`timeout`) | all | `10s` | deadline of the whole handshake, greeting to reply; `0` = none |
 * | `notls` | socks5 | `false` | do not offer the TLS methods 0x80/0x82 |
 * | `relay` | socks5 | `udp` | UDP transport: `udp` = standard UDP ASSOCIATE, `tcp` = GOST's UDP-tun (CMD 0xF3) on the stream |
 * | `disable4a` | socks4a | `false` | resolve host names locally and send plain SOCKS4 |
 *
 * Differences from GOST, on purpose:
 * - UDP defaults to standard ASSOCIATE, which third-party servers (dante, …) speak; GOST's client defaults to its
 *   UDP-tun, which only GOST servers speak. Set `relay=tcp` to talk UDP to a GOST server the way GOST does, and
 *   always when the SOCKS5 node is not the first hop (ASSOCIATE sends datagrams straight to the relay address, which
 *   a chain cannot carry).
 * - `socks4` resolves host names locally and sends SOCKS4 (as curl's `--socks4`); `socks4a` sends them to the
 *   server. GOST registers one connector under both names that always sends SOCKS4a unless `disable4a`.
 * - IP targets on socks4/socks4a go as plain SOCKS4 (GOST sends every target as SOCKS4a).
 * - Any failure closes the conn the connector was given, and errors say what failed: `AuthError` (credentials or
 *   every method refused), `DialError` naming the target and the reply code, `HandshakeError` (malformed answer),
 *   `TimeoutError` (`connectTimeout`).
 *
 * Remote port forwarding through a SOCKS node (`bind()`, used by `rtcp`/`rudp`): GOST's MBIND (0xF2) with smux
 * for TCP and the UDP-tun bind mode (0xF3, port ≠ 0) for UDP, as GOST's connector does (connector_bind.ts). Plain
 * BIND (0x02, one peer) is not offered: GOST's rtcp always asks for the multiplexed bind.
 * @module
 */
import type { ConnectorFactory } from "../../core/plugin.ts";
import type { Registries } from "../../core/registries.ts";
import { Socks4Connector } from "./connector_v4.ts";
import { Socks5Connector } from "./connector_v5.ts";

export { Socks4Connector } from "./connector_v4.ts";
export { Socks5Connector } from "./connector_v5.ts";

/** Registers the connector types `socks4`, `socks4a`, `socks5` and `socks`. */
export function registerConnectors(reg: Registries): void {
  const v5: ConnectorFactory = (opts) => new Socks5Connector(opts);
  reg.connectors.register("socks4", (opts) => new Socks4Connector(opts, "socks4"));
  reg.connectors.register("socks4a", (opts) => new Socks4Connector(opts, "socks4a"));
  reg.connectors.register("socks5", v5);
  reg.connectors.register("socks", v5);
}
