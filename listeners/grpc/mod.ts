/**
 * `grpc` transport (GOST's x/listener/grpc, x/dialer/grpc): each client conn is one call of GOST's bidirectional
 * streaming method `/GostTunel/Tunnel` (messages `Chunk { bytes data = 1; }` in gRPC's length-prefixed framing), on
 * the one HTTP/2 connection the chain keeps to the node, so it passes gRPC-capable proxies and CDNs
 * (`-L relay+grpc://:443`, `-F relay+grpc://host:443`; docs/wire.md, "gRPC"). The framing is gost.ts's own over its
 * HTTP/2 engine (listeners/h2/), not @grpc/grpc-js: that runs on `node:http2`, several times slower for bulk bytes
 * under Deno (docs/benchmarks.md).
 *
 * | key | default | meaning |
 * |---|---|---|
 * | grpc.insecure (grpcInsecure, insecure) | false | cleartext HTTP/2 (prior knowledge) instead of TLS; both ends must agree |
 * | grpc.path (path) | `/GostTunel/Tunnel` | the method: `/svc/method` (further `/` become `-`), or `svc` for `/svc/Tunnel` |
 * | grpc.backlog (backlog) | 128 | listener: calls waiting for the handler before new ones are refused |
 * | grpc.authority (grpc.host, host) | the node's host | dialer: `:authority`, port stripped, as GOST |
 * | grpc.keepalive (keepalive, keepAlive) | false | PING after `time` without any frame; no frame for `timeout` after it ends the session |
 * | grpc.keepalive.time (keepalive.time) | dialer 30s, listener 60s | quiet time before a PING |
 * | grpc.keepalive.timeout (keepalive.timeout) | 30s | answer deadline |
 * | grpc.keepalive.permitWithoutStream | false | dialer: PING while no call is open; listener: allow the client's PINGs then (at `minTime`) |
 * | grpc.keepalive.minTime (keepalive.minTime) | 30s | listener (with keepalive): client PINGs closer than this with no data between are strikes; a third ends the session with GOAWAY `too_many_pings`, as grpc-go |
 * | grpc.keepalive.maxConnectionIdle | none | listener (with keepalive): GOAWAY once no call was open for this long |
 * | grpc.minConnectTimeout (minConnectTimeout) | 30s | dialer: TCP (and TLS) connect deadline of the session's conn |
 * | tcp.keepalive | false | TCP keep-alive on the conns (the system's timings) |
 * | handshakeTimeout | 10s | TLS handshake, the peer's HTTP/2 preface + SETTINGS |
 * | TLS keys | | as the `tls` listener/dialer (listeners/tls/mod.ts); ALPN `h2` |
 *
 * Refused (ConfigError naming the key): `mptcp=true`, `tcp.keepalive.idle|interval|count`. Differences from GOST:
 * the listener's ping policy and idle limit act only with `grpc.keepalive` (grpc-go polices pings always, with a
 * five-minute minimum); messages are at most 4 MiB (grpc-go's default) and writes are split at 1 MiB; the dialer sends
 * one PING after the handshake for a first round-trip figure; no reconnect backoff (the chain opens a new session on
 * the next dial); the client IP of `X-Forwarded-For`/`CF-Connecting-IP` metadata is not taken as the source.
 * @module
 */
import type { Registries } from "../../core/registries.ts";

/** Registers the `grpc` listener and dialer. */
export function register(reg: Registries): void {
  reg.listeners.register("grpc", async (opts) => new (await import("./listener.ts")).GrpcListener(opts), { tls: true });
  reg.dialers.register("grpc", async (opts) => new (await import("./dialer.ts")).GrpcDialer(opts), { tls: true });
}
