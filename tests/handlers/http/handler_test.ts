import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import { closeQuietly, PrefixConn } from "../../../core/conn.ts";
import { AuthError, ConfigError } from "../../../core/errors.ts";
import { createLogger, MemorySink, nopLogger } from "../../../core/log.ts";
import { Metadata } from "../../../core/metadata.ts";
import type { Handler, HandlerOptions } from "../../../core/contracts.ts";
import { StaticAuthenticator } from "../../../core/routing/auth.ts";
import { DirectRouter } from "../../../core/routing/router.ts";
import { parseBasicCredentials } from "../../../core/routing/auth.ts";
import { stripHopByHop } from "../../../handlers/http/forward.ts";
import { HttpHandler } from "../../../handlers/http/handler.ts";
import { parseHttpMetadata } from "../../../handlers/http/metadata.ts";
import {
  buildReply,
  HeaderList,
  HttpStatusError,
  latin1Decode,
  latin1Encode,
  parseAuthority,
  parseChunkSize,
  parseRequestHead,
  parseResponseHead,
  requestFraming,
  responseFraming,
  serializeHead,
  splitAbsoluteUri,
} from "../../../handlers/http/wire.ts";
import { curl } from "../../helpers/run.ts";
import { httpOrigin, tcpEcho } from "../../helpers/servers.ts";
import { startService } from "../../helpers/service.ts";
import { defaultReply, RawClient, rawOrigin } from "../../helpers/http_raw.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const http = (o: HandlerOptions) => new HttpHandler(o);
const users = [{ username: "u", password: "p" }];

function headers(...pairs: [string, string][]): HeaderList {
  const h = new HeaderList();
  for (const [k, v] of pairs) h.add(k, v);
  return h;
}

function status(fn: () => unknown): number {
  try {
    fn();
  } catch (err) {
    if (err instanceof HttpStatusError) return err.status;
    throw err;
  }
  return 0;
}

// --- wire -------------------------------------------------------------------------------------------------------

Deno.test("http wire parses a request head keeping header names, order and values", () => {
  const req = parseRequestHead(["GET http://a.example/x?y HTTP/1.1", "Host: a.example", "X-Two:  v  ", "x-two: w"]);
  equal(req.method, "GET");
  equal(req.target, "http://a.example/x?y");
  equal(req.minor, 1);
  deepEqual(req.headers.getAll("X-TWO"), ["v", "w"]);
  equal(
    latin1Decode(serializeHead("GET /x?y HTTP/1.1", req.headers)),
    "GET /x?y HTTP/1.1\r\nHost: a.example\r\nX-Two: v\r\nx-two: w\r\n\r\n",
  );
  equal(latin1Decode(latin1Encode("\xe9\x80")), "\xe9\x80");
});

Deno.test("http wire answers 400 to malformed request lines and headers, 505 to HTTP/2", () => {
  for (
    const lines of [
      ["GET http://a/ HTTP/1.1 extra"],
      ["GET  http://a/ HTTP/1.1"],
      ["G@T http://a/ HTTP/1.1"],
      ["GET http://a/ HTTP/x"],
      ["GET http://a/ HTTP/1.1", "No colon here"],
      ["GET http://a/ HTTP/1.1", "Bad Name: v"],
      ["GET http://a/ HTTP/1.1", "Name : v"],
      ["GET http://a/ HTTP/1.1", " folded"],
      ["GET http://a/ HTTP/1.1", "X: a\x00b"],
    ]
  ) equal(status(() => parseRequestHead(lines)), 400, JSON.stringify(lines));
  equal(status(() => parseRequestHead(["PRI * HTTP/2.0"])), 505);
  equal(status(() => parseResponseHead(["HTTP/1.1 OK"])), 502);
  equal(parseResponseHead(["HTTP/1.0 204"]).reason, "");
});

Deno.test("http wire frames request bodies and refuses ambiguous or absurd lengths", () => {
  deepEqual(requestFraming(headers()), { kind: "none" });
  deepEqual(requestFraming(headers(["Content-Length", "0"])), { kind: "none" });
  deepEqual(requestFraming(headers(["Content-Length", "12"])), { kind: "length", length: 12 });
  deepEqual(requestFraming(headers(["Content-Length", "5, 5"])), { kind: "length", length: 5 });
  deepEqual(requestFraming(headers(["Transfer-Encoding", "gzip, chunked"])), { kind: "chunked" });
  for (
    const h of [
      headers(["Content-Length", "99999999999999999999"]),
      headers(["Content-Length", "-1"]),
      headers(["Content-Length", "5"], ["Content-Length", "6"]),
      headers(["Content-Length", ""]),
      headers(["Transfer-Encoding", "chunked"], ["Content-Length", "5"]),
      headers(["Transfer-Encoding", "gzip"]),
    ]
  ) equal(status(() => requestFraming(h)), 400);
});

Deno.test("http wire frames responses: HEAD, 1xx, 204 and 304 have no body; else chunked, length or close", () => {
  const cl = headers(["Content-Length", "3"]);
  deepEqual(responseFraming("HEAD", 200, cl), { kind: "none" });
  deepEqual(responseFraming("GET", 204, cl), { kind: "none" });
  deepEqual(responseFraming("GET", 304, cl), { kind: "none" });
  deepEqual(responseFraming("GET", 200, cl), { kind: "length", length: 3 });
  deepEqual(responseFraming("GET", 200, headers(["Transfer-Encoding", "chunked"])), { kind: "chunked" });
  deepEqual(responseFraming("GET", 200, headers()), { kind: "close" });
  equal(status(() => responseFraming("GET", 200, headers(["Content-Length", "x"]))), 502);
});

Deno.test("http wire parses chunk sizes with extensions and refuses absurd ones", () => {
  equal(parseChunkSize("1a"), 26);
  equal(parseChunkSize("FF ; name=value"), 255);
  equal(parseChunkSize("0"), 0);
  equal(status(() => parseChunkSize("fffffffffffffffff")), 400);
  equal(status(() => parseChunkSize("")), 400);
  equal(status(() => parseChunkSize("-1")), 400);
});

Deno.test("http wire parses authorities and absolute URIs", () => {
  deepEqual(parseAuthority("example.com", 80), { addr: "example.com:80", host: "example.com" });
  deepEqual(parseAuthority("user:pw@example.com:8080", 80), { addr: "example.com:8080", host: "example.com:8080" });
  deepEqual(parseAuthority("[::1]:443", 80), { addr: "[::1]:443", host: "[::1]:443" });
  deepEqual(parseAuthority("[::1]", 80), { addr: "[::1]:80", host: "[::1]" });
  for (const bad of ["", "a b", "host:99999", "host:0", "[zz]:1", "a/b"]) {
    equal(status(() => parseAuthority(bad, 80)), 400);
  }
  deepEqual(splitAbsoluteUri("http://h:1/p?q#frag"), { authority: "h:1", path: "/p?q" });
  deepEqual(splitAbsoluteUri("HTTP://h?q"), { authority: "h", path: "/?q" });
  equal(splitAbsoluteUri("/relative"), null);
  equal(splitAbsoluteUri("https://h/"), null);
});

Deno.test("http handler strips hop-by-hop headers and those Connection names, but never framing headers", () => {
  const h = headers(
    ["Host", "a"],
    ["Connection", "keep-alive, X-Secret, Content-Length, Transfer-Encoding"],
    ["Proxy-Connection", "keep-alive"],
    ["Keep-Alive", "300"],
    ["Proxy-Authorization", "Basic dTpw"],
    ["TE", "trailers"],
    ["Upgrade", "h2c"],
    ["X-Secret", "1"],
    ["Content-Length", "3"],
    ["Accept", "*/*"],
  );
  deepEqual(stripHopByHop(h, false).entries.map((e) => e.name), ["Host", "Content-Length", "Accept"]);
  const ws = headers(["Connection", "Upgrade"], ["Upgrade", "websocket"], ["Sec-WebSocket-Key", "k"]);
  deepEqual(stripHopByHop(ws, true).entries.map((e) => `${e.name}: ${e.value}`), [
    "Sec-WebSocket-Key: k",
    "Connection: Upgrade",
    "Upgrade: websocket",
  ]);
});

Deno.test("http handler decodes Basic credentials and rejects anything else", () => {
  deepEqual(parseBasicCredentials("Basic dTpw"), { username: "u", password: "p" });
  deepEqual(parseBasicCredentials("basic " + btoa("a:b:c")), { username: "a", password: "b:c" });
  equal(parseBasicCredentials(undefined), null);
  equal(parseBasicCredentials("Bearer dTpw"), null);
  equal(parseBasicCredentials("Basic " + btoa("nocolon")), null);
  equal(parseBasicCredentials("Basic !!!"), null);
});

Deno.test("Basic credentials are read strictly (RFC 7617, RFC 7235): 1*SP, padded base64, nothing around the token", () => {
  deepEqual(parseBasicCredentials("Basic   dTpw"), { username: "u", password: "p" });
  deepEqual(parseBasicCredentials("BASIC " + btoa("bob:pw12")), { username: "bob", password: "pw12" });
  deepEqual(parseBasicCredentials("Basic " + btoa("u:\u00e9")), null, "latin1 bytes are not UTF-8");
  deepEqual(parseBasicCredentials("Basic dTrDqQ=="), { username: "u", password: "\u00e9" }, "UTF-8");
  deepEqual(parseBasicCredentials("Basic " + btoa(":p")), { username: "", password: "p" });
  for (
    const bad of [
      "Basic\tdTpw",
      "Basic dTpw\r",
      "Basic dTpw\n",
      "Basic dTpw ",
      " Basic dTpw",
      "Basic dTp",
      "Basic Ym9iOnB3MTI",
      "Basic Ym9iOnB3MTI==",
      "Basic dT=w",
      "Basic dT pw",
      "Basic dTpw====",
      "Basic -_-_",
      "Basic " + btoa("u:p\x00"),
      "Basic " + btoa("u:p\x7f"),
      "Basic ",
      "Basic",
      "Basicx dTpw",
    ]
  ) equal(parseBasicCredentials(bad), null, JSON.stringify(bad));
});

Deno.test("http handler metadata has GOST's defaults and names a bad key", () => {
  const md = parseHttpMetadata(new Metadata());
  equal(md.readTimeoutMs, 15_000);
  equal(md.realm, "gost");
  deepEqual(md.replyHeaders, [["Proxy-Agent", "gost/3.0"]]);
  const custom = parseHttpMetadata(new Metadata({ realm: "r", header: { "X-A": "1" }, readTimeout: "2s" }));
  equal(custom.realm, "r");
  equal(custom.readTimeoutMs, 2000);
  deepEqual(custom.replyHeaders, [["Proxy-Agent", "gost/3.0"], ["X-A", "1"]]);
  throws(() => parseHttpMetadata(new Metadata({ readTimeout: "15x" })), (e) => e instanceof ConfigError);
  throws(() => parseHttpMetadata(new Metadata({ header: "x" })), /header/);
  equal(
    latin1Decode(buildReply(200, md.replyHeaders)),
    "HTTP/1.1 200 Connection established\r\nProxy-Agent: gost/3.0\r\n\r\n",
  );
});

// --- curl -------------------------------------------------------------------------------------------------------

Deno.test("http handler forwards absolute-URI GETs from curl, small and large", async () => {
  const origin = httpOrigin();
  await using svc = await startService({ handler: http });
  const r = await curl("-x", `http://${svc.addr}`, "-i", `http://127.0.0.1:${origin.port}/x`);
  equal(r.code, 0, r.stderr);
  match(r.stdout, /^HTTP\/1\.1 200/);
  match(r.stdout, /x-origin: yes/i);
  ok(r.stdout.endsWith("\r\n\r\nhello /x"), r.stdout);
  const big = await curl("-x", `http://${svc.addr}`, `http://127.0.0.1:${origin.port}/bytes/5000000`);
  equal(big.bytes.length, 5_000_000);
  ok(big.bytes.every((b) => b === 97));
  await origin.close();
});

Deno.test("http handler tunnels CONNECT from curl -p with a Proxy-Agent header", async () => {
  const origin = httpOrigin();
  await using svc = await startService({ handler: http });
  const r = await curl("-p", "-x", `http://${svc.addr}`, "-v", `http://127.0.0.1:${origin.port}/y`);
  equal(r.code, 0, r.stderr);
  equal(r.stdout, "hello /y");
  match(r.stderr, /< HTTP\/1\.1 200 Connection established/);
  match(r.stderr, /< Proxy-Agent: gost\/3\.0/);
  await origin.close();
});

Deno.test("http handler accepts the right proxy credentials and sets the client id", async () => {
  const origin = httpOrigin();
  const ids: (string | undefined)[] = [];
  const spy = (o: HandlerOptions): Handler => {
    const h = new HttpHandler(o);
    return {
      init: (md) => h.init(md),
      handle: (c, ctx) => h.handle(c, ctx).finally(() => ids.push(ctx.clientId)),
    };
  };
  const sink = new MemorySink();
  await using svc = await startService({ handler: spy, users, logger: createLogger({ level: "info" }, sink) });
  const url = `http://127.0.0.1:${origin.port}/ok`;
  equal((await curl("-x", `http://${svc.addr}`, "--proxy-user", "u:p", url)).stdout, "hello /ok");
  equal((await curl("-p", "-x", `http://${svc.addr}`, "--proxy-user", "u:p", url)).stdout, "hello /ok");
  await svc.close();
  deepEqual(ids, ["u", "u"]);
  ok(sink.lines.some((l) => l.includes("><") && l.includes('"user":"u"')), sink.lines.join(""));
  await origin.close();
});

Deno.test("http handler answers 407 with Proxy-Authenticate when credentials are wrong", async () => {
  const origin = httpOrigin();
  await using svc = await startService({
    handler: http,
    users,
    metadata: { authBasicRealm: "test realm" },
    stats: true,
  });
  const url = `http://127.0.0.1:${origin.port}/`;
  for (const cred of ["u:wrong", "nobody:p", "u:"]) {
    const r = await curl("-x", `http://${svc.addr}`, "--proxy-user", cred, "-i", url);
    match(r.stdout, /^HTTP\/1\.1 407 Proxy Authentication Required\r\n/, cred);
    match(r.stdout, /\r\nProxy-Authenticate: Basic realm="test realm"\r\n/);
    match(r.stdout, /\r\nProxy-Agent: gost\/3\.0\r\n/);
  }
  const tunnel = await curl("-p", "-x", `http://${svc.addr}`, "--proxy-user", "u:wrong", "-w", "%{http_connect}", url);
  equal(tunnel.code, 56);
  equal(tunnel.stdout, "407");
  equal(origin.requests, 0);
  await svc.close();
  equal(svc.service.stats!.toJSON().totalErrs, 0, "auth failures are not server errors");
  await origin.close();
});

Deno.test("http handler answers 407 when credentials are missing and auth is required", async () => {
  const origin = httpOrigin();
  await using svc = await startService({ handler: http, users });
  const r = await curl(
    "-x",
    `http://${svc.addr}`,
    "-w",
    "%{http_code}",
    "-o",
    "/dev/null",
    `http://127.0.0.1:${origin.port}/`,
  );
  equal(r.stdout, "407");
  equal(origin.requests, 0);
  await origin.close();
});

Deno.test("http handler round-trips POST bodies: small, large with Expect: 100-continue, and chunked", async () => {
  const origin = httpOrigin();
  await using svc = await startService({ handler: http });
  const url = `http://127.0.0.1:${origin.port}/post`;
  equal((await curl("-x", `http://${svc.addr}`, "--data-binary", "ping=1", url)).stdout, "ping=1");
  const big = new Uint8Array(3 << 20).map((_, i) => 97 + (i % 26));
  const file = await Deno.makeTempFile();
  try {
    await Deno.writeFile(file, big);
    const r = await curl("-x", `http://${svc.addr}`, "-H", "Expect: 100-continue", "--data-binary", `@${file}`, url);
    equal(r.code, 0, r.stderr);
    ok(r.stdout === dec(big), `large body differs (${r.stdout.length} bytes)`);
    const chunked = await curl(
      "-x",
      `http://${svc.addr}`,
      "-H",
      "Transfer-Encoding: chunked",
      "--data-binary",
      `@${file}`,
      url,
    );
    ok(chunked.stdout === dec(big), `chunked body differs (${chunked.stdout.length} bytes)`);
  } finally {
    await Deno.remove(file);
  }
  await origin.close();
});

Deno.test("http handler keeps the client conn alive: two URLs in one curl use one proxy conn and one upstream conn", async () => {
  const origin = rawOrigin();
  await using svc = await startService({ handler: http, stats: true });
  const base = `http://127.0.0.1:${origin.port}`;
  const r = await curl("-x", `http://${svc.addr}`, `${base}/a`, `${base}/b`);
  equal(r.stdout, "hello /ahello /b");
  equal(svc.service.stats!.toJSON().totalConns, 1);
  equal(origin.state.conns, 1);
  match(origin.state.heads[0], /^GET \/a HTTP\/1\.1\r\n/);
  ok(!/proxy-connection/i.test(origin.state.heads[0]), origin.state.heads[0]);
  await origin.close();
});

Deno.test("http handler serves a conn whose first byte was already read (PrefixConn, as auto does)", async () => {
  const origin = httpOrigin();
  const sniffing = (o: HandlerOptions): Handler => {
    const h = new HttpHandler(o);
    return {
      init: (md) => h.init(md),
      async handle(conn, ctx) {
        const first = new Uint8Array(1);
        if ((await conn.read(first)) !== 1) return closeQuietly(conn);
        await h.handle(new PrefixConn(conn, first), ctx);
      },
    };
  };
  await using svc = await startService({ handler: sniffing });
  const url = `http://127.0.0.1:${origin.port}/sniffed`;
  equal((await curl("-x", `http://${svc.addr}`, url)).stdout, "hello /sniffed");
  equal((await curl("-p", "-x", `http://${svc.addr}`, url)).stdout, "hello /sniffed");
  await origin.close();
});

// --- raw sockets ------------------------------------------------------------------------------------------------

Deno.test("http handler sends the next keep-alive request to another host on another upstream conn", async () => {
  // The conn to `a` waits in the pool while `b` is asked, and serves the third request; without the pool it is
  // closed and `a` is dialed again.
  for (const [keepAlive, aConns] of [[true, 1], [false, 2]] as const) {
    const a = rawOrigin(() => "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA");
    const b = rawOrigin(() => "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nB");
    await using svc = await startService({ handler: http, metadata: { upstreamKeepAlive: keepAlive } });
    await using c = await RawClient.open(svc.port);
    for (const [o, want] of [[a, "A"], [b, "B"], [a, "A"]] as const) {
      await c.send(`GET http://127.0.0.1:${o.port}/ HTTP/1.1\r\nHost: x\r\n\r\n`);
      equal((await c.readResponse()).body, want);
    }
    equal(a.state.conns, aConns, `upstreamKeepAlive=${keepAlive}`);
    equal(b.state.conns, 1);
    match(a.state.heads[0], /\r\nHost: 127\.0\.0\.1:\d+(\r\n|$)/);
    await a.close();
    await b.close();
  }
});

Deno.test("http handler retries a body-less request on a new upstream conn when the kept one was closed", async () => {
  // The origin answers without "Connection: close" and then closes, as an idle timeout would.
  const quiet = rawOrigin((head, _b, nth) => nth === 0 ? defaultReply(head) : null);
  await using svc = await startService({ handler: http });
  await using c = await RawClient.open(svc.port);
  await c.send(`GET http://127.0.0.1:${quiet.port}/one HTTP/1.1\r\nHost: x\r\n\r\n`);
  equal((await c.readResponse()).body, "hello /one");
  await c.send(`GET http://127.0.0.1:${quiet.port}/two HTTP/1.1\r\nHost: x\r\n\r\n`);
  equal((await c.readResponse()).body, "hello /two");
  equal(quiet.state.conns, 2);
  await quiet.close();
});

Deno.test("http handler streams chunked and until-close responses and closes after HTTP/1.0", async () => {
  const origin = rawOrigin((head) => {
    if (head.includes("/chunked")) {
      return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n3;ext\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n";
    }
    if (head.includes("/close")) return "HTTP/1.0 200 OK\r\n\r\nuntil close";
    return defaultReply(head);
  });
  await using svc = await startService({ handler: http });
  const base = `http://127.0.0.1:${origin.port}`;
  {
    await using c = await RawClient.open(svc.port);
    await c.send(`GET ${base}/chunked HTTP/1.1\r\nHost: x\r\n\r\nGET ${base}/after HTTP/1.1\r\nHost: x\r\n\r\n`);
    const second = `HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nhello /after`;
    await c.send(`GET ${base}/close HTTP/1.1\r\nHost: x\r\n\r\n`);
    const all = await c.readAll();
    equal(
      all,
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n3;ext\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n" +
        second + "HTTP/1.0 200 OK\r\nConnection: close\r\n\r\nuntil close",
    );
  }
  {
    await using c = await RawClient.open(svc.port);
    await c.send(`GET ${base}/old HTTP/1.0\r\n\r\n`);
    equal(await c.readAll(), "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\nhello /old");
  }
  await origin.close();
});

Deno.test("http handler passes bytes sent right after the CONNECT head to the target", async () => {
  const echo = tcpEcho();
  await using svc = await startService({ handler: http });
  await using c = await RawClient.open(svc.port);
  await c.send(`CONNECT 127.0.0.1:${echo.port} HTTP/1.1\r\nHost: x\r\n\r\nearly bytes`);
  await c.conn.closeWrite();
  equal(await c.readAll(), "HTTP/1.1 200 Connection established\r\nProxy-Agent: gost/3.0\r\n\r\nearly bytes");
  echo.close();
});

Deno.test("http handler relays a WebSocket upgrade", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onmessage = (e) => socket.send(`echo ${e.data}`);
    return response;
  });
  await using svc = await startService({ handler: http });
  await using c = await RawClient.open(svc.port);
  await c.send(
    `GET http://127.0.0.1:${server.addr.port}/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
  );
  const res = await c.readResponse();
  match(res.head, /^HTTP\/1\.1 101 /);
  match(res.head, /\r\nupgrade: websocket/i);
  const mask = [1, 2, 3, 4];
  const payload = enc("hi");
  await c.send(new Uint8Array([0x81, 0x80 | payload.length, ...mask, ...payload.map((b, i) => b ^ mask[i % 4])]));
  const frame = new Uint8Array(64);
  let got = 0;
  while (got < 9) got += (await c.conn.read(frame.subarray(got))) ?? 0;
  equal(dec(frame.subarray(2, 2 + frame[1])), "echo hi");
  closeQuietly(c.conn);
  await server.shutdown();
});

Deno.test("http handler answers 400 to random bytes and closes", async () => {
  await using svc = await startService({ handler: http });
  await using c = await RawClient.open(svc.port);
  await c.send(crypto.getRandomValues(new Uint8Array(2048)));
  await c.send("\r\n\r\n");
  match(await c.readAll(), /^HTTP\/1\.1 400 Bad Request\r\n[^]*Connection: close\r\n\r\n$/);
});

Deno.test("http handler answers 431 to a 1 MB header line", async () => {
  await using svc = await startService({ handler: http });
  await using c = await RawClient.open(svc.port);
  const sending = c.send(`GET http://127.0.0.1:1/ HTTP/1.1\r\nX-Big: ${"a".repeat(1 << 20)}\r\n\r\n`).catch(() => {});
  match(await c.readAll(), /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
  await sending;
});

Deno.test("http handler answers 400 to an absurd Content-Length and to an origin-form request", async () => {
  await using svc = await startService({ handler: http });
  for (
    const req of [
      "POST http://127.0.0.1:1/ HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
      "GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
      "GET https://127.0.0.1/ HTTP/1.1\r\n\r\n",
    ]
  ) {
    await using c = await RawClient.open(svc.port);
    await c.send(req);
    match(await c.readAll(), /^HTTP\/1\.1 400 Bad Request\r\n/, req);
  }
});

Deno.test("http handler answers 400 to an absurd chunk size or a broken chunk in a request body", async () => {
  const origin = rawOrigin(() => "");
  await using svc = await startService({ handler: http });
  for (const body of ["fffffffffffffffffff\r\n", "3\r\nabcXY0\r\n\r\n", `${"1".repeat(20_000)}\r\n`]) {
    await using c = await RawClient.open(svc.port);
    await c.send(`POST http://127.0.0.1:${origin.port}/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n${body}`);
    match(await c.readAll(), /^HTTP\/1\.1 400 Bad Request\r\n/, body.slice(0, 20));
  }
  await origin.close();
});

Deno.test("http handler forwards HEAD, 204 and 304 responses without a body on a kept conn", async () => {
  const origin = rawOrigin((head) => {
    if (head.startsWith("HEAD")) return "HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n";
    if (head.includes("/204")) return "HTTP/1.1 204 No Content\r\n\r\n";
    if (head.includes("/304")) return "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n";
    return defaultReply(head);
  });
  await using svc = await startService({ handler: http });
  await using c = await RawClient.open(svc.port);
  const base = `http://127.0.0.1:${origin.port}`;
  await c.send(`HEAD ${base}/h HTTP/1.1\r\n\r\nGET ${base}/204 HTTP/1.1\r\n\r\nGET ${base}/304 HTTP/1.1\r\n\r\n`);
  await c.send(`GET ${base}/end HTTP/1.1\r\nConnection: close\r\n\r\n`);
  equal(
    await c.readAll(),
    "HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n" +
      "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n" +
      "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\nhello /end",
  );
  equal(origin.state.conns, 1);
  await origin.close();
});

Deno.test("http handler ends a request waiting on a silent upstream when the service closes", async () => {
  const origin = rawOrigin(() => "");
  const svc = await startService({ handler: http });
  await using c = await RawClient.open(svc.port);
  await c.send(`GET http://127.0.0.1:${origin.port}/ HTTP/1.1\r\n\r\n`);
  await origin.state.firstHead;
  const start = performance.now();
  await svc.close();
  ok(performance.now() - start < 1000);
  equal(await c.readAll(), "");
  await origin.close();
});

Deno.test("http handler survives truncated heads, garbage methods and dead targets, then still serves curl", async () => {
  const origin = httpOrigin();
  const dead = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadPort = (dead.addr as Deno.NetAddr).port;
  dead.close();
  await using svc = await startService({ handler: http, stats: true });
  {
    await using c = await RawClient.open(svc.port);
    await c.send("GET http://127.0.0.1/ HTTP/1.1\r\nHost: x");
    await c.conn.closeWrite();
    equal(await c.readAll(), "");
  }
  {
    await using c = await RawClient.open(svc.port);
    await c.send("G\x01T http://127.0.0.1/ HTTP/1.1\r\n\r\n");
    match(await c.readAll(), /^HTTP\/1\.1 40[05] /);
  }
  for (
    const req of [
      `CONNECT 127.0.0.1:${deadPort} HTTP/1.1\r\n\r\n`,
      `GET http://127.0.0.1:${deadPort}/ HTTP/1.1\r\n\r\n`,
    ]
  ) {
    await using c = await RawClient.open(svc.port);
    await c.send(req);
    match(await c.readAll(), /^HTTP\/1\.1 502 Bad Gateway\r\n/);
  }
  const r = await curl("-x", `http://${svc.addr}`, `http://127.0.0.1:${origin.port}/still`);
  equal(r.stdout, "hello /still");
  const st = svc.service.stats!.toJSON();
  equal(st.totalConns, 5);
  await origin.close();
});

Deno.test("http handler closes a slow client when readTimeout passes", async () => {
  await using svc = await startService({ handler: http, metadata: { readTimeout: "300ms" } });
  await using c = await RawClient.open(svc.port);
  const start = performance.now();
  await c.send("GET http://127.0.0.1/ HTTP/1.1\r\nHost:");
  equal(await c.readAll(), "");
  const elapsed = performance.now() - start;
  ok(elapsed >= 250 && elapsed < 1000, `closed after ${elapsed.toFixed(0)} ms`);
});

Deno.test("http handler closes an idle keep-alive conn quietly after readTimeout", async () => {
  const origin = rawOrigin();
  await using svc = await startService({ handler: http, metadata: { readTimeout: "300ms" }, stats: true });
  await using c = await RawClient.open(svc.port);
  await c.send(`GET http://127.0.0.1:${origin.port}/k HTTP/1.1\r\n\r\n`);
  equal((await c.readResponse()).body, "hello /k");
  equal(await c.readAll(), "");
  await svc.close();
  equal(svc.service.stats!.toJSON().totalErrs, 0);
  await origin.close();
});

Deno.test("http handler reports wrong credentials as AuthError", async () => {
  const h = new HttpHandler({
    service: "s",
    logger: nopLogger,
    router: new DirectRouter(),
    auth: new StaticAuthenticator(users),
  });
  await h.init(new Metadata());
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = await Deno.connect({ hostname: "127.0.0.1", port: (ln.addr as Deno.NetAddr).port });
  const server = await ln.accept();
  ln.close();
  await client.write(enc("GET http://127.0.0.1:1/ HTTP/1.1\r\nProxy-Authorization: Basic dTp4\r\n\r\n"));
  const ctx = { sid: "1", service: "s", src: "c", signal: new AbortController().signal, logger: nopLogger };
  const handled = h.handle(server, ctx).then(() => null, (e) => e);
  const raw = new RawClient(client);
  match(await raw.readAll(), /^HTTP\/1\.1 407 /);
  closeQuietly(client);
  ok((await handled) instanceof AuthError);
});
