/**
 * `tls` transport: the listener (server) and the dialer (client). Both run `node:tls` over TCP conns with
 * TCP_NODELAY; the dialer also wraps TLS around any conn a chain has opened (`handshake`).
 *
 * Listener (`-L tls://:443`, `-L http+tls://…`; `tls:` block of the listener, else these metadata keys):
 *
 * | key | default | meaning |
 * |---|---|---|
 * | certFile (cert, tls.certFile) | `cert.pem` in the working directory if it and `key.pem` exist, else a self-signed certificate (CN `gost.run`, 1 year, generated once per process) | server certificate chain, PEM |
 * | keyFile (key, tls.keyFile) | with certFile | private key, PEM |
 * | caFile (ca, tls.caFile) | none | require client certificates signed by these CAs (mTLS) |
 * | options.minVersion (tls.minVersion) | runtime default (TLS 1.2) | `VersionTLS12` or `VersionTLS13` |
 * | options.maxVersion (tls.maxVersion) | runtime default (TLS 1.3) | `VersionTLS12` or `VersionTLS13` |
 * | options.alpn (tls.alpn) | none | ALPN protocols accepted, server's preference first |
 * | options.cipherSuites (tls.cipherSuites) | — | refused: the runtime's TLS has no cipher suite setting |
 * | commonName, organization, validity (`tls:` block) | `gost.run`, none, 1 year | a self-signed certificate for this listener (not with certFile) |
 * | handshakeTimeout | 10s | a client that has not finished the handshake by then is dropped |
 * | reusePort | false | SO_REUSEPORT |
 *
 * Dialer (`-F tls://host:443`, `-F relay+tls://…`; `tls:` block of the node's dialer, else these metadata keys):
 *
 * | key | default | meaning |
 * |---|---|---|
 * | secure (tls.secure) | false | verify the server certificate (GOST's default skips verification) |
 * | serverName (tls.servername) | the node's host | SNI (host names only) and the name verified |
 * | caFile (ca, tls.caFile) | system roots | CAs trusted when `secure` |
 * | certFile / keyFile (cert, key) | none | client certificate for mTLS |
 * | options.minVersion / options.maxVersion / options.alpn (tls.minVersion, …) | runtime defaults | as the listener; alpn = protocols offered |
 * | handshakeTimeout | 10s | TLS handshake deadline |
 * | dialTimeout (timeout) | 10s | TCP connect deadline of `dial` |
 * @module
 */
import type { Registries } from "../../core/registries.ts";

/** Registers the `tls` listener and the `tls` dialer. */
export function register(reg: Registries): void {
  reg.listeners.register("tls", async (opts) => new (await import("./listener.ts")).TlsListener(opts), { tls: true });
  reg.dialers.register("tls", async (opts) => new (await import("./dialer.ts")).TlsDialer(opts), { tls: true });
}
