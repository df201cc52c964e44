import { equal, match, ok, rejects } from "node:assert/strict";
import { closeQuietly } from "../../../core/conn.ts";
import { ConfigError } from "../../../core/errors.ts";
import { nopLogger } from "../../../core/log.ts";
import { Metadata } from "../../../core/metadata.ts";
import { ListenerClosedError } from "../../../core/contracts.ts";
import { createRegistries } from "../../../core/registries.ts";
import { DefaultRouter } from "../../../core/routing/router.ts";
import { defaultSelfSigned, generateSelfSigned } from "../../../listeners/tls/cert.ts";
import { TlsListener } from "../../../listeners/tls/listener.ts";
import { register } from "../../../listeners/tls/mod.ts";
import { TlsDialer } from "../../../listeners/tls/dialer.ts";
import { run } from "../../helpers/run.ts";
import { httpOrigin, tcpEcho } from "../../helpers/servers.ts";
import {
  curl,
  dec,
  enc,
  makePki,
  readAll,
  sClient,
  startTcpForward,
  startTlsForward,
  writeAll,
} from "../../helpers/tls_fixtures.ts";

Deno.test("tls module registers the tls listener and the tls dialer", () => {
  const reg = createRegistries();
  register(reg);
  ok(reg.listeners.get("tls"));
  ok(reg.dialers.get("tls"));
});

Deno.test("self-signed certificate is a valid X.509 v3 for gost.run, one year, per openssl", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { cert, key } = await generateSelfSigned({ altNames: ["localhost", "127.0.0.1", "::1"] });
    await Deno.writeTextFile(`${dir}/c.pem`, cert);
    await Deno.writeTextFile(`${dir}/k.pem`, key);
    const text = await run("openssl", ["x509", "-noout", "-text", "-in", `${dir}/c.pem`]);
    equal(text.code, 0, text.stderr);
    match(text.stdout, /Version: 3 \(0x2\)/);
    match(text.stdout, /Subject: CN\s*=\s*gost\.run/);
    match(text.stdout, /Issuer: CN\s*=\s*gost\.run/);
    match(text.stdout, /ecdsa-with-SHA256/);
    match(text.stdout, /CA:FALSE/);
    match(text.stdout, /DNS:gost\.run, DNS:localhost, IP Address:127\.0\.0\.1, IP Address:0:0:0:0:0:0:0:1/);
    const dates = await run("openssl", ["x509", "-noout", "-startdate", "-enddate", "-in", `${dir}/c.pem`]);
    const [, start] = /notBefore=(.*)/.exec(dates.stdout)!;
    const [, end] = /notAfter=(.*)/.exec(dates.stdout)!;
    const days = (Date.parse(end) - Date.parse(start)) / 86_400_000;
    ok(days > 364.9 && days < 365.1, `validity ${days} days`);
    // The signature verifies against its own key, and the key matches the certificate.
    const verify = await run("openssl", ["verify", "-CAfile", `${dir}/c.pem`, `${dir}/c.pem`]);
    equal(verify.code, 0, verify.stdout + verify.stderr);
    const pub1 = await run("openssl", ["x509", "-noout", "-pubkey", "-in", `${dir}/c.pem`]);
    const pub2 = await run("openssl", ["pkey", "-pubout", "-in", `${dir}/k.pem`]);
    equal(pub1.stdout, pub2.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the default certificate is generated once per process", async () => {
  const a = await defaultSelfSigned();
  const b = await defaultSelfSigned();
  equal(a, b);
});

Deno.test("tls listener with the auto-generated certificate serves curl -k through a forward to an HTTP origin", async () => {
  const origin = httpOrigin();
  try {
    await using svc = await startTlsForward(`127.0.0.1:${origin.port}`);
    const r = await curl(["-k", "-i", `https://127.0.0.1:${svc.port}/via-tls`]);
    equal(r.code, 0, r.stderr);
    match(r.stdout, /^HTTP\/1\.1 200/);
    match(r.stdout, /hello \/via-tls$/);
    // Without -k curl refuses the self-signed certificate.
    const strict = await curl([`https://127.0.0.1:${svc.port}/`]);
    ok(strict.code !== 0);
    // openssl s_client sees CN gost.run.
    const out = await sClient(svc.port);
    match(out, /subject=\s*CN\s*=\s*gost\.run/);
    match(out, /Protocol\s*:\s*TLSv1\.3|New, TLSv1\.3/);
  } finally {
    await origin.close();
  }
});

Deno.test("tls listener uses certFile/keyFile; curl --cacert verifies it", async () => {
  const dir = await Deno.makeTempDir();
  const origin = httpOrigin();
  try {
    const gen = await run("openssl", [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-subj",
      "/CN=test",
      "-days",
      "1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      `${dir}/key.pem`,
      "-out",
      `${dir}/cert.pem`,
    ]);
    equal(gen.code, 0, gen.stderr);
    // Through the listener's tls options …
    {
      await using svc = await startTlsForward(`127.0.0.1:${origin.port}`, {
        tls: { certFile: `${dir}/cert.pem`, keyFile: `${dir}/key.pem` },
      });
      const r = await curl(["--cacert", `${dir}/cert.pem`, `https://127.0.0.1:${svc.port}/checked`]);
      equal(r.code, 0, r.stderr);
      equal(r.stdout, "hello /checked");
      match(await sClient(svc.port), /subject=\s*CN\s*=\s*test/);
    }
    // … and through GOST's URL keys in the listener metadata (cert/key aliases).
    {
      await using svc = await startTlsForward(`127.0.0.1:${origin.port}`, {
        metadata: { cert: `${dir}/cert.pem`, key: `${dir}/key.pem` },
      });
      const r = await curl(["--cacert", `${dir}/cert.pem`, `https://127.0.0.1:${svc.port}/md`]);
      equal(r.code, 0, r.stderr);
      equal(r.stdout, "hello /md");
    }
  } finally {
    await origin.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tls listener picks up cert.pem and key.pem from the working directory", async () => {
  await using pki = await makePki();
  const echo = tcpEcho();
  const cwd = Deno.cwd();
  try {
    await Deno.copyFile(pki.serverCert, `${pki.dir}/cert.pem`);
    await Deno.copyFile(pki.serverKey, `${pki.dir}/key.pem`);
    Deno.chdir(pki.dir);
    let svc;
    try {
      svc = await startTlsForward(`127.0.0.1:${echo.port}`);
    } finally {
      Deno.chdir(cwd);
    }
    await using _svc = svc;
    match(await sClient(svc.port), /subject=\s*CN\s*=\s*server/);
  } finally {
    echo.close();
  }
});

Deno.test("tls listener with caFile requires a client certificate signed by that CA (mTLS)", async () => {
  await using pki = await makePki();
  const origin = httpOrigin();
  const echo = tcpEcho();
  try {
    await using svc = await startTlsForward(`127.0.0.1:${origin.port}`, {
      tls: { certFile: pki.serverCert, keyFile: pki.serverKey, caFile: pki.caCert },
    });
    const url = `https://127.0.0.1:${svc.port}/mtls`;
    const without = await curl(["--cacert", pki.caCert, url]);
    ok(without.code !== 0, `curl without a client certificate must fail: ${without.stdout}`);
    const foreign = await curl([
      "--cacert",
      pki.caCert,
      "--cert",
      pki.otherClientCert,
      "--key",
      pki.otherClientKey,
      url,
    ]);
    ok(foreign.code !== 0, `a certificate from another CA must be refused: ${foreign.stdout}`);
    const good = await curl(["--cacert", pki.caCert, "--cert", pki.clientCert, "--key", pki.clientKey, url]);
    equal(good.code, 0, good.stderr);
    equal(good.stdout, "hello /mtls");

    // Our dialer with a client certificate, over an echo service with the same mTLS listener.
    await using echoSvc = await startTlsForward(`127.0.0.1:${echo.port}`, {
      metadata: { certFile: pki.serverCert, keyFile: pki.serverKey, caFile: pki.caCert },
    });
    const dialer = new TlsDialer({
      logger: nopLogger,
      tls: { secure: true, caFile: pki.caCert, certFile: pki.clientCert, keyFile: pki.clientKey },
    });
    await dialer.init(new Metadata({}));
    const c = await dialer.dial(echoSvc.addr);
    await writeAll(c, enc.encode("with a client certificate"));
    await c.closeWrite();
    equal(dec.decode(await readAll(c)), "with a client certificate");
    c.close();

    // Without one the server ends the conn: the TLS 1.3 client learns it on its first read.
    const anon = new TlsDialer({ logger: nopLogger, tls: { secure: true, caFile: pki.caCert } });
    await anon.init(new Metadata({}));
    const a = await anon.dial(echoSvc.addr).catch((err) => err as Error);
    if (!(a instanceof Error)) {
      await a.write(enc.encode("x")).catch(() => 0);
      const got = await readAll(a).catch((err) => err as Error);
      a.close();
      ok(got instanceof Error || got.length === 0, "no echo without a client certificate");
    }
  } finally {
    echo.close();
    await origin.close();
  }
});

Deno.test("tls listener drops a client that never handshakes after handshakeTimeout, and keeps accepting", async () => {
  const echo = tcpEcho();
  try {
    await using svc = await startTlsForward(`127.0.0.1:${echo.port}`, { metadata: { handshakeTimeout: "200ms" } });
    const silent = await Deno.connect({ hostname: "127.0.0.1", port: svc.port });
    // Meanwhile a real client is served.
    const d = new TlsDialer({ logger: nopLogger });
    await d.init(new Metadata({}));
    const c = await d.dial(svc.addr);
    await writeAll(c, enc.encode("served"));
    await c.closeWrite();
    equal(dec.decode(await readAll(c)), "served");
    c.close();
    const t0 = Date.now();
    const rest = await readAll(silent).catch(() => new Uint8Array(0));
    silent.close();
    equal(rest.length, 0);
    const waited = Date.now() - t0;
    ok(waited < 5000, `silent client dropped after ${waited} ms`);
  } finally {
    echo.close();
  }
});

Deno.test("tls listener: accept rejects with ListenerClosedError after close; pending handshakes are closed", async () => {
  const logger = nopLogger;
  const ln = new TlsListener({ addr: "127.0.0.1:0", logger, service: "t", router: new DefaultRouter({ logger }) });
  await ln.init(new Metadata({}));
  const addr = `127.0.0.1:${(ln.addr as Deno.NetAddr).port}`;
  // A client that connects but never handshakes, then one that does: once the second is accepted, the first is
  // certainly waiting in its handshake.
  const silent = await Deno.connect({ hostname: "127.0.0.1", port: (ln.addr as Deno.NetAddr).port });
  const d = new TlsDialer({ logger });
  await d.init(new Metadata({}));
  const [client, server] = await Promise.all([d.dial(addr), ln.accept()]);
  const next = ln.accept();
  ln.close();
  await rejects(next, ListenerClosedError);
  await rejects(ln.accept(), ListenerClosedError);
  equal((await readAll(silent).catch(() => new Uint8Array(0))).length, 0);
  silent.close();
  // Conns already accepted are the handler's: they keep working.
  await writeAll(server, enc.encode("still here"));
  await server.closeWrite();
  equal(dec.decode(await readAll(client)), "still here");
  client.close();
  server.close();
});

Deno.test("tls listener config errors name the key and the file", async () => {
  const mk = (tls?: { certFile?: string; keyFile?: string; caFile?: string }) =>
    new TlsListener({
      addr: "127.0.0.1:0",
      logger: nopLogger,
      service: "t",
      router: new DefaultRouter({ logger: nopLogger }),
      tls,
    });
  await rejects(mk({ certFile: "/nonexistent/cert.pem" }).init(new Metadata({})), (err: Error) => {
    ok(err instanceof ConfigError);
    match(err.message, /certFile and keyFile/);
    return true;
  });
  await rejects(
    mk({ certFile: "/nonexistent/c.pem", keyFile: "/nonexistent/k.pem" }).init(new Metadata({})),
    (err: Error) =>
      err instanceof ConfigError && /Cannot read TLS certificate "\/nonexistent\/c\.pem"/.test(err.message),
  );
  await rejects(
    mk().init(new Metadata({ caFile: "/nonexistent/ca.pem" })),
    (err: Error) => err instanceof ConfigError && /CA file "\/nonexistent\/ca\.pem"/.test(err.message),
  );
  await rejects(
    mk().init(new Metadata({ handshakeTimeout: "10x" })),
    (err: Error) => err instanceof ConfigError && /handshakeTimeout/.test(err.message),
  );
});

Deno.test("throughput: 100 MB through a tls forward service vs a tcp forward service (curl download)", async () => {
  const origin = httpOrigin();
  try {
    await using tls = await startTlsForward(`127.0.0.1:${origin.port}`);
    await using tcp = await startTcpForward(`127.0.0.1:${origin.port}`);
    const size = 100 * 1024 * 1024;
    const speed = async (url: string, extra: string[] = []) => {
      const r = await run("curl", [
        "-s",
        "-S",
        ...extra,
        "-o",
        "/dev/null",
        "-w",
        "%{size_download} %{speed_download}",
        url,
      ], {
        timeoutMs: 120_000,
      });
      equal(r.code, 0, r.stderr);
      const [bytes, bps] = r.stdout.split(" ").map(Number);
      equal(bytes, size);
      return bps / 1024 / 1024;
    };
    const tcpMBs = await speed(`http://127.0.0.1:${tcp.port}/bytes/${size}`);
    const tlsMBs = await speed(`https://127.0.0.1:${tls.port}/bytes/${size}`, ["-k"]);
    console.log(
      `  100 MB download via tcp forward: ${tcpMBs.toFixed(0)} MB/s; via tls forward: ${tlsMBs.toFixed(0)} MB/s`,
    );
  } finally {
    await origin.close();
  }
});

Deno.test("throughput: 100 MB upload through a tls forward service with our dialer vs tcp", async () => {
  // A sink origin: reads to EOF and answers with the byte count.
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const sink = (async () => {
    for await (const c of ln) {
      (async () => {
        const buf = new Uint8Array(1 << 20);
        let n = 0;
        for (;;) {
          const k = await c.read(buf).catch(() => null);
          if (k === null) break;
          n += k;
        }
        await writeAll(c, enc.encode(String(n))).catch(() => {});
        await c.closeWrite().catch(() => {});
        closeQuietly(c);
      })();
    }
  })().catch(() => {});
  const target = `127.0.0.1:${(ln.addr as Deno.NetAddr).port}`;
  try {
    await using tls = await startTlsForward(target);
    await using tcp = await startTcpForward(target);
    const size = 100 * 1024 * 1024;
    const chunk = new Uint8Array(1 << 20).fill(7);
    const upload = async (
      c: {
        write(p: Uint8Array): Promise<number>;
        closeWrite(): Promise<void>;
        read(p: Uint8Array): Promise<number | null>;
        close(): void;
      },
    ) => {
      const t0 = performance.now();
      for (let sent = 0; sent < size; sent += chunk.length) {
        let off = 0;
        while (off < chunk.length) off += await c.write(off ? chunk.subarray(off) : chunk);
      }
      await c.closeWrite();
      const got = Number(dec.decode(await readAll(c)));
      c.close();
      equal(got, size);
      return size / 1048576 / ((performance.now() - t0) / 1000);
    };
    const tcpMBs = await upload(await Deno.connect({ hostname: "127.0.0.1", port: tcp.port }));
    const d = new TlsDialer({ logger: nopLogger });
    await d.init(new Metadata({}));
    const tlsMBs = await upload(await d.dial(tls.addr));
    console.log(
      `  100 MB upload (client, service and sink in one process) via tcp: ${tcpMBs.toFixed(0)} MB/s; via tls: ${
        tlsMBs.toFixed(0)
      } MB/s`,
    );
  } finally {
    ln.close();
    await sink;
  }
});
