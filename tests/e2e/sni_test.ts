/**
 * The SNI proxy end to end, as real processes: curl to `-L sni://` by name (`--resolve name:PORT:127.0.0.1`) reaches
 * the TLS origin the service's `hosts` maps the name to, on port 443, with the certificate verified — two names on
 * one port reach two origins; HTTP is routed by Host (port 80); our connector with `host` covers the name and the
 * origin still sees the client's own SNI and Host; hostile first bytes (a ClientHello cut in half, a record over the
 * cap, garbage, silence) are refused with a log line and the process carries on serving.
 */
import { equal, ok } from "node:assert/strict";
import { freePort, startGost } from "../helpers/gost.ts";
import { curl } from "../helpers/run.ts";
import { captureClientHello, httpOriginAt, httpsOrigin, loopbackNet, namesCert } from "../helpers/sni_origins.ts";
import { until } from "../helpers/wait.ts";

const ip = loopbackNet();
const hosts = `a.test:${ip(1)},b.test:${ip(2)}`;

Deno.test("sni: curl by name to -L sni:// reaches the TLS origin hosts maps it to (port 443), certificate verified", async () => {
  await using cert = await namesCert(["a.test", "b.test"]);
  const a = await httpsOrigin(ip(1), "A", cert);
  const b = await httpsOrigin(ip(2), "B", cert);
  const port = freePort();
  try {
    await using _gost = await startGost(["-L", `sni://127.0.0.1:${port}?hosts=${hosts}`]);
    for (const [name, label] of [["a.test", "A"], ["b.test", "B"]]) {
      const r = await curl(
        "--cacert",
        cert.certFile,
        "--resolve",
        `${name}:${port}:127.0.0.1`,
        `https://${name}:${port}/p`,
      );
      equal(r.code, 0, r.stderr);
      equal(r.stdout, `${label} sni=${name} host=${name}:${port} path=/p`);
    }
    // HTTP/2 over the relayed TLS (ALPN h2 offered by curl, http/1.1 chosen by the origin): still one tunnel
    const two = await curl(
      "--cacert",
      cert.certFile,
      "--resolve",
      `a.test:${port}:127.0.0.1`,
      `https://a.test:${port}/1`,
      `https://a.test:${port}/2`,
    );
    equal(two.stdout, `A sni=a.test host=a.test:${port} path=/1A sni=a.test host=a.test:${port} path=/2`, two.stderr);
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("sni: HTTP requests are routed by Host (port 80 unless given), keep-alive across requests", async () => {
  const a = httpOriginAt(ip(1), "A");
  const b = httpOriginAt(ip(2), "B");
  const port = freePort();
  try {
    await using _gost = await startGost(["-L", `sni://127.0.0.1:${port}?hosts=${hosts}`]);
    const r = await curl(
      "-H",
      "Host: a.test",
      `http://127.0.0.1:${port}/x`,
      "-H",
      "Host: a.test",
      `http://127.0.0.1:${port}/y`,
    );
    equal(r.stdout, "A host=a.test path=/xA host=a.test path=/y", r.stderr);
    const rb = await curl("-H", "Host: b.test", `http://127.0.0.1:${port}/z`);
    equal(rb.stdout, "B host=b.test path=/z", rb.stderr);
    // no such host: 502; no Host at all: 400; a bypassed host: 403 (below)
    const bad = await curl(
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "-H",
      "Host: c.invalid",
      `http://127.0.0.1:${port}/`,
    );
    equal(bad.stdout, "502");
    const none = await curl(
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "-H",
      "Host:",
      "--http1.0",
      `http://127.0.0.1:${port}/`,
    );
    equal(none.stdout, "400");
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("sni: the service's bypass refuses a name: HTTP gets 403, TLS is closed unanswered", async () => {
  await using cert = await namesCert(["a.test", "b.test"]);
  const a = await httpsOrigin(ip(1), "A", cert);
  const b = httpOriginAt(ip(2), "B");
  const port = freePort();
  try {
    await using _gost = await startGost(["-L", `sni://127.0.0.1:${port}?hosts=${hosts}&bypass=b.test`]);
    const http = await curl("-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: b.test", `http://127.0.0.1:${port}/`);
    equal(http.stdout, "403");
    const tls = await curl(
      "--cacert",
      cert.certFile,
      "--resolve",
      `b.test:${port}:127.0.0.1`,
      `https://b.test:${port}/`,
    );
    ok(tls.code !== 0, "no TLS session for a bypassed name");
    const r = await curl("--cacert", cert.certFile, "--resolve", `a.test:${port}:127.0.0.1`, `https://a.test:${port}/`);
    equal(r.stdout, `A sni=a.test host=a.test:${port} path=/`, r.stderr);
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("sni connector with host: the name is covered on the wire and uncovered by the proxy, TLS and HTTP", async () => {
  await using cert = await namesCert(["a.test"]);
  const tlsA = await httpsOrigin(ip(1), "A", cert);
  const httpA = httpOriginAt(ip(1), "A");
  const [proxy, entry] = [freePort(), freePort()];
  try {
    await using gost = await startGost(["-L", `sni://127.0.0.1:${proxy}?hosts=${hosts}`, "-D"]);
    await using _entry = await startGost([
      "-L",
      `http://127.0.0.1:${entry}`,
      "-F",
      `sni://127.0.0.1:${proxy}?host=cover.example`,
    ]);
    const viaTls = await curl("--cacert", cert.certFile, "-x", `http://127.0.0.1:${entry}`, "https://a.test/t");
    equal(viaTls.stdout, "A sni=a.test host=a.test path=/t", viaTls.stderr);
    ok(
      gost.lines.some((l) => l.includes("ClientHello for a.test:443 (covered as cover.example)")),
      gost.lines.join("\n"),
    );
    const viaHttp = await curl("-x", `http://127.0.0.1:${entry}`, "http://a.test/h");
    equal(viaHttp.stdout, "A host=a.test path=/h", viaHttp.stderr);
  } finally {
    await tlsA.close();
    await httpA.close();
  }
});

Deno.test("sni: a cut ClientHello, a record over the cap, garbage and silence are refused with a log line; the proxy stays up", async () => {
  await using cert = await namesCert(["a.test"]);
  const a = await httpsOrigin(ip(1), "A", cert);
  const port = freePort();
  try {
    await using gost = await startGost(["-L", `sni://127.0.0.1:${port}?hosts=${hosts}&readTimeout=1s`]);
    const hello = await captureClientHello("a.test");
    const send = async (bytes: Uint8Array, close: boolean) => {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      await c.write(bytes);
      if (close) await c.closeWrite();
      const n = await c.read(new Uint8Array(64)).catch(() => null);
      c.close();
      return n;
    };
    const logged = (re: RegExp) => until(() => gost.lines.some((l) => re.test(l)), `a log line ${re}`);
    equal(await send(hello.subarray(0, hello.length >> 1), true), null, "cut in half: closed, nothing sent back");
    await logged(/ClientHello cut short/);
    equal(await send(new Uint8Array([0x16, 3, 1, 0x40, 0x01, 1, 2, 3]), false), null);
    await logged(/TLS record of 16385 bytes/);
    equal(await send(new TextEncoder().encode("\x00\x01garbage garbage\r\n"), false), null);
    await logged(/neither a TLS ClientHello nor an HTTP request/);
    equal(await send(hello.subarray(0, 40), false), null, "silence after a partial ClientHello: the deadline ends it");
    await logged(/no complete ClientHello within 1000 ms/);
    const r = await curl(
      "--cacert",
      cert.certFile,
      "--resolve",
      `a.test:${port}:127.0.0.1`,
      `https://a.test:${port}/ok`,
    );
    equal(r.stdout, `A sni=a.test host=a.test:${port} path=/ok`, r.stderr);
  } finally {
    await a.close();
  }
});
