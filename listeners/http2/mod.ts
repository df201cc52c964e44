/**
 * The `http2` listener and dialer (GOST's x/listener/http2, x/dialer/http2): the transport of GOST's HTTP/2 proxy
 * (`-L http2://:443`, `-F http2://proxy:443`), HTTP/2 over TLS with ALPN `h2`. The listener hands every request to
 * the `http2` handler, which answers it (handlers/http2/); a client that offers only `http/1.1` (or no ALPN) is
 * served HTTP/1.1 by the same handler, as GOST's Go server does (`curl -x https://proxy:443`). The dialer keeps one
 * HTTP/2 session per node, on which the `http2` connector opens one CONNECT stream per target. Not to be confused
 * with `h2`/`h2c`, GOST's HTTP/2 tunnel transports (listeners/h2/), whose HTTP/2 engine this reuses (docs/wire.md,
 * "HTTP/2 proxy").
 *
 * Listener:
 *
 * | key | default | meaning |
 * |---|---|---|
 * | backlog | 128 | requests waiting for the handler before new ones are refused (RST_STREAM REFUSED_STREAM) |
 * | handshakeTimeout | 10s | TLS handshake and the client's HTTP/2 preface + SETTINGS |
 * | keepalive | false | TCP keep-alive on accepted conns (the system's timings), as GOST's key |
 * | reusePort | false | SO_REUSEPORT |
 * | TLS keys | | as the `tls` listener (listeners/tls/mod.ts); ALPN `h2,http/1.1` unless `tls.alpn` is set (it must include `h2`) |
 *
 * Dialer:
 *
 * | key | default | meaning |
 * |---|---|---|
 * | keepalive | true | PING the node every `keepalive.time`; no answer for `keepalive.timeout` ends the session |
 * | keepalive.time / keepalive.timeout | 30s / 30s | PING period / answer deadline |
 * | handshakeTimeout | 10s | TLS handshake and the node's SETTINGS |
 * | dialTimeout (timeout) | 10s | TCP connect deadline |
 * | tcp.keepalive | false | TCP keep-alive on the conn (the system's timings) |
 * | TLS keys | | as the `tls` dialer (secure, serverName, caFile, …); ALPN `h2` is offered |
 *
 * Refused (ConfigError naming the key): `mptcp=true`, the listener's `keepalive.idle|interval|count` and the
 * dialer's `tcp.keepalive.idle|interval|count` (Deno sets no TCP keep-alive timings). Differences from GOST: the
 * dialer sends PINGs (GOST's sends none) and speaks HTTP/2 only (GOST's `http.Transport` falls back to HTTP/1.1 when
 * the server does not offer `h2`); the listener does not take the client IP from `X-Forwarded-For`.
 * @module
 */
import type { Registries } from "../../core/registries.ts";

/** Registers the `http2` listener and dialer. */
export function register(reg: Registries): void {
  reg.listeners.register("http2", async (opts) => new (await import("./listener.ts")).Http2Listener(opts), {
    tls: true,
  });
  reg.dialers.register("http2", async (opts) => new (await import("./dialer.ts")).Http2Dialer(opts), { tls: true });
}
