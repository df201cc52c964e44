/**
 * SOCKS5, server side (handlers `socks5`, `socks`): CONNECT, BIND, UDP ASSOCIATE with RFC 1929 auth; GOST's MBIND
 * 0xF2 for `rtcp` and UDP-tun 0xF3, relay mode and bind mode for `rudp`. Client side (connectors `socks5`, `socks`,
 * what a chain node uses to ask a SOCKS5 server to connect onward): CONNECT, UDP ASSOCIATE, GOST's UDP-tun, RFC 1929
 * auth, GOST's TLS methods 0x80/0x82. Credentials come from the node's auth (`socks5://user:pass@host:port`).
 *
 * Handler options:
 *
 * | key | default | meaning |
 * |---|---|---|
 * | `readTimeout` | `15s` | deadline of the whole handshake (greeting, TLS, auth, request); `0` = none (TLS: 10s) |
 * | `bind` | `false` | allow SOCKS5 BIND, MBIND and UDP-tun bind mode (else REP 0x02) |
 * | `udp` | `false` | allow SOCKS5 UDP ASSOCIATE and UDP-tun relay mode (else REP 0x02) |
 * | `comp` | `false` | MBIND: no SOCKS5 reply at the start of each stream (GOST v2 clients) |
 * | `mux.version`, `mux.keepaliveInterval`, … | smux defaults | MBIND session settings (core/mux/config.ts) |
 * | `udpBufferSize` (`udp.bufferSize`) | `65535` | UDP receive buffer, clamped to [512, 65535] (GOST: 4096) |
 * | `notls` | `false` | never select GOST's TLS methods 0x80/0x82 (else picked when offered: TLS, then auth inside it) |
 * | `certFile`/`keyFile` (`cert`/`key`), `caFile` | `cert.pem`+`key.pem`, else self-signed | certificate of the TLS methods; `caFile` = mTLS |
 * | `allowSelfTarget` | `false` | service or handler metadata: let clients reach this process's own listeners (services, Web API, metrics); else REP 0x02 (README, Security) |
 *
 * Connector options:
 *
 * | key | default | meaning |
 * |---|---|---|
 * | `connectTimeout` (`timeout`) | `10s` | deadline of the whole handshake, greeting to reply; `0` = none |
 * | `notls` | `false` | do not offer the TLS methods 0x80/0x82 |
 * | `relay` | `udp` | UDP transport: `udp` = standard UDP ASSOCIATE, `tcp` = GOST's UDP-tun (CMD 0xF3) on the stream |
 *
 * Differences from GOST, on purpose:
 * - CONNECT dial failures answer 0x05 (refused) or 0x04 (name not resolved, no route, timeout) when the cause is
 *   known, else GOST's 0x03.
 * - UDP-tun relay mode sends each destination through the router (chains and bypass apply, as for ASSOCIATE);
 *   GOST sends from one local socket.
 * - The connector's UDP defaults to standard ASSOCIATE, which third-party servers (dante, …) speak; GOST's client
 *   defaults to its UDP-tun, which only GOST servers speak. Set `relay=tcp` to talk UDP to a GOST server the way GOST
 *   does, and always when the SOCKS5 node is not the first hop (ASSOCIATE sends datagrams straight to the relay
 *   address, which a chain cannot carry).
 * - Any connector failure closes the conn it was given, and errors say what failed: `AuthError` (credentials or
 *   every method refused), `DialError` naming the target and the reply code, `HandshakeError` (malformed answer),
 *   `TimeoutError` (`connectTimeout`).
 *
 * Remote port forwarding through a SOCKS5 node (`bind()`, used by `rtcp`/`rudp`): GOST's MBIND (0xF2) with smux
 * for TCP and the UDP-tun bind mode (0xF3, port ≠ 0) for UDP, as GOST's connector does (bind_connector.ts). Plain
 * BIND (0x02, one peer) is not offered: GOST's rtcp always asks for the multiplexed bind.
 * @module
 */
import type { ConnectorFactory, HandlerFactory } from "../../core/contracts.ts";
import type { Registries } from "../../core/registries.ts";

/** Registers the handler and connector types `socks5` and `socks`. */
export function register(reg: Registries): void {
  const handler: HandlerFactory = async (opts) => new (await import("./handler.ts")).Socks5Handler(opts);
  const connector: ConnectorFactory = async (opts) => new (await import("./connector.ts")).Socks5Connector(opts);
  for (const name of ["socks5", "socks"]) {
    reg.handlers.register(name, handler, { openProxy: true });
    reg.connectors.register(name, connector);
  }
}
