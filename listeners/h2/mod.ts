/**
 * `h2` and `h2c` transports (GOST's x/listener/http2/h2 and x/dialer/http2/h2): HTTP/2 over TLS (ALPN `h2`) and
 * HTTP/2 cleartext with prior knowledge. The chain keeps one HTTP/2 connection per node; every client conn is one
 * stream on it, a `CONNECT` (or a `GET` of `path`) whose request body carries the client's bytes and whose response
 * body the node's (`-L relay+h2://:443`, `-F relay+h2://host:443`; docs/wire.md, "HTTP/2 (h2, h2c)"). The HTTP/2
 * engine (frames, HPACK, flow control, PING) is this folder's own, not `node:http2`: it moves bulk bytes about four
 * times faster under Deno (docs/benchmarks.md).
 *
 * Listener:
 *
 * | key | default | meaning |
 * |---|---|---|
 * | path | none | the request path a tunnel must use (`GET`); none: only `CONNECT` (else 405); a wrong path is 400 |
 * | backlog | 128 | tunnels waiting for the handler before new ones are refused (RST_STREAM REFUSED_STREAM) |
 * | handshakeTimeout | 10s | TLS handshake (h2) and the client's HTTP/2 preface + SETTINGS |
 * | keepalive | false | PING the client every `keepalive.time`; no answer for `keepalive.timeout` ends its session |
 * | keepalive.time / keepalive.timeout | 30s / 30s | PING period / answer deadline |
 * | tcp.keepalive | false | TCP keep-alive on accepted conns (the system's timings) |
 * | reusePort | false | SO_REUSEPORT |
 * | TLS keys (h2) | | as the `tls` listener (listeners/tls/mod.ts); `tls.alpn`, when set, must include `h2` |
 *
 * Dialer:
 *
 * | key | default | meaning |
 * |---|---|---|
 * | host | the node's address | the request's `:authority` |
 * | path | none | send `GET path` instead of `CONNECT` (the listener's `path`) |
 * | header | none | extra request headers (a map; names are sent in lower case) |
 * | keepalive | true | PING the node every `keepalive.time`; no answer for `keepalive.timeout` ends the session, its streams fail and the next dial opens a new one |
 * | keepalive.time / keepalive.timeout | 30s / 30s | PING period / answer deadline |
 * | handshakeTimeout | 10s | TLS handshake, the node's SETTINGS, and the node's answer to each tunnel request |
 * | dialTimeout (timeout) | 10s | TCP connect deadline |
 * | tcp.keepalive | false | TCP keep-alive on the conn (the system's timings) |
 * | TLS keys (h2) | | as the `tls` dialer (secure, serverName, caFile, …); ALPN `h2` is offered |
 *
 * Refused (ConfigError naming the key): `mptcp=true`, `tcp.keepalive.idle|interval|count` (Deno sets no TCP
 * keep-alive timings). Differences from GOST: no HTTP/1.1 fallback (GOST's server answers HTTP/1.1 and the h2c
 * `Upgrade` too; gost.ts speaks HTTP/2 only, so a client must use ALPN h2 or prior knowledge), the client IP of
 * `X-Forwarded-For`/`CF-Connecting-IP` is not taken as the source, the dialer sends PINGs (GOST's sends none) and
 * waits for at most `handshakeTimeout` for each tunnel's answer.
 * @module
 */
import type { Registries } from "../../core/registries.ts";

/** Registers the `h2` listener and dialer (HTTP/2 over TLS). */
export function register(reg: Registries): void {
  reg.listeners.register("h2", async (opts) => new (await import("./listener.ts")).H2Listener(opts, true), {
    tls: true,
  });
  reg.dialers.register("h2", async (opts) => new (await import("./dialer.ts")).H2Dialer(opts, true), { tls: true });
}

/** Registers the `h2c` listener and dialer (HTTP/2 cleartext, prior knowledge). */
export function registerH2c(reg: Registries): void {
  reg.listeners.register("h2c", async (opts) => new (await import("./listener.ts")).H2Listener(opts, false));
  reg.dialers.register("h2c", async (opts) => new (await import("./dialer.ts")).H2Dialer(opts, false));
}
