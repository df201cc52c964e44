/**
 * TLS protocol options and self-signed certificate fields of the `tls` listener (and dialer), checked with
 * `openssl s_client` over loopback.
 */
import { match, ok, rejects } from "node:assert/strict";
import { ConfigError } from "../../core/errors.ts";
import { nopLogger } from "../../core/log.ts";
import { Metadata } from "../../core/metadata.ts";
import type { ServerTlsOptions } from "../../core/contracts.ts";
import { DefaultRouter } from "../../core/routing/router.ts";
import { TlsListener } from "../../listeners/tls/listener.ts";
import { TlsDialer } from "../../listeners/tls/dialer.ts";
import { freePort, startGost } from "../helpers/gost.ts";
import { tcpEcho } from "../helpers/servers.ts";
import { sClient, startTlsForward } from "../helpers/tls_fixtures.ts";

/** The `tls:` block as the config passes it (GOST's `options` and self-signed fields ride along). */
const block = (b: Record<string, unknown>) => b as ServerTlsOptions;

/** A TCP echo origin that closes at the end of its scope. */
function echoServer() {
  const e = tcpEcho();
  return { port: e.port, [Symbol.dispose]: () => e.close() };
}

/** Handshake succeeded: openssl printed a negotiated cipher. */
const negotiated = (out: string) => /New, TLSv1\.[23], Cipher is /.test(out);

function listener(tls?: ServerTlsOptions): TlsListener {
  return new TlsListener({
    addr: "127.0.0.1:0",
    logger: nopLogger,
    service: "test",
    router: new DefaultRouter({ logger: nopLogger }),
    tls,
  });
}

Deno.test("tls options: minVersion VersionTLS13 refuses a TLS 1.2 client and accepts TLS 1.3 (config file)", async () => {
  using echo = echoServer();
  const port = freePort();
  const config = {
    services: [{
      name: "tls13",
      addr: `127.0.0.1:${port}`,
      handler: { type: "forward" },
      listener: { type: "tls", tls: { options: { minVersion: "VersionTLS13" } } },
      forwarder: { nodes: [{ name: "echo", addr: `127.0.0.1:${echo.port}` }] },
    }],
  };
  await using _g = await startGost(["-C", JSON.stringify(config)]);
  const v12 = await sClient(port, ["-tls1_2"]);
  ok(!negotiated(v12), v12);
  match(v12, /alert|Cipher is \(NONE\)/);
  const v13 = await sClient(port, ["-tls1_3"]);
  ok(negotiated(v13), v13);
  match(v13, /New, TLSv1\.3, Cipher is/);
});

Deno.test("tls options: maxVersion VersionTLS12 negotiates TLS 1.2 and refuses a TLS 1.3-only client", async () => {
  using echo = echoServer();
  await using s = await startTlsForward(`127.0.0.1:${echo.port}`, {
    tls: block({ options: { maxVersion: "VersionTLS12" } }),
  });
  const out = await sClient(s.port);
  match(out, /New, TLSv1\.2, Cipher is/);
  ok(!negotiated(await sClient(s.port, ["-tls1_3"])));
});

Deno.test("tls options: -L metadata tls.minVersion / tls.alpn act like the options block", async () => {
  using echo = echoServer();
  const port = freePort();
  await using _g = await startGost([
    "-L",
    `forward+tls://127.0.0.1:${port}/127.0.0.1:${echo.port}?tls.minVersion=VersionTLS13&tls.alpn=h2,http/1.1`,
  ]);
  ok(!negotiated(await sClient(port, ["-tls1_2"])));
  const out = await sClient(port, ["-tls1_3", "-alpn", "http/1.1"]);
  ok(negotiated(out), out);
  match(out, /ALPN protocol: http\/1\.1/);
});

Deno.test("tls options: alpn picks the server's protocol the client offers; a listener without alpn picks none", async () => {
  using echo = echoServer();
  await using s = await startTlsForward(`127.0.0.1:${echo.port}`, {
    tls: block({ options: { alpn: ["h2", "x-gost"] } }),
  });
  match(await sClient(s.port, ["-alpn", "x-gost"]), /ALPN protocol: x-gost/);
  match(await sClient(s.port, ["-alpn", "spdy/3,h2"]), /ALPN protocol: h2/);
  // Without ALPN the listener negotiates none.
  await using plain = await startTlsForward(`127.0.0.1:${echo.port}`);
  match(await sClient(plain.port, ["-alpn", "h2"]), /No ALPN negotiated/);
});

Deno.test("tls options: self-signed commonName and organization appear in the certificate subject", async () => {
  using echo = echoServer();
  await using s = await startTlsForward(`127.0.0.1:${echo.port}`, {
    tls: block({ commonName: "proxy.example.test", organization: "Example Org", validity: "48h" }),
  });
  const out = await sClient(s.port);
  match(out, /subject=O\s*=\s*Example Org, CN\s*=\s*proxy\.example\.test/);
  match(out, /issuer=O\s*=\s*Example Org, CN\s*=\s*proxy\.example\.test/);
});

Deno.test("tls options: values not understood are ConfigErrors naming the key", async () => {
  const cases: [Record<string, unknown>, Record<string, unknown>, RegExp][] = [
    [{ options: { minVersion: "TLS13" } }, {}, /tls\.options\.minVersion: "TLS13".*VersionTLS12, VersionTLS13/],
    [{ options: { maxVersion: "VersionTLS10" } }, {}, /tls\.options\.maxVersion.*TLS 1\.0\/1\.1/],
    [{ options: { minVersion: "VersionTLS13", maxVersion: "VersionTLS12" } }, {}, /minVersion .* above maxVersion/],
    [{ options: { cipherSuites: ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"] } }, {}, /tls\.options\.cipherSuites/],
    [{ options: { minversion: "VersionTLS13" } }, {}, /Unknown TLS option tls\.options\.minversion/],
    [{ options: { alpn: [1] } }, {}, /tls\.options\.alpn must be a list of strings/],
    [{ commonName: 7 }, {}, /tls\.commonName must be a string/],
    [{ validity: "soon" }, {}, /tls\.validity/],
    [{ serverNames: ["a"] }, {}, /tls\.serverNames is not supported/],
    [{}, { "tls.maxVersion": "1.2" }, /tls\.maxVersion: "1\.2"/],
    [{}, { "tls.cipherSuites": "TLS_AES_128_GCM_SHA256" }, /tls\.cipherSuites is not supported/],
  ];
  for (const [tls, md, want] of cases) {
    const ln = listener(block(tls));
    await rejects(ln.init(new Metadata(md)), (err: Error) => {
      ok(err instanceof ConfigError, `${JSON.stringify(tls)}: ${err}`);
      match(err.message, want);
      return true;
    });
    ln.close();
  }
});

Deno.test("tls options: self-signed fields with certFile are refused", async () => {
  const ln = listener(block({ certFile: "/nonexistent.pem", keyFile: "/nonexistent.key", commonName: "x" }));
  await rejects(ln.init(new Metadata({})), /commonName.*cannot be used with certFile/);
});

Deno.test("tls options: the dialer honours maxVersion and alpn (checked against listeners that require them)", async () => {
  using echo = echoServer();
  const target = `127.0.0.1:${echo.port}`;
  const dialer = async (options: Record<string, unknown>) => {
    const d = new TlsDialer({ logger: nopLogger, tls: { options } as never });
    await d.init(new Metadata({}));
    return d;
  };
  await using only13 = await startTlsForward(target, { tls: block({ options: { minVersion: "VersionTLS13" } }) });
  (await (await dialer({})).dial(only13.addr)).close();
  await rejects((await dialer({ maxVersion: "VersionTLS12" })).dial(only13.addr));

  await using h2 = await startTlsForward(target, { tls: block({ options: { alpn: ["h2"] } }) });
  (await (await dialer({ alpn: ["h2"] })).dial(h2.addr)).close();
  await rejects((await dialer({ alpn: ["x-other"] })).dial(h2.addr));
});
