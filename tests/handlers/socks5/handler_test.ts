import { deepEqual, equal, notEqual, ok } from "node:assert/strict";
import { HandshakeReader } from "../../../core/bufio.ts";
import { PrefixConn } from "../../../core/conn.ts";
import { nopLogger } from "../../../core/log.ts";
import { Metadata } from "../../../core/metadata.ts";
import type { ConnContext } from "../../../core/contracts.ts";
import { StaticAuthenticator } from "../../../core/routing/auth.ts";
import { DefaultRouter } from "../../../core/routing/router.ts";
import { Socks5Handler } from "../../../handlers/socks5/handler.ts";
import {
  decodeUdpHeader,
  encodeGreeting,
  encodeRequest,
  encodeUdpHeader,
  encodeUserPassRequest,
  readReply,
  type Socks5Message,
} from "../../../handlers/socks5/wire.ts";
import { curl } from "../../helpers/run.ts";
import { httpOrigin, udpEcho } from "../../helpers/servers.ts";
import { eventually } from "../../helpers/wait.ts";
import { startService } from "../../helpers/service.ts";
import { exchange } from "../../helpers/io.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const b = (...xs: (number | string | Uint8Array)[]) =>
  Uint8Array.from(xs.flatMap((x) => typeof x === "string" ? [...enc.encode(x)] : typeof x === "number" ? [x] : [...x]));
const users = [{ username: "u", password: "p" }];
const REP_ZERO = [1, 0, 0, 0, 0, 0, 0];

/** A SOCKS5 client conn past greeting (and auth when `creds`). */
async function socksClient(port: number, creds?: [string, string], hostname = "127.0.0.1") {
  const conn = await Deno.connect({ hostname, port });
  const r = new HandshakeReader(conn);
  await conn.write(encodeGreeting([creds ? 2 : 0]));
  deepEqual(await r.readFull(2), b(5, creds ? 2 : 0));
  if (creds) {
    await conn.write(encodeUserPassRequest(...creds));
    deepEqual(await r.readFull(2), b(1, 0));
  }
  const request = async (cmd: number, host: string, p: number): Promise<Socks5Message> => {
    await conn.write(encodeRequest(cmd, host, p));
    return await readReply(r);
  };
  return { conn, r, request, [Symbol.dispose]: () => conn.close() };
}

/** Receives one datagram, failing after `ms`. */
async function receiveWithin(sock: Deno.DatagramConn, ms = 3000): Promise<[Uint8Array, Deno.NetAddr]> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => timer = setTimeout(() => reject(new Error("no datagram")), ms));
  try {
    const [d, a] = await Promise.race([sock.receive(), t]);
    return [d, a as Deno.NetAddr];
  } finally {
    clearTimeout(timer);
  }
}

function udpPortFree(port: number): boolean {
  try {
    Deno.listenDatagram({ hostname: "127.0.0.1", port, transport: "udp" }).close();
    return true;
  } catch {
    return false;
  }
}

async function tcpPortClosed(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return false;
  } catch {
    return true;
  }
}

Deno.test("socks5 handler relays curl --socks5 and --socks5-hostname without auth", async () => {
  const origin = httpOrigin();
  await using svc = await startService({ handler: (o) => new Socks5Handler(o) });
  const a = await curl("--socks5", svc.addr, `http://127.0.0.1:${origin.port}/five`);
  equal(a.code, 0, a.stderr);
  equal(a.stdout, "hello /five");
  const h = await curl("--socks5-hostname", svc.addr, `http://localhost:${origin.port}/five-h`);
  equal(h.code, 0, h.stderr);
  equal(h.stdout, "hello /five-h");
  await origin.close();
});

Deno.test("socks5 handler accepts the right credentials and refuses wrong or missing ones", async () => {
  const origin = httpOrigin();
  await using svc = await startService({ handler: (o) => new Socks5Handler(o), users });
  const url = `http://127.0.0.1:${origin.port}/auth`;
  const ok1 = await curl("--socks5", svc.addr, "-U", "u:p", url);
  equal(ok1.code, 0, ok1.stderr);
  equal(ok1.stdout, "hello /auth");
  const ok2 = await curl("--socks5-hostname", svc.addr, "--proxy-user", "u:p", `http://localhost:${origin.port}/h`);
  equal(ok2.code, 0, ok2.stderr);
  equal(ok2.stdout, "hello /h");
  notEqual((await curl("--socks5", svc.addr, "-U", "u:wrong", url)).code, 0);
  notEqual((await curl("--proxy", `socks5h://nobody:p@${svc.addr}`, url)).code, 0);
  notEqual((await curl("--socks5", svc.addr, url)).code, 0);
  equal(origin.requests, 2);
  await origin.close();
});

Deno.test("socks5 handler answers 01 01 to wrong credentials and 05 FF when user/pass is not offered", async () => {
  await using svc = await startService({ handler: (o) => new Socks5Handler(o), users });
  const wrong = await exchange(svc.port, b(5, 1, 2, encodeUserPassRequest("u", "x")));
  deepEqual(wrong.bytes, b(5, 2, 1, 1));
  const empty = await exchange(svc.port, b(5, 1, 2, 1, 1, "u", 0));
  deepEqual(empty.bytes, b(5, 2, 1, 1));
  const noAuthOnly = await exchange(svc.port, b(5, 1, 0));
  deepEqual(noAuthOnly.bytes, b(5, 0xff));
});

Deno.test("socks5 handler without auth answers 05 FF to a client offering only user/pass", async () => {
  await using svc = await startService({ handler: (o) => new Socks5Handler(o) });
  deepEqual((await exchange(svc.port, b(5, 2, 2, 0x82))).bytes, b(5, 0xff));
});

Deno.test("socks5 handler answers 01 01 and closes on a wrong sub-negotiation version", async () => {
  await using svc = await startService({ handler: (o) => new Socks5Handler(o), users });
  const r = await exchange(svc.port, b(5, 1, 2, 5, 1, "u", 1, "p"));
  deepEqual(r.bytes, b(5, 2, 1, 1));
  equal(r.timedOut, false);
});

Deno.test("socks5 handler replies to CONNECT with the outbound local address", async () => {
  const origin = httpOrigin();
  await using svc = await startService({ handler: (o) => new Socks5Handler(o) });
  using c = await socksClient(svc.port);
  const rep = await c.request(1, "127.0.0.1", origin.port);
  equal(rep.code, 0);
  equal(rep.addr.host, "127.0.0.1");
  ok(rep.addr.port > 0);
  await c.conn.write(enc.encode("GET /raw HTTP/1.0\r\nHost: x\r\n\r\n"));
  const chunks: number[] = [];
  const buf = new Uint8Array(4096);
  for (let n; (n = await c.conn.read(buf)) !== null;) chunks.push(...buf.subarray(0, n));
  ok(dec.decode(Uint8Array.from(chunks)).endsWith("hello /raw"));
  await origin.close();
});

Deno.test("socks5 handler answers 0x05 when the target refuses the connection", async () => {
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (ln.addr as Deno.NetAddr).port;
  ln.close();
  await using svc = await startService({ handler: (o) => new Socks5Handler(o) });
  const r = await exchange(svc.port, b(5, 1, 0, encodeRequest(1, "127.0.0.1", port)));
  deepEqual(r.bytes, b(5, 0, 5, 5, 0, ...REP_ZERO));
});

Deno.test("socks5 handler answers 0x07 to an unknown command", async () => {
  await using svc = await startService({ handler: (o) => new Socks5Handler(o) });
  const r = await exchange(svc.port, b(5, 1, 0, encodeRequest(0x09, "127.0.0.1", 80)));
  deepEqual(r.bytes, b(5, 0, 5, 7, 0, ...REP_ZERO));
});

Deno.test("socks5 handler answers 0x08 to an unknown address type", async () => {
  await using svc = await startService({ handler: (o) => new Socks5Handler(o) });
  const r = await exchange(svc.port, b(5, 1, 0, 5, 1, 0, 0x05, 1, 2, 3, 4, 0, 80));
  deepEqual(r.bytes, b(5, 0, 5, 8, 0, ...REP_ZERO));
});

Deno.test("socks5 handler answers 0x02 to BIND and UDP ASSOCIATE when they are disabled", async () => {
  await using svc = await startService({ handler: (o) => new Socks5Handler(o) });
  deepEqual(
    (await exchange(svc.port, b(5, 1, 0, encodeRequest(2, "0.0.0.0", 0)))).bytes,
    b(5, 0, 5, 2, 0, ...REP_ZERO),
  );
  deepEqual(
    (await exchange(svc.port, b(5, 1, 0, encodeRequest(3, "0.0.0.0", 0)))).bytes,
    b(5, 0, 5, 2, 0, ...REP_ZERO),
  );
});

Deno.test("socks5 handler parses a 255-byte domain and answers 0x04 when it does not resolve", async () => {
  await using svc = await startService({ handler: (o) => new Socks5Handler(o) });
  const host = ["a", "b", "c", "d"].map((c) => c.repeat(63)).join(".");
  equal(host.length, 255);
  const r = await exchange(svc.port, b(5, 1, 0, encodeRequest(1, host, 80)), { timeoutMs: 8000 });
  deepEqual(r.bytes, b(5, 0, 5, 4, 0, ...REP_ZERO));
});

Deno.test("socks5 handler closes without a reply on an unknown version, a truncated greeting or NMETHODS 0", async () => {
  await using svc = await startService({ handler: (o) => new Socks5Handler(o) });
  const v6 = await exchange(svc.port, b(6, 1, 0));
  equal(v6.bytes.length, 0);
  equal(v6.timedOut, false);
  const truncated = await exchange(svc.port, b(5, 3, 0), { eof: true });
  equal(truncated.bytes.length, 0);
  equal(truncated.timedOut, false);
  const none = await exchange(svc.port, b(5, 0));
  deepEqual(none.bytes, b(5, 0xff));
  equal(none.timedOut, false);
  const badReqVersion = await exchange(svc.port, b(5, 1, 0, 4, 1, 0, 1, 127, 0, 0, 1, 0, 80));
  deepEqual(badReqVersion.bytes, b(5, 0));
  equal(badReqVersion.timedOut, false);
});

Deno.test("socks5 handler closes a slow client after readTimeout", async () => {
  await using svc = await startService({ handler: (o) => new Socks5Handler(o), metadata: { readTimeout: "300ms" } });
  const start = performance.now();
  const r = await exchange(svc.port, b(5, 1), { timeoutMs: 3000 });
  const took = performance.now() - start;
  equal(r.timedOut, false);
  equal(r.bytes.length, 0);
  ok(took >= 250 && took < 1000, `closed after ${took} ms`);
});

Deno.test("socks5 handler survives random bytes and malformed requests, then still serves curl", async () => {
  const origin = httpOrigin();
  await using svc = await startService({
    handler: (o) => new Socks5Handler(o),
    metadata: { readTimeout: "500ms" },
    users,
  });
  let seed = 0x2545f491;
  const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 16;
  for (let i = 0; i < 40; i++) {
    const junk = Uint8Array.from({ length: 1 + (rand() % 600) }, rand);
    if (i % 2 === 0) junk[0] = 5;
    const r = await exchange(svc.port, junk, { eof: i % 3 !== 0 });
    equal(r.timedOut, false, `junk #${i} kept the connection open`);
  }
  await exchange(svc.port, b(5, 255, ...new Array(255).fill(2), 1, 255, "u".repeat(255), 255, "p".repeat(255)));
  const r = await curl("--socks5-hostname", svc.addr, "-U", "u:p", `http://localhost:${origin.port}/after`);
  equal(r.code, 0, r.stderr);
  equal(r.stdout, "hello /after");
  await origin.close();
});

Deno.test("socks5 handler relays UDP ASSOCIATE datagrams both ways with the source address header", async () => {
  const echo1 = udpEcho("one:");
  const echo2 = udpEcho("two:");
  await using svc = await startService({ handler: (o) => new Socks5Handler(o), metadata: { udp: true }, users });
  using c = await socksClient(svc.port, ["u", "p"]);
  const rep = await c.request(3, "0.0.0.0", 0);
  equal(rep.code, 0);
  equal(rep.addr.host, "127.0.0.1");
  const relayAddr: Deno.NetAddr = { transport: "udp", hostname: rep.addr.host, port: rep.addr.port };
  const client = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  try {
    const targets: [string, number, string][] = [
      ["127.0.0.1", echo1.port, "one:"],
      ["127.0.0.1", echo2.port, "two:"],
      ["localhost", echo1.port, "one:"],
    ];
    for (let i = 0; i < 9; i++) {
      const [host, port, prefix] = targets[i % 3];
      const msg = `datagram ${i} ${"x".repeat(i * 100)}`;
      await client.send(b(encodeUdpHeader(host, port), msg), relayAddr);
      const [d, from] = await receiveWithin(client);
      equal(from.port, rep.addr.port);
      const h = decodeUdpHeader(d);
      deepEqual(h.addr, { host, port });
      equal(h.frag, 0);
      equal(dec.decode(d.subarray(h.dataOffset)), prefix + msg);
    }

    // fragments and datagrams from another IP are dropped: the next reply is for "ok"
    const stranger = Deno.listenDatagram({ hostname: "127.0.0.2", port: 0, transport: "udp" });
    await stranger.send(b(encodeUdpHeader("127.0.0.1", echo1.port), "stranger"), relayAddr);
    stranger.close();
    await client.send(b(encodeUdpHeader("127.0.0.1", echo1.port, 1), "fragment"), relayAddr);
    await client.send(b(0, 0, 0, 9, "junk"), relayAddr);
    await client.send(b(encodeUdpHeader("127.0.0.1", echo1.port), "ok"), relayAddr);
    const [d] = await receiveWithin(client);
    equal(dec.decode(d.subarray(decodeUdpHeader(d).dataOffset)), "one:ok");
  } finally {
    client.close();
    echo1.close();
    echo2.close();
  }
});

Deno.test("socks5 handler on IPv6 serves curl and relays UDP to IPv4 and IPv6 targets", async () => {
  const origin = httpOrigin();
  const echo4 = udpEcho("v4:");
  const echo6 = udpEcho("v6:", "::1");
  await using svc = await startService({
    handler: (o) => new Socks5Handler(o),
    metadata: { udp: true },
    addr: "[::1]:0",
  });
  const r = await curl("--socks5", `[::1]:${svc.port}`, `http://127.0.0.1:${origin.port}/v6`);
  equal(r.code, 0, r.stderr);
  equal(r.stdout, "hello /v6");
  using c = await socksClient(svc.port, undefined, "::1");
  const rep = await c.request(3, "::", 0);
  equal(rep.code, 0);
  equal(rep.addr.host, "::1");
  const client = Deno.listenDatagram({ hostname: "::1", port: 0, transport: "udp" });
  try {
    const relayAddr: Deno.NetAddr = { transport: "udp", hostname: "::1", port: rep.addr.port };
    for (const [host, port, prefix] of [["127.0.0.1", echo4.port, "v4:"], ["::1", echo6.port, "v6:"]] as const) {
      await client.send(b(encodeUdpHeader(host, port), "ping"), relayAddr);
      const [d] = await receiveWithin(client);
      const h = decodeUdpHeader(d);
      deepEqual(h.addr, { host, port });
      equal(dec.decode(d.subarray(h.dataOffset)), `${prefix}ping`);
    }
  } finally {
    client.close();
    echo4.close();
    echo6.close();
    await origin.close();
  }
});

Deno.test("socks5 UDP association ends and its port closes when the control connection closes", async () => {
  const echo = udpEcho("re:");
  await using svc = await startService({ handler: (o) => new Socks5Handler(o), metadata: { udp: true } });
  const c = await socksClient(svc.port);
  const rep = await c.request(3, "0.0.0.0", 0);
  equal(rep.code, 0);
  const client = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const relayAddr: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port: rep.addr.port };
  await client.send(b(encodeUdpHeader("127.0.0.1", echo.port), "hi"), relayAddr);
  await receiveWithin(client);
  equal(udpPortFree(rep.addr.port), false);
  c.conn.close();
  ok(await eventually(() => svc.service.activeConns === 0, 2000), "handler still running");
  ok(udpPortFree(rep.addr.port), "UDP relay port still bound");
  client.close();
  echo.close();
});

Deno.test("socks5 handler BIND accepts one peer and relays both ways", async () => {
  await using svc = await startService({ handler: (o) => new Socks5Handler(o), metadata: { bind: true } });
  using c = await socksClient(svc.port);
  const first = await c.request(2, "0.0.0.0", 0);
  equal(first.code, 0);
  equal(first.addr.host, "127.0.0.1");
  ok(first.addr.port > 0);
  // bytes sent before the peer arrives are kept
  await c.conn.write(enc.encode("early "));
  const peer = await Deno.connect({ hostname: "127.0.0.1", port: first.addr.port });
  try {
    const second = await readReply(c.r);
    equal(second.code, 0);
    deepEqual(second.addr, { host: "127.0.0.1", port: (peer.localAddr as Deno.NetAddr).port });
    await c.conn.write(enc.encode("from client"));
    await c.conn.closeWrite();
    const got: number[] = [];
    const buf = new Uint8Array(256);
    for (let n; (n = await peer.read(buf)) !== null;) got.push(...buf.subarray(0, n));
    equal(dec.decode(Uint8Array.from(got)), "early from client");
    await peer.write(enc.encode("from peer"));
    await peer.closeWrite();
    equal(dec.decode(await c.r.readFull(9)), "from peer");
    equal(await c.conn.read(buf), null);
  } finally {
    peer.close();
  }
  ok(await tcpPortClosed(first.addr.port), "BIND listener still open");
});

Deno.test("socks5 BIND ends and stops listening when the client leaves before a peer comes", async () => {
  await using svc = await startService({ handler: (o) => new Socks5Handler(o), metadata: { bind: true } });
  const c = await socksClient(svc.port);
  const first = await c.request(2, "0.0.0.0", 0);
  equal(first.code, 0);
  c.conn.close();
  ok(await eventually(() => svc.service.activeConns === 0, 2000), "handler still running");
  ok(await tcpPortClosed(first.addr.port), "BIND listener still open");
});

Deno.test("socks5 handler works on a PrefixConn and sets the client id", async () => {
  const origin = httpOrigin();
  const h = new Socks5Handler({
    service: "t",
    logger: nopLogger,
    router: new DefaultRouter(),
    auth: new StaticAuthenticator(users),
  });
  await h.init(new Metadata({}));
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = await Deno.connect({ hostname: "127.0.0.1", port: (ln.addr as Deno.NetAddr).port });
  const server = await ln.accept();
  ln.close();
  await client.write(b(5, 1, 2, encodeUserPassRequest("u", "p"), encodeRequest(1, "127.0.0.1", origin.port)));
  const first = new Uint8Array(1);
  equal(await server.read(first), 1); // what a sniffing handler does
  const ctx: ConnContext = {
    sid: "x",
    service: "t",
    src: "client",
    signal: new AbortController().signal,
    logger: nopLogger,
  };
  const done = h.handle(new PrefixConn(server, first), ctx);
  const r = new HandshakeReader(client);
  deepEqual(await r.readFull(4), b(5, 2, 1, 0));
  equal((await readReply(r)).code, 0);
  await client.write(enc.encode("GET /prefix HTTP/1.0\r\n\r\n"));
  const rest = r.conn();
  const got: number[] = [];
  const buf = new Uint8Array(4096);
  for (let n; (n = await rest.read(buf)) !== null;) got.push(...buf.subarray(0, n));
  const text = dec.decode(Uint8Array.from(got));
  ok(text.endsWith("hello /prefix"), text);
  client.close();
  await done;
  equal(ctx.clientId, "u");
  equal(ctx.dst, `127.0.0.1:${origin.port}`);
  await origin.close();
});
