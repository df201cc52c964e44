/**
 * The `http` handler: an HTTP/1.x proxy serving CONNECT tunnels and absolute-URI requests (with keep-alive and
 * upstream conn reuse), with Basic proxy authentication when `auth`/`authers` are set.
 *
 * | key | default | meaning |
 * |---|---|---|
 * | `readTimeout` | `15s` | bound on reading each request head, and on the idle wait for the next one |
 * | `authBasicRealm` (`realm`) | `gost` | realm of `Proxy-Authenticate` in 407 replies |
 * | `proxyAgent` (`http.proxyAgent`) | `gost/3.0` | `Proxy-Agent` header of the proxy's own replies |
 * | `header` (`http.header`) | none | map of extra headers added to the proxy's own replies |
 * | `maxHeaderBytes` (`http.maxHeaderBytes`) | `65536` | cap on one head (lines are capped at 16 KiB); over it: 431 |
 * | `upstreamKeepAlive` | `true` | keep idle upstream conns of absolute-URI requests for the same client's next conns (see pool.ts) |
 * | `upstreamShared` | `false` | give kept upstream conns to any client, not only the same user or client IP: risks response-queue poisoning (a response an origin sends unasked goes to another client) |
 * | `upstreamIdleTimeout` | `30s` | how long a kept upstream conn waits for the next request |
 * | `upstreamMaxIdle` | `64` | idle upstream conns kept per target (0: none; 1,024 in all at most) |
 * | `allowSelfTarget` | `false` | service or handler metadata: let clients reach this process's own listeners (services, Web API, metrics); else 403 / REP 0x02 / Forbidden (README, Security) |
 * | `probeResistance` (`probeResist`, `probe_resist`) | none | needs auth: a client that fails it gets a decoy instead of the 407: `code:404`, `web:example.com/page.html`, `host:127.0.0.1:8080`, `file:/path/index.html` (probe.ts, decoy.ts) |
 * | `knock` | none | with `probeResistance`: comma-separated hosts whose requests still get the 407 |
 *
 * Refused at start, naming the key (handlers/http/metadata.ts): `udp=true` (UDP over HTTP), `sniffing`.
 *
 * The `http` connector (a chain node speaking to an HTTP proxy) sends `CONNECT host:port`:
 *
 * | key | default | meaning |
 * |---|---|---|
 * | `connectTimeout` (`timeout`) | `10s` | bound on the CONNECT exchange |
 * | `header` | none | map of extra request headers |
 * @module
 */
import type { Registries } from "../../core/registries.ts";

/** Registers the `http` handler and connector. */
export function register(reg: Registries): void {
  reg.handlers.register("http", async (opts) => new (await import("./handler.ts")).HttpHandler(opts), {
    openProxy: true,
  });
  reg.connectors.register("http", async (opts) => new (await import("./connector.ts")).HttpConnector(opts), {
    fallback: true,
  });
}
