/**
 * Every plugin type name GOST v3 registers (GOST-REFERENCE §2). The CLI falls back (handler → auto, listener → tcp,
 * connector → http, dialer → tcp) only for names GOST does not know either; a GOST name that gost.ts does not
 * implement yet is an error that says so, never a silent fallback.
 * @module
 */

/** GOST's listener types. */
export const GOST_LISTENERS: ReadonlySet<string> = new Set([
  "tcp", "udp", "tls", "ws", "wss", "mws", "mwss", "http2", "h2", "h2c", "grpc", "quic", "kcp", "rtcp", "rudp",
  "red", "redir", "redirect", "redu", "tun", "tap", "tungo", "dns", "ssh", "sshd", "mtcp", "mtls", "pht", "phts",
  "ohttp", "otls", "ftcp", "icmp", "icmp6", "dtls", "http3", "h3", "wt", "unix", "runix", "serial", "stdio",
]);

/** GOST's handler types. */
export const GOST_HANDLERS: ReadonlySet<string> = new Set([
  "auto", "http", "socks4", "socks4a", "socks5", "socks", "relay", "tcp", "udp", "forward", "rtcp", "rudp", "runix",
  "sni", "ss", "ssu", "tunnel", "dns", "red", "redir", "redirect", "redu", "tun", "tap", "tungo", "http2", "http3",
  "masque", "sshd", "router", "unix", "serial", "file", "api", "metrics",
]);

/** GOST's connector types. */
export const GOST_CONNECTORS: ReadonlySet<string> = new Set([
  "http", "http2", "socks4", "socks4a", "socks5", "socks", "relay", "ss", "ssu", "sni", "forward", "tcp", "direct",
  "virtual", "tunnel", "sshd", "router", "masque", "unix", "serial",
]);

/** GOST's dialer types. */
export const GOST_DIALERS: ReadonlySet<string> = new Set([
  "direct", "virtual", "tcp", "udp", "tls", "ws", "wss", "mws", "mwss", "http2", "h2", "h2c", "grpc", "quic", "kcp",
  "mtcp", "mtls", "pht", "phts", "ohttp", "otls", "ftcp", "icmp", "icmp6", "dtls", "ssh", "sshd", "h3", "wt",
  "h3-masque", "utls", "unix", "serial", "wg",
]);
