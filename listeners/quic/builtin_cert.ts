/**
 * The built-in QUIC certificate: the certificate a `quic` listener serves when none is configured, and the one a
 * `quic` dialer with GOST's default `secure=false` trusts without a CA. Its private key is public on purpose — it is
 * in this file. Why: Deno's QUIC client always verifies the server's certificate (there is no per-connection way to
 * skip verification, which GOST's default is), but it can pin a certificate by its SHA-256 (the WebTransport
 * `serverCertificateHashes` verifier, which checks neither name nor dates). A gost.ts server with its default
 * certificate and a gost.ts client with its default settings therefore meet on this pair. It authenticates nothing,
 * exactly as GOST's default (a self-signed certificate made at start, and clients that skip verification) does not:
 * anyone may present it, so configure `certFile`/`keyFile` on the server and `secure=true` or `caFile` on the
 * client when the server must be authenticated. TLS 1.3's ephemeral key exchange keeps a passive observer out
 * either way (docs/wire.md, "QUIC").
 *
 * ECDSA P-256, CN `gost.run`, made by listeners/tls/cert.ts, valid for 100 years.
 * @module
 */

/** The built-in certificate, PEM. */
export const BUILTIN_QUIC_CERT = `-----BEGIN CERTIFICATE-----
MIIB9zCCAZygAwIBAgIQVM8eePWoQIdP80VbCoveMDAKBggqhkjOPQQDAjBRMTww
OgYDVQQKDDNnb3N0LnRzIGJ1aWx0LWluIFFVSUMgY2VydGlmaWNhdGUgKHB1Ymxp
YyBrZXkgcGFpcikxETAPBgNVBAMMCGdvc3QucnVuMCAXDTI2MTIwNDIwNTM1MFoY
DzIxMjYxMjA1MjA1NDUwWjBRMTwwOgYDVQQKDDNnb3N0LnRzIGJ1aWx0LWluIFFV
SUMgY2VydGlmaWNhdGUgKHB1YmxpYyBrZXkgcGFpcikxETAPBgNVBAMMCGdvc3Qu
cnVuMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE/eu9XVnCQwyxXU7BkKvZxjJg
idW7yqzVjiO6SL/hII0mpgNoIm9+opMzkjEzv1UPt36qh8YEl4TvEStWXICyWaNU
MFIwDAYDVR0TAQH/BAIwADAOBgNVHQ8BAf8EBAMCB4AwHQYDVR0lBBYwFAYIKwYB
BQUHAwEGCCsGAQUFBwMCMBMGA1UdEQQMMAqCCGdvc3QucnVuMAoGCCqGSM49BAMC
A0kAMEYCIQDdHbHa2x6neAHmcpwOiukGAGvXs3cS9fI8q6cwlXTrwAIhAN3PMLQs
RoWUeJMx5Me2pa0GimlEdAFRRyfhYdoInziR
-----END CERTIFICATE-----
`;

/** Its private key (PKCS#8 PEM): public, see the module doc. */
export const BUILTIN_QUIC_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgC0j3mVwymUeydgj5
zmh2TyELYlI0iI2RfcK6GvPKahmhRANCAAT9671dWcJDDLFdTsGQq9nGMmCJ1bvK
rNWOI7pIv+EgjSamA2gib36ikzOSMTO/VQ+3fqqHxgSXhO8RK1ZcgLJZ
-----END PRIVATE KEY-----
`;

/** The DER bytes of a PEM certificate (its first block). */
export function pemToDer(pem: string): Uint8Array<ArrayBuffer> {
  const b64 = /-----BEGIN CERTIFICATE-----([^-]+)-----END CERTIFICATE-----/.exec(pem)?.[1] ?? "";
  return Uint8Array.from(atob(b64.replace(/\s+/g, "")), (c) => c.charCodeAt(0));
}

/** The SHA-256 of the built-in certificate's DER, as `serverCertificateHashes` takes it. */
export async function builtinCertHash(): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", pemToDer(BUILTIN_QUIC_CERT)));
}
