/**
 * GOST's reverse proxy on the forward handler, end to end: a gost.ts process with a `tcp` service and
 * `sniffing: true` serves several virtual hosts on one port — HTTP by Host and path through the nodes' `filter`
 * (and GOST's older `host`/`path`/`protocol` fields), TLS by the ClientHello's server name to local TLS origins —
 * with the nodes' `http` settings seen by the origins (Host rewrite, request headers set and removed, URL rewrites,
 * request and response body rewrites, gzip included), response headers, Basic auth, `failCodes`, `tls`
 * re-origination to an HTTPS origin (verified with `secure`, `serverName`, `caFile`), a kept-alive conn whose second
 * request goes to another vhost, GOST's answers for an unmatched host (502) and a dead node (503), `http.keepalive`
 * off closing after each response, raw forwarding by sniffed protocol (`ssh`), and hostile TLS input refused with
 * the process still serving.
 */
import { equal, match, ok } from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { freePort, startGost } from "../helpers/gost.ts";
import { deadPort } from "../helpers/io.ts";
import { curl } from "../helpers/run.ts";
import { RawClient } from "../helpers/http_raw.ts";
import { httpsOrigin, namesCert } from "../helpers/sni_origins.ts";
import { tcpEcho } from "../helpers/servers.ts";
import { until } from "../helpers/wait.ts";
import { parseConfig } from "../../core/config/load.ts";
import { nopLogger } from "../../core/log.ts";
import { Runtime } from "../../core/runtime/runtime.ts";
import { createBuiltinRegistries } from "../../mod.ts";

/** What an origin saw of one request. */
interface Seen {
  host: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** A plain HTTP origin that records what it is sent and answers `<label> <path>` (or what `reply` gives). */
function origin(label: string, reply?: (req: Request, body: string) => Response | undefined) {
  const seen: Seen[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    const body = await req.text();
    seen.push({
      host: req.headers.get("host") ?? "",
      path: url.pathname + url.search,
      headers: Object.fromEntries(req.headers),
      body,
    });
    return reply?.(req, body) ?? new Response(`origin-${label} ${url.pathname}${url.search}`, {
      headers: { "Content-Type": "text/plain" },
    });
  });
  return { port: server.addr.port, seen, close: () => server.shutdown() };
}

function get(port: number, host: string, path = "/", ...extra: string[]) {
  return curl("-i", "-H", `Host: ${host}`, ...extra, `http://127.0.0.1:${port}${path}`);
}

/** Body and status of a `curl -i` output (the last response). */
function parse(out: string): { status: number; head: string; body: string } {
  const at = out.lastIndexOf("HTTP/1.");
  const rest = out.slice(at);
  const end = rest.indexOf("\r\n\r\n");
  return { status: Number(rest.slice(9, 12)), head: rest.slice(0, end), body: rest.slice(end + 4) };
}

Deno.test("reverse proxy: one port serves HTTP vhosts by Host and path, TLS vhosts by SNI, with the nodes' http and tls settings", async () => {
  await using cert = await namesCert(["a.tls.test", "b.tls.test"]);
  const a = origin("A");
  const b = origin("B");
  const one = origin("one");
  const two = origin("two");
  const rw = origin("rw", (req, body) => {
    const url = new URL(req.url);
    if (url.pathname === "/gz") {
      return new Response(new Uint8Array(gzipSync(new TextEncoder().encode("origin-rw zipped"))), {
        headers: { "Content-Type": "text/plain", "Content-Encoding": "gzip" },
      });
    }
    if (req.method === "POST") return new Response(`echo ${body}`, { headers: { "Content-Type": "text/plain" } });
    return undefined;
  });
  const flaky = origin("flaky", () => new Response("down", { status: 503 }));
  const steady = origin("steady");
  const tlsPortA = freePort(), tlsPortB = freePort();
  const tlsA = await httpsOrigin("127.0.0.1", "TLS-A", cert, tlsPortA);
  const tlsB = await httpsOrigin("127.0.0.1", "TLS-B", cert, tlsPortB);
  const echo = tcpEcho();
  const port = freePort();
  const closing = freePort();
  const config = {
    services: [{
      name: "rp",
      addr: `127.0.0.1:${port}`,
      handler: { type: "tcp", metadata: { sniffing: true, "http.keepalive": true, readTimeout: "5s" } },
      listener: { type: "tcp" },
      forwarder: {
        selector: { strategy: "fifo", maxFails: 1, failTimeout: "30s" },
        nodes: [
          { name: "a", addr: `127.0.0.1:${a.port}`, filter: { host: "a.test" } },
          {
            name: "b",
            addr: `127.0.0.1:${b.port}`,
            filter: { host: "*.b.test", protocol: "http" },
            http: {
              host: "backend-b.internal",
              requestHeader: { "X-From": "gost", "User-Agent": "" },
              responseHeader: { "X-Served-By": "node-b" },
            },
          },
          // GOST's older spellings of filter.host/filter.path and http.header, http.rewrite
          {
            name: "one",
            addr: `127.0.0.1:${one.port}`,
            host: "p.test",
            path: "/one",
            http: { header: { "X-Node": "one" }, rewrite: [{ match: "^/one/(.*)$", replacement: "/v1/$1?via=one" }] },
          },
          {
            name: "two",
            addr: `127.0.0.1:${two.port}`,
            filter: { host: "p.test", path: "/two" },
            http: { rewriteURL: [{ match: "^/two", replacement: "/v2" }] },
          },
          { name: "secret", addr: `127.0.0.1:${a.port}`, host: "secret.test", auth: { username: "u", password: "p" } },
          {
            name: "locked",
            addr: `127.0.0.1:${b.port}`,
            filter: { host: "locked.test" },
            http: { auth: { username: "v", password: "w" } },
          },
          {
            name: "rw",
            addr: `127.0.0.1:${rw.port}`,
            filter: { host: "rw.test" },
            http: {
              rewriteBody: [{ type: "text/plain", match: "origin-(\\w+)", replacement: "rewritten-$1" }],
              rewriteResponseBody: [{
                type: "text/plain",
                match: "zipped",
                replacement: "unzipped",
                maxChunkSize: 65536,
              }],
              rewriteRequestBody: [{
                type: "application/json",
                match: '"secret":"[^"]*"',
                replacement: '"secret":"***"',
              }],
            },
          },
          {
            name: "flaky",
            addr: `127.0.0.1:${flaky.port}`,
            filter: { host: "f.test" },
            http: { failCodes: "429,5xx" },
          },
          { name: "steady", addr: `127.0.0.1:${steady.port}`, filter: { host: "f.test" } },
          { name: "dead", addr: `127.0.0.1:${deadPort()}`, filter: { host: "dead.test" } },
          { name: "tls-a", addr: `127.0.0.1:${tlsPortA}`, filter: { host: "a.tls.test", protocol: "tls" } },
          { name: "tls-b", addr: `127.0.0.1:${tlsPortB}`, filter: { host: "b.tls.test", protocol: "tls" } },
          {
            name: "up",
            addr: `127.0.0.1:${tlsPortB}`,
            filter: { host: "up.test", protocol: "http" },
            tls: {
              secure: true,
              serverName: "b.tls.test",
              caFile: cert.certFile,
              options: { minVersion: "VersionTLS12" },
            },
          },
          {
            name: "up-wrong-name",
            addr: `127.0.0.1:${tlsPortB}`,
            filter: { host: "wrong.test" },
            tls: { secure: true, serverName: "c.tls.test", caFile: cert.certFile },
          },
          { name: "ssh", addr: `127.0.0.1:${echo.port}`, protocol: "ssh" },
        ],
      },
    }, {
      name: "rp-close",
      addr: `127.0.0.1:${closing}`,
      handler: { type: "forward", metadata: { sniffing: "true" } },
      listener: { type: "tcp" },
      forwarder: { nodes: [{ name: "a", addr: `127.0.0.1:${a.port}`, filter: { host: "a.test" } }] },
    }],
  };
  try {
    await using gost = await startGost(["-C", JSON.stringify(config)], { listening: 2 });

    // two virtual hosts on one port; the Host's port is ignored; *.b.test takes subdomains
    let r = parse((await get(port, "a.test", "/x")).stdout);
    equal(r.status, 200);
    equal(r.body, "origin-A /x");
    r = parse((await curl("-i", "--resolve", `www.b.test:${port}:127.0.0.1`, `http://www.b.test:${port}/y`)).stdout);
    equal(r.body, "origin-B /y");
    // node b's http settings: Host rewritten, X-From set, User-Agent removed; its response header added
    const seenB = b.seen.at(-1)!;
    equal(seenB.host, "backend-b.internal");
    equal(seenB.headers["x-from"], "gost");
    equal(seenB.headers["user-agent"], undefined);
    match(r.head, /\r\nX-Served-By: node-b/i);
    // unmatched host: GOST's 502, the conn closed
    r = parse((await get(port, "nope.test")).stdout);
    equal(r.status, 502);
    match(r.head, /connection: close/i);

    // path filters pick the node; URL rewrites (GOST's rewrite and rewriteURL) are what the origin sees
    equal(parse((await get(port, "p.test", "/one/item")).stdout).body, "origin-one /v1/item?via=one");
    equal(one.seen.at(-1)!.headers["x-node"], "one");
    equal(parse((await get(port, "p.test", "/two/thing?q=1")).stdout).body, "origin-two /v2/thing?q=1");
    equal(parse((await get(port, "p.test", "/three")).stdout).status, 502);

    // Basic auth of the node (GOST's older node auth, and http.auth)
    r = parse((await get(port, "secret.test")).stdout);
    equal(r.status, 401);
    match(r.head, /www-authenticate: Basic/i);
    equal(parse((await get(port, "secret.test", "/s", "-u", "u:wrong")).stdout).status, 401);
    r = parse((await get(port, "secret.test", "/s", "-u", "u:p")).stdout);
    equal(r.body, "origin-A /s");
    equal(parse((await get(port, "locked.test", "/", "-u", "u:p")).stdout).status, 401);
    equal(parse((await get(port, "locked.test", "/l", "-u", "v:w")).stdout).body, "origin-B /l");

    // body rewrites: a response (plain and gzip: decompressed, rewritten, compressed again), a request
    equal(parse((await get(port, "rw.test", "/r")).stdout).body, "rewritten-rw /r");
    const gz = await curl("--compressed", "-H", "Host: rw.test", `http://127.0.0.1:${port}/gz`);
    equal(gz.stdout, "rewritten-rw unzipped");
    const post = await curl(
      "-H",
      "Host: rw.test",
      "-H",
      "Content-Type: application/json",
      "--data-binary",
      '{"user":"x","secret":"hunter2"}',
      `http://127.0.0.1:${port}/post`,
    );
    equal(post.stdout, 'echo {"user":"x","secret":"***"}');
    equal(rw.seen.at(-1)!.body, '{"user":"x","secret":"***"}');

    // failCodes: flaky's 503 reaches the client and marks it failed; the next request goes to steady
    equal(parse((await get(port, "f.test", "/1")).stdout).status, 503);
    equal(parse((await get(port, "f.test", "/2")).stdout).body, "origin-steady /2");
    equal(parse((await get(port, "f.test", "/3")).stdout).body, "origin-steady /3");
    equal(flaky.seen.length, 1);

    // a node that cannot be reached: GOST's 503
    equal(parse((await get(port, "dead.test")).stdout).status, 503);

    // TLS vhosts by SNI, passed through to the TLS origins (certificate verified by curl)
    for (const [name, label, p] of [["a.tls.test", "TLS-A", tlsPortA], ["b.tls.test", "TLS-B", tlsPortB]] as const) {
      const t = await curl(
        "--cacert",
        cert.certFile,
        "--resolve",
        `${name}:${port}:127.0.0.1`,
        `https://${name}:${port}/t`,
      );
      equal(t.code, 0, t.stderr);
      equal(t.stdout, `${label} sni=${name} host=${name}:${port} path=/t`, `${name} (origin on ${p})`);
    }
    // an SNI no node takes: the conn is closed
    const noSni = await curl(
      "--cacert",
      cert.certFile,
      "--resolve",
      `c.tls.test:${port}:127.0.0.1`,
      `https://c.tls.test:${port}/`,
    );
    ok(noSni.code !== 0, "an unmatched server name must not be served");

    // tls re-origination: plain HTTP in, HTTPS to the origin, verified for serverName with caFile
    r = parse((await get(port, "up.test", "/secure")).stdout);
    equal(r.body, "TLS-B sni=b.tls.test host=up.test path=/secure");
    equal(
      parse((await get(port, "wrong.test")).stdout).status,
      503,
      "a certificate that does not verify is a dead node",
    );

    // a kept-alive conn: its second request goes to another vhost, its third back to the first
    {
      await using c = await RawClient.open(port);
      await c.send("GET /k1 HTTP/1.1\r\nHost: a.test\r\n\r\n");
      equal((await c.readResponse()).body, "origin-A /k1");
      await c.send("GET /k2 HTTP/1.1\r\nHost: x.b.test\r\n\r\n");
      const second = await c.readResponse();
      equal(second.body, "origin-B /k2");
      ok(!/connection: close/i.test(second.head), second.head);
      await c.send("GET /k3 HTTP/1.1\r\nHost: a.test\r\n\r\n");
      equal((await c.readResponse()).body, "origin-A /k3");
    }
    // without http.keepalive (GOST's default) each response ends the conn
    {
      await using c = await RawClient.open(closing);
      await c.send("GET /c1 HTTP/1.1\r\nHost: a.test\r\n\r\nGET /c2 HTTP/1.1\r\nHost: a.test\r\n\r\n");
      const all = await c.readAll();
      match(all, /connection: close/i);
      ok(all.includes("origin-A /c1") && !all.includes("origin-A /c2"), all);
    }

    // raw forwarding by sniffed protocol: SSH goes to the node whose filter takes ssh
    {
      await using c = await RawClient.open(port);
      await c.send("SSH-2.0-OpenSSH_9.6\r\n");
      const buf = new Uint8Array(64);
      const n = await c.conn.read(buf);
      equal(new TextDecoder().decode(buf.subarray(0, n ?? 0)), "SSH-2.0-OpenSSH_9.6\r\n");
    }

    // hostile TLS: a ClientHello cut in half, a record over 2^14: refused and logged, the process serves on
    for (
      const bytes of [[0x16, 0x03, 0x01, 0x00, 0x80, 0x01, 0x00, 0x00, 0x7c, 0x03, 0x03], [
        0x16,
        0x03,
        0x01,
        0x48,
        0x01,
      ]]
    ) {
      await using c = await RawClient.open(port);
      await c.send(new Uint8Array(bytes));
      await c.conn.closeWrite();
      equal(await c.readAll(), "");
    }
    await until(() => gost.lines.some((l) => l.includes("ClientHello cut short")), "the cut hello logged");
    await until(() => gost.lines.some((l) => l.includes("TLS record of 18433 bytes")), "the big record logged");
    equal(parse((await get(port, "a.test", "/after")).stdout).body, "origin-A /after");
    ok(gost.lines.some((l) => l.includes("node for host nope.test/ not found")), "the unmatched host is logged");
  } finally {
    for (const o of [a, b, one, two, rw, flaky, steady]) await o.close();
    await tlsA.close();
    await tlsB.close();
    echo.close();
  }
});

Deno.test("reverse proxy: node filter, http and tls are refused without sniffing, and on handlers that do not route", async () => {
  const base = (handler: Record<string, unknown>, node: Record<string, unknown>) => ({
    services: [{
      name: "s",
      addr: `127.0.0.1:${freePort()}`,
      handler,
      listener: { type: "tcp" },
      forwarder: { nodes: [{ name: "n", addr: "127.0.0.1:1", ...node }] },
    }],
  });
  const cases: [Record<string, unknown>, RegExp][] = [
    [base({ type: "tcp" }, { filter: { host: "a.test" } }), /act only with "sniffing"=true/],
    [base({ type: "relay" }, { http: { host: "a.test" } }), /handler "relay" does not route by a node's http/],
    [base({ type: "tcp", metadata: { sniffing: true } }, { http: { hots: "a" } }), /http\.hots: unknown field "hots"/],
    [base({ type: "tcp", metadata: { sniffing: true } }, { filter: { hots: "a" } }), /filter\.hots: unknown field/],
    [
      base({ type: "tcp", metadata: { sniffing: true } }, { http: { rewriteURL: [{ match: "(" }] } }),
      /rewriteURL\.0\.match: invalid regexp/,
    ],
    [
      base({ type: "tcp", metadata: { sniffing: true } }, { http: { rewriteBody: [{ match: "json:model" }] } }),
      /JSON path matches/,
    ],
    [base({ type: "tcp", metadata: { sniffing: true } }, { http: { failCodes: "5x" } }), /failCodes item "5x"/],
    [base({ type: "tcp", metadata: { sniffing: true } }, { matcher: { rule: "Host(`a`)" } }), /matcher rules/],
    [base({ type: "udp", metadata: { sniffing: true } }, {}), /sniffing=true is a GOST key gost\.ts does not act on/],
    [base({ type: "tcp", metadata: { readTimeout: "5s" } }, {}), /"readTimeout" acts only with sniffing=true/],
  ];
  for (const [config, want] of cases) match(await buildError(config), want, JSON.stringify(config));
});

/** Builds a config in-process; the error message, or "" when it builds. */
async function buildError(config: Record<string, unknown>): Promise<string> {
  let rt: Runtime | undefined;
  try {
    const { config: parsed } = await parseConfig(JSON.stringify(config), "rp.json");
    rt = await Runtime.start(parsed, { reg: createBuiltinRegistries(), logger: nopLogger });
    return "";
  } catch (err) {
    return (err as Error).message;
  } finally {
    await rt?.close();
  }
}

Deno.test("reverse proxy: large bodies both ways (100-continue), chunked and HTTP/1.0 clients, HEAD, a WebSocket upgrade", async () => {
  const big = new Uint8Array(8 << 20).map((_, i) => i * 7);
  const digest = async (b: Uint8Array) =>
    new Uint8Array(await crypto.subtle.digest("SHA-256", b as Uint8Array<ArrayBuffer>)).join(",");
  const want = await digest(big);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/ws") {
      const { socket, response } = Deno.upgradeWebSocket(req);
      socket.onmessage = (e) => socket.send(`echo ${e.data}`);
      return response;
    }
    if (url.pathname === "/upload") return new Response(await digest(new Uint8Array(await req.arrayBuffer())));
    if (url.pathname === "/chunked") {
      return new Response(
        new ReadableStream({
          start(c) {
            c.enqueue(new TextEncoder().encode("part1 "));
            c.enqueue(new TextEncoder().encode("part2"));
            c.close();
          },
        }),
      );
    }
    return new Response(big as Uint8Array<ArrayBuffer>);
  });
  const port = freePort();
  const config = {
    services: [{
      name: "rp",
      addr: `127.0.0.1:${port}`,
      handler: { type: "tcp", metadata: { sniffing: true, "http.keepalive": true } },
      listener: { type: "tcp" },
      forwarder: { nodes: [{ name: "o", addr: `127.0.0.1:${server.addr.port}`, filter: { host: "o.test" } }] },
    }],
  };
  try {
    await using _gost = await startGost(["-C", JSON.stringify(config)]);
    const url = `http://127.0.0.1:${port}`;
    // 8 MiB down, and up with curl's Expect: 100-continue
    const down = await curl("-H", "Host: o.test", "-o", "-", `${url}/big`);
    equal(await digest(down.bytes), want);
    const file = await Deno.makeTempFile();
    try {
      await Deno.writeFile(file, big);
      const up = await curl(
        "-H",
        "Host: o.test",
        "-H",
        "Expect: 100-continue",
        "--data-binary",
        `@${file}`,
        `${url}/upload`,
      );
      equal(up.stdout, want);
    } finally {
      await Deno.remove(file);
    }
    // a chunked response: passed through to HTTP/1.1, unframed (then closed) for HTTP/1.0
    equal((await curl("-H", "Host: o.test", `${url}/chunked`)).stdout, "part1 part2");
    {
      await using c = await RawClient.open(port);
      await c.send("GET /chunked HTTP/1.0\r\nHost: o.test\r\n\r\n");
      const all = await c.readAll();
      match(all, /^HTTP\/1\.0 200/);
      ok(all.endsWith("\r\n\r\npart1 part2"), all);
      ok(!/transfer-encoding/i.test(all), all);
    }
    // HEAD: the length, no body, and the conn goes on
    {
      await using c = await RawClient.open(port);
      await c.send(
        "HEAD /big HTTP/1.1\r\nHost: o.test\r\n\r\nGET /chunked HTTP/1.1\r\nHost: o.test\r\nConnection: close\r\n\r\n",
      );
      const all = await c.readAll();
      match(all, new RegExp(`content-length: ${big.length}`, "i"));
      ok(all.endsWith("part1 part2\r\n0\r\n\r\n") || all.includes("part1 part2"), all);
    }
    // a WebSocket upgrade is relayed, then carried raw both ways (one masked text frame out, its echo back)
    {
      await using c = await RawClient.open(port);
      await c.send(
        "GET /ws HTTP/1.1\r\nHost: o.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      );
      let text = "";
      const buf = new Uint8Array(4096);
      while (!text.includes("\r\n\r\n")) {
        const n = await c.conn.read(buf);
        if (n === null) break;
        text += new TextDecoder("latin1").decode(buf.subarray(0, n));
      }
      match(text, /^HTTP\/1\.1 101/);
      match(text, /sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/i);
      const mask = [1, 2, 3, 4];
      const payload = [..."hi"].map((ch, i) => ch.charCodeAt(0) ^ mask[i % 4]);
      await c.send(new Uint8Array([0x81, 0x80 | 2, ...mask, ...payload]));
      const n = await c.conn.read(buf);
      const frame = buf.subarray(0, n ?? 0);
      equal(frame[0], 0x81);
      equal(new TextDecoder().decode(frame.subarray(2, 2 + frame[1])), "echo hi");
    }
  } finally {
    await server.shutdown();
  }
});
