/**
 * Shadowsocks over UDP (handler and connector `ssu`; TCP is handlers/ss/), with the AEAD methods of handlers/ss/
 * and the 2022 methods (SIP022 UDP, handlers/ssu/ss2022.ts: per packet only, on a udp listener or a first hop; UDP
 * over a TCP session with them is refused: the connector fails the dial, the handler closes the conn with a line).
 * `-L ssu://METHOD:PASSWORD@:8338` serves a udp listener, `-F ssu://METHOD:PASSWORD@host:8338` dials one (GOST's CLI
 * defaults); a `ssu` node after another hop, or an `ssu` handler on a stream listener, carries UDP over a
 * Shadowsocks TCP session as GOST does (UDP-tun frames). The bytes are in docs/wire.md, "Shadowsocks".
 *
 * Handler options:
 *
 * | key | default | meaning |
 * |---|---|---|
 * | `udpBufferSize` (`udp.bufferSize`) | `65535` | the receive buffer of the association towards the targets, clamped to [512, 65535] (GOST: 4096) |
 * | `readTimeout` | `15s` | UDP over TCP: the handshake deadline, as the ss handler's (GOST parses it for ssu and does not use it) |
 *
 * Sessions on a udp listener end with the listener's `ttl` (60s without traffic). Connector options: `timeout`
 * (`connectTimeout`, `10s`): UDP over TCP, the deadline of sending the salt and address.
 *
 * Refused, naming the key: `key`, `users` (handler), `udpBufferSize` (connector: GOST reads it and never uses it).
 *
 * Differences from GOST, on purpose:
 * - A packet that does not open (wrong key, garbage) or whose salt was seen before is dropped without a reply and
 *   counted (the handler's `dropped` and `replays`); a replay is logged, one line each. With the 2022 methods a
 *   replay is a packet id seen before in its session (a sliding window of 2,048 ids), and a timestamp more than
 *   30 s off is dropped too. The association towards
 *   the targets opens at a session's first packet that opens, so garbage opens no sockets.
 * - Every destination passes the router's rules per packet (bypass, hosts, this process's own endpoints).
 * @module
 */
import type { ConnectorFactory, HandlerFactory } from "../../core/contracts.ts";
import type { Registries } from "../../core/registries.ts";

/** Registers the handler and connector type `ssu`. */
export function register(reg: Registries): void {
  const handler: HandlerFactory = async (opts) => new (await import("./handler.ts")).SsuHandler(opts);
  const connector: ConnectorFactory = async (opts) => new (await import("./connector.ts")).SsuConnector(opts);
  reg.handlers.register("ssu", handler, { openProxy: true, base64UserInfo: true, defaultListener: "udp" });
  reg.connectors.register("ssu", connector, { base64UserInfo: true, defaultDialer: "udp" });
}
