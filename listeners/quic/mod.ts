/**
 * `quic` transport (GOST's x/listener/quic and x/dialer/quic) on Deno's QUIC (`Deno.QuicEndpoint`,
 * `Deno.connectQuic`, quinn + rustls inside, `--unstable-net`). Every client conn is one bidirectional stream of the
 * QUIC connection the chain keeps to the node (`-L relay+quic://:8443`, `-F relay+quic://host:8443`; `-L quic://:8443`
 * serves the default handler). A stream's half-close is its FIN. Wire layout: docs/wire.md, "QUIC".
 *
 * | key | default | meaning |
 * |---|---|---|
 * | keepAlive | true | send QUIC PINGs when idle (GOST: on unless set false) |
 * | ttl | 10s | the PING interval |
 * | maxIdleTimeout | 90s | the connection ends when nothing arrived for this long (the lower of both ends wins); the dialer's session then ends, its streams fail and the next dial opens a new one |
 * | handshakeTimeout | 5s | QUIC + TLS handshake deadline (quic-go's default); GOST's is an idle timeout during the handshake, this one a deadline for all of it |
 * | maxStreams | 100 | bidirectional streams the peer may have open at once (QUIC stream credit; negative: none). On the listener: the cap per client connection; a dial past the node's cap waits for a stream to end, at most 30 s and the dial's timeout (a dial that times out there ends the session, as GOST's) |
 * | backlog | 128 | listener: streams waiting for the handler; one that finds the queue full is closed with a warning |
 * | enableDatagram (quic.enableDatagram) | false | read, no effect: quinn always advertises QUIC datagram support and no conn of gost.ts (nor of GOST) sends datagrams |
 * | cipherKey | — | refused (ConfigError): Deno's QUIC endpoint owns its UDP socket, there is no packet path to encrypt |
 *
 * TLS (the `tls:` block, or the metadata keys of listeners/tls/options.ts):
 * - listener: `certFile`/`keyFile`, else `cert.pem`/`key.pem` in the working directory, else the built-in
 *   certificate (./builtin_cert.ts), not a self-signed one made at start as GOST; `caFile` (client certificates) is
 *   refused: Deno's QUIC server cannot request them. `options.alpn` (default `h3`, `quic/v1`, as GOST);
 *   `maxVersion: VersionTLS12` is refused (QUIC is TLS 1.3 only).
 * - dialer: `secure`, `serverName` (default the node's host), `caFile`, `certFile`/`keyFile` (sent when the server
 *   asks, as a GOST server with mTLS does), `options.alpn`. Deno's QUIC client always verifies the server: with
 *   GOST's default `secure=false` it accepts the built-in certificate (pinned by its SHA-256) or one valid under the
 *   system roots, not any certificate as GOST does; a server with another self-signed certificate needs its `caFile`.
 *
 * What Deno 2.9's QUIC lacks, and what follows:
 * - a custom packet path (the endpoint binds its own UDP socket): no `cipherKey`; the node must be the first of its
 *   chain (GOST sends QUIC as UDP through earlier hops); the listener's packets skip the service's admission and
 *   limiter wrappers GOST puts around its PacketConn (its stream conns still pass the service's).
 * - skipping certificate verification per connection (only the process-wide `--unsafely-ignore-certificate-errors`
 *   flag): see the certificates above.
 * - client certificates on the server, RESET_STREAM (a closed stream ends with a FIN), connection statistics (no RTT:
 *   `GET /sessions` shows `keepaliveRttMs: null`, stream payload bytes, the last stream data received), flow-control
 *   windows (quinn's defaults: 1.25 MB per stream), QUIC version 2 (quinn speaks version 1; GOST offers 1 and 2 and
 *   agrees on 1).
 * - a usable `QuicIncoming`: reading its `remoteAddr` consumes it (the connection is then refused), so a failed
 *   handshake is logged without the client's address, and one past `handshakeTimeout` cannot be aborted (quinn drops
 *   it at the idle timeout; at most 1,024 handshakes run at once, more are refused).
 * @module
 */
import type { Registries } from "../../core/registries.ts";

/** Registers the `quic` listener and dialer. */
export function register(reg: Registries): void {
  reg.listeners.register("quic", async (opts) => new (await import("./listener.ts")).QuicListener(opts), {
    tls: true,
  });
  reg.dialers.register("quic", async (opts) => new (await import("./dialer.ts")).QuicDialer(opts), { tls: true });
}
