/**
 * The `http2` handler and connector (GOST's x/handler/http2, x/connector/http2): an HTTP/2 proxy. The handler
 * serves the requests of the `http2` listener (HTTP/2 over TLS, listeners/http2/): `CONNECT host:port` streams are
 * tunnels (200, then DATA both ways), any other request is forwarded to its `:authority` as HTTP/1.1 and its answer
 * streamed back; Basic `proxy-authorization` is checked when the service has auth (`-L http2://user:pass@:443`).
 * The listener's HTTP/1.1 clients (no ALPN `h2`) are served by the `http` handler's code with the same auth, realm
 * and headers. The connector (`-L http://:8080 -F http2://proxy:443`) opens one CONNECT stream per target on the
 * session the `http2` dialer keeps to the node (docs/wire.md, "HTTP/2 proxy").
 *
 * Handler:
 *
 * | key | default | meaning |
 * |---|---|---|
 * | `authBasicRealm` (`realm`) | `gost` | realm of `proxy-authenticate` in 407 answers |
 * | `header` (`http.header`) | none | map of headers added to every answer after authentication (names lower-cased) |
 * | `readTimeout` (`read.timeout`) | none | GOST's idle bound on a tunnel: a direction silent this long ends it |
 *
 * Answers: 407 (authentication), 400 (no usable `:authority`), 403 (bypassed), 503 (the target cannot be reached, or
 * its answer to a forwarded request cannot be read), as GOST. A forwarded request goes with `Connection: close` on a
 * conn of its own, its body with its Content-Length or chunked, and the answer's body decoded into DATA.
 *
 * Connector:
 *
 * | key | default | meaning |
 * |---|---|---|
 * | `timeout` (`connectTimeout`) | `10s` | bound on the proxy's answer to CONNECT (GOST: none) |
 * | `header` | none | map of extra request headers (names lower-cased) |
 *
 * Refused (ConfigError naming the key): GOST's `probeResist`/`probe_resist` and `knock` (probe resistance), `hash`,
 * connection-specific headers in `header`. Differences from GOST: a plain request's target without a port is port
 * 80 for `:scheme http` (GOST takes 443 on its TLS listener whatever the scheme); a 101 from the target is a 503
 * (HTTP/2 has no upgrade); the connector bounds the CONNECT exchange (GOST waits without a limit); `Gost-Target` is
 * taken only when it decodes to a host name (GOST takes any decoded string).
 * @module
 */
import type { Registries } from "../../core/registries.ts";

/** Registers the `http2` handler and connector. */
export function register(reg: Registries): void {
  reg.handlers.register("http2", async (opts) => new (await import("./handler.ts")).Http2Handler(opts), {
    openProxy: true,
    defaultListener: "http2",
  });
  reg.connectors.register("http2", async (opts) => new (await import("./connector.ts")).Http2Connector(opts), {
    defaultDialer: "http2",
  });
}
