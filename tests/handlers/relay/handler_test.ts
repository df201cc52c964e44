import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { type Conn, joinHostPort } from "../../../core/conn.ts";
import { AuthError, DialError, HandshakeError, PolicyError } from "../../../core/errors.ts";
import { nopLogger } from "../../../core/log.ts";
import { Metadata, type MetadataRecord } from "../../../core/metadata.ts";
import type { ConnContext, DialOptions, Router } from "../../../core/contracts.ts";
import { createRegistries } from "../../../core/registries.ts";
import { StaticAuthenticator } from "../../../core/routing/auth.ts";
import { NodeGroup } from "../../../core/routing/node_group.ts";
import { DirectRouter } from "../../../core/routing/router.ts";
import { RelayConnector } from "../../../handlers/relay/connector.ts";
import { RelayHandler } from "../../../handlers/relay/handler.ts";
import { register } from "../../../handlers/relay/mod.ts";
import {
  Cmd,
  encodeRequest,
  encodeTunHeader,
  type Feature,
  FLAG_UDP,
  NetworkId,
} from "../../../handlers/relay/wire.ts";
import { tcpEcho, udpEcho } from "../../helpers/servers.ts";
import { startService, type TestServiceOptions } from "../../helpers/service.ts";
import { deadPort, exchange, readAll, readExactly } from "../../helpers/io.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const b = (...xs: (number | string | Uint8Array | number[])[]) =>
  Uint8Array.from(
    xs.flatMap((x) => typeof x === "string" ? [...enc.encode(x)] : typeof x === "number" ? [x] : Array.from(x)),
  );
const users = [{ username: "u", password: "p" }];
const relayService = (o: Partial<TestServiceOptions> = {}) =>
  startService({ handler: (opts) => new RelayHandler(opts), ...o });

async function connector(md: MetadataRecord = {}, auth?: { username: string; password: string }) {
  const c = new RelayConnector({ logger: nopLogger, auth });
  await c.init(new Metadata(md));
  return c;
}

const connectReq = (features: Feature[], cmd: number = Cmd.Connect, flags = 0) =>
  encodeRequest({ cmd, flags, features });
const addr = (host: string, port: number): Feature => ({ kind: "addr", host, port });

async function sha256(p: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", p as Uint8Array<ArrayBuffer>));
  return Array.from(d, (x) => x.toString(16).padStart(2, "0")).join("");
}

Deno.test("relay connector and handler carry TCP both ways, request and response riding on the data", async () => {
  const echo = tcpEcho();
  await using svc = await relayService();
  const c = await connector();
  const conn = await c.connect(
    await Deno.connect({ hostname: "127.0.0.1", port: svc.port }),
    "tcp",
    `127.0.0.1:${echo.port}`,
  );
  try {
    await conn.write(enc.encode("hello"));
    equal(dec.decode(await readExactly(conn, 5)), "hello");
    await conn.write(enc.encode(" again"));
    await conn.closeWrite();
    equal(dec.decode(await readAll(conn)), " again");
  } finally {
    conn.close();
    echo.close();
  }
});

Deno.test("relay moves 20 MB each way intact (sha256)", async () => {
  const echo = tcpEcho();
  await using svc = await relayService();
  const c = await connector();
  const conn = await c.connect(
    await Deno.connect({ hostname: "127.0.0.1", port: svc.port }),
    "tcp",
    `127.0.0.1:${echo.port}`,
  );
  const size = 20 * 1024 * 1024;
  const data = new Uint8Array(size);
  for (let off = 0; off < size; off += 65_536) crypto.getRandomValues(data.subarray(off, off + 65_536));
  try {
    const writer = (async () => {
      for (let off = 0; off < size; off += 256 * 1024) {
        const chunk = data.subarray(off, off + 256 * 1024);
        let w = 0;
        while (w < chunk.length) w += await conn.write(chunk.subarray(w));
      }
      await conn.closeWrite();
    })();
    const back = await readAll(conn, size + 1);
    await writer;
    equal(back.length, size);
    equal(await sha256(back), await sha256(data));
  } finally {
    conn.close();
    echo.close();
  }
});

Deno.test("relay handler authenticates UserAuth: right passes, wrong or missing gets 0x02 and AuthError", async () => {
  const echo = tcpEcho();
  await using svc = await relayService({ users });
  const target = `127.0.0.1:${echo.port}`;
  try {
    const good = await connector({}, { username: "u", password: "p" });
    const conn = await good.connect(await Deno.connect({ hostname: "127.0.0.1", port: svc.port }), "tcp", target);
    await conn.write(enc.encode("ok?"));
    equal(dec.decode(await readExactly(conn, 3)), "ok?");
    conn.close();

    const bad = await connector({}, { username: "u", password: "wrong" });
    const c2 = await bad.connect(await Deno.connect({ hostname: "127.0.0.1", port: svc.port }), "tcp", target);
    await c2.write(enc.encode("x"));
    await rejects(c2.read(new Uint8Array(8)), AuthError);
    c2.close();

    const nd = await connector({ nodelay: true }, { username: "u", password: "wrong" });
    await rejects(nd.connect(await Deno.connect({ hostname: "127.0.0.1", port: svc.port }), "tcp", target), AuthError);

    const wrong = connectReq([{ kind: "auth", username: "u", password: "nope" }, addr("127.0.0.1", echo.port)]);
    deepEqual((await exchange(svc.port, wrong)).bytes, b(1, 2, 0, 0));
    deepEqual((await exchange(svc.port, connectReq([addr("127.0.0.1", echo.port)]))).bytes, b(1, 2, 0, 0));
    const empty = connectReq([{ kind: "auth", username: "u", password: "" }, addr("127.0.0.1", echo.port)]);
    deepEqual((await exchange(svc.port, empty)).bytes, b(1, 2, 0, 0));
  } finally {
    echo.close();
  }
});

Deno.test("relay handler answers 0x07 when the target refuses and the connector reports a DialError naming it", async () => {
  await using svc = await relayService();
  const target = `127.0.0.1:${deadPort()}`;
  const c = await connector();
  const conn = await c.connect(await Deno.connect({ hostname: "127.0.0.1", port: svc.port }), "tcp", target);
  await conn.write(enc.encode("GET / HTTP/1.0\r\n\r\n"));
  const err = await conn.read(new Uint8Array(8)).then(() => null, (e) => e);
  conn.close();
  ok(err instanceof DialError, String(err));
  equal(err.target, target);
  ok(err.message.includes("0x07 Network Unreachable"), err.message);

  const nd = await connector({ nodelay: "true" });
  const e2 = await nd.connect(await Deno.connect({ hostname: "127.0.0.1", port: svc.port }), "tcp", target).then(
    () => null,
    (e) => e,
  );
  ok(e2 instanceof DialError && e2.target === target, String(e2));
  deepEqual((await exchange(svc.port, connectReq([addr("127.0.0.1", deadPort())]))).bytes, b(1, 7, 0, 0));
});

Deno.test("relay handler sends OK with the first downstream bytes for lazy clients and at once otherwise", async () => {
  const echo = tcpEcho();
  const greeter = Deno.listen({ hostname: "127.0.0.1", port: 0 }); // says hi and closes, never reads
  (async () => {
    for await (const c of greeter) {
      await c.write(enc.encode("hi")).catch(() => {});
      c.close();
    }
  })().catch(() => {});
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 }); // closes without a byte
  (async () => {
    for await (const c of silent) c.close();
  })().catch(() => {});
  await using svc = await relayService();
  try {
    // request + data in one write: one stream "01 00 00 00" + echo, as GOST's handler answers
    const req = connectReq([addr("127.0.0.1", echo.port)]);
    deepEqual((await exchange(svc.port, b(req, "ping"), { eof: true })).bytes, b(1, 0, 0, 0, "ping"));
    // request alone: OK comes before any data is sent (a nodelay client is waiting for it)
    const c = await Deno.connect({ hostname: "127.0.0.1", port: svc.port });
    await c.write(req);
    deepEqual(await readExactly(c, 4), b(1, 0, 0, 0));
    await c.write(enc.encode("pong"));
    deepEqual(await readExactly(c, 4), b("pong"));
    c.close();
    // a held OK still goes out before EOF when the target closes silently
    const quiet = connectReq([addr("127.0.0.1", (silent.addr as Deno.NetAddr).port)]);
    deepEqual((await exchange(svc.port, b(quiet, "x"))).bytes, b(1, 0, 0, 0));
    const hi = connectReq([addr("127.0.0.1", (greeter.addr as Deno.NetAddr).port)]);
    deepEqual((await exchange(svc.port, b(hi, "x"))).bytes, b(1, 0, 0, 0, "hi"));
  } finally {
    echo.close();
    greeter.close();
    silent.close();
  }
});

Deno.test("relay connector sends a held request alone when the target speaks first (lazyFlush)", async () => {
  const banner = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  (async () => {
    for await (const c of banner) {
      await c.write(enc.encode("RFB 003.008\n")).catch(() => {});
      const buf = new Uint8Array(64);
      const n = await c.read(buf).catch(() => null);
      if (n) await c.write(buf.subarray(0, n)).catch(() => {});
      c.close();
    }
  })().catch(() => {});
  await using svc = await relayService();
  const target = `127.0.0.1:${(banner.addr as Deno.NetAddr).port}`;
  try {
    for (const md of [{}, { nodelay: true }]) {
      const c = await connector({ ...md, lazyFlush: "50ms" });
      const conn = await c.connect(await Deno.connect({ hostname: "127.0.0.1", port: svc.port }), "tcp", target);
      equal(dec.decode(await readExactly(conn, 12)), "RFB 003.008\n");
      await conn.write(enc.encode("1"));
      equal(dec.decode(await readExactly(conn, 1)), "1");
      conn.close();
    }
  } finally {
    banner.close();
  }
});

Deno.test("relay carries UDP datagrams in [len] frames between the connector and a UDP target", async () => {
  const echo = udpEcho("re:");
  await using svc = await relayService();
  try {
    for (const md of [{}, { nodelay: true }]) {
      const c = await connector(md);
      const raw = await Deno.connect({ hostname: "127.0.0.1", port: svc.port });
      const conn = await c.connect(raw, "udp", `127.0.0.1:${echo.port}`);
      equal(conn.datagram, true);
      deepEqual(conn.remoteAddr, { transport: "udp", hostname: "127.0.0.1", port: echo.port });
      const buf = new Uint8Array(65_536);
      for (const msg of ["one", "two", "x".repeat(1400), "four"]) {
        await conn.write(enc.encode(msg));
        const n = await conn.read(buf);
        equal(dec.decode(buf.subarray(0, n!)), `re:${msg}`);
      }
      conn.close();
    }
    // the exact bytes of GOST's UDP connector: 01 81 | Network(udp) | Addr, then [len][data]
    const req = connectReq([{ kind: "network", network: NetworkId.Udp }, addr("127.0.0.1", echo.port)], 1, FLAG_UDP);
    deepEqual(req.subarray(0, 9), b(1, 0x81, 0, 0x0f, 4, 0, 2, 0, 1));
    const raw = await Deno.connect({ hostname: "127.0.0.1", port: svc.port });
    await raw.write(b(req, 0, 2, "hi"));
    deepEqual(await readExactly(raw, 11), b(1, 0, 0, 0, 0, 5, "re:hi"));
    raw.close();
  } finally {
    echo.close();
  }
});

Deno.test("relay handler with a forwarder ignores the requested address and fails over between nodes", async () => {
  const echo = tcpEcho();
  const node = (name: string, port: number) => ({ name, addr: `127.0.0.1:${port}`, weight: 1, backup: false });
  const group = new NodeGroup([node("dead", deadPort()), node("echo", echo.port)], {
    strategy: "fifo",
    maxFails: 1,
    failTimeoutMs: 30_000,
  });
  await using svc = await relayService({ forwarder: group });
  try {
    const c = await connector();
    const conn = await c.connect(await Deno.connect({ hostname: "127.0.0.1", port: svc.port }), "tcp", "192.0.2.1:9");
    await conn.write(enc.encode("fixed"));
    equal(dec.decode(await readExactly(conn, 5)), "fixed");
    conn.close();
    equal(group.isDead(group.nodes[0]), true);
    // no Addr feature at all is fine in forward mode
    deepEqual((await exchange(svc.port, b(connectReq([]), "abc"), { eof: true })).bytes, b(1, 0, 0, 0, "abc"));
  } finally {
    echo.close();
  }
  await using dead = await relayService({ forwarder: new NodeGroup([node("gone", deadPort())]) });
  deepEqual((await exchange(dead.port, connectReq([]))).bytes, b(1, 6, 0, 0));
});

Deno.test("relay handler refuses bad requests with GOST's status codes", async () => {
  const echo = tcpEcho();
  await using svc = await relayService();
  try {
    deepEqual((await exchange(svc.port, connectReq([]))).bytes, b(1, 1, 0, 0)); // no target
    deepEqual((await exchange(svc.port, connectReq([addr("127.0.0.1", 1)], Cmd.Associate))).bytes, b(1, 1, 0, 0));
    deepEqual((await exchange(svc.port, connectReq([addr("127.0.0.1", 1)], 0x0f))).bytes, b(1, 1, 0, 0));
    const unix = connectReq([{ kind: "network", network: NetworkId.Unix }, addr("/tmp/x.sock", 0)]);
    deepEqual((await exchange(svc.port, unix)).bytes, b(1, 1, 0, 0));
    deepEqual((await exchange(svc.port, connectReq([addr("0.0.0.0", 80)], Cmd.Bind))).bytes, b(1, 3, 0, 0));
    // command 0 is CONNECT; unknown feature types are skipped
    const zero = b(connectReq([{ kind: "unknown", type: 0x7f, data: b(1, 2) }, addr("127.0.0.1", echo.port)], 0), "z");
    deepEqual((await exchange(svc.port, zero, { eof: true })).bytes, b(1, 0, 0, 0, "z"));
  } finally {
    echo.close();
  }
  await using withBind = await relayService({ metadata: { bind: true } });
  // TCP BIND on a port in use: Service Unavailable (a working TCP BIND is in relay_bind_test.ts)
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const busyPort = (busy.addr as Deno.NetAddr).port;
  try {
    deepEqual(
      (await exchange(withBind.port, connectReq([addr("127.0.0.1", busyPort)], Cmd.Bind))).bytes,
      b(1, 5, 0, 0),
    );
  } finally {
    busy.close();
  }
});

Deno.test("relay handler survives random bytes, bad versions, truncation and slow clients, then still serves", async () => {
  const echo = tcpEcho();
  await using svc = await relayService({ metadata: { readTimeout: "300ms" } });
  try {
    const noise = crypto.getRandomValues(new Uint8Array(4096));
    noise[0] = 0x42;
    for (const bytes of [noise, b(2, 1, 0, 0), b(5, 1, 0), b(1, 1, 0, 0x12, 2, 0, 0x0f, 3), b(1, 1, 0, 5, 2, 0xff)]) {
      const r = await exchange(svc.port, bytes, { eof: true });
      equal(r.timedOut, false);
      deepEqual(r.bytes, b(), `answered ${bytes.subarray(0, 4)}`);
    }
    // a client that stops half-way is closed after readTimeout
    const slow = await exchange(svc.port, b(1, 1, 0), { timeoutMs: 3000 });
    equal(slow.timedOut, false);
    ok(slow.ms >= 250 && slow.ms < 1500, `closed after ${slow.ms} ms`);
    const idle = await exchange(svc.port, b(), { timeoutMs: 3000 });
    ok(!idle.timedOut && idle.ms < 1500, `idle closed after ${idle.ms} ms`);
    const req = connectReq([addr("127.0.0.1", echo.port)]);
    deepEqual((await exchange(svc.port, b(req, "alive"), { eof: true })).bytes, b(1, 0, 0, 0, "alive"));
  } finally {
    echo.close();
  }
});

Deno.test("relay UDP BIND relays UDP-tun frames to targets and from any peer of the bound port", async () => {
  const echo = udpEcho("e:");
  await using svc = await relayService({ metadata: { bind: true } });
  const c = await Deno.connect({ hostname: "127.0.0.1", port: svc.port });
  try {
    const req = connectReq([{ kind: "network", network: NetworkId.Udp }, addr("127.0.0.1", 0)], Cmd.Bind, FLAG_UDP);
    await c.write(req);
    const resp = await readExactly(c, 14);
    deepEqual(resp.subarray(0, 12), b(1, 0, 0, 10, 2, 0, 7, 1, 127, 0, 0, 1));
    const boundPort = (resp[12] << 8) | resp[13];
    ok(boundPort > 0);
    // client → target, reply comes back framed with the target as source
    await c.write(b(encodeTunHeader("127.0.0.1", echo.port, 4), "ping"));
    const head = encodeTunHeader("127.0.0.1", echo.port, 6);
    deepEqual(await readExactly(c, head.length + 6), b(head, "e:ping"));
    // a peer sending to the bound port (rudp) reaches the client with its address
    const peer = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
    const peerPort = (peer.addr as Deno.NetAddr).port;
    await peer.send(enc.encode("knock"), { transport: "udp", hostname: "127.0.0.1", port: boundPort });
    const ph = encodeTunHeader("127.0.0.1", peerPort, 5);
    deepEqual(await readExactly(c, ph.length + 5), b(ph, "knock"));
    await c.write(b(encodeTunHeader("127.0.0.1", peerPort, 3), "ack"));
    const [got] = await peer.receive();
    equal(dec.decode(got), "ack");
    peer.close();
  } finally {
    c.close();
    echo.close();
  }
});

/** A router that sends every dial to one local port and remembers what was asked. */
class StubRouter implements Router {
  readonly asked: string[] = [];
  readonly #inner = new DirectRouter();
  constructor(readonly port: number) {}
  dial(network: "tcp" | "udp", addr: string, opts?: DialOptions): Promise<Conn> {
    this.asked.push(`${network}/${addr}`);
    return this.#inner.dial(network, joinHostPort("127.0.0.1", this.port), opts);
  }
}

Deno.test("relay handler accepts GOST's exact CONNECT bytes for example.com:80 with user/pass", async () => {
  const echo = tcpEcho();
  const router = new StubRouter(echo.port);
  const handler = new RelayHandler({
    service: "interop",
    logger: nopLogger,
    router,
    auth: new StaticAuthenticator([{ username: "user", password: "pass" }]),
  });
  await handler.init(new Metadata({}));
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const abort = new AbortController();
  const served = (async () => {
    for (let i = 0; i < 2; i++) {
      const conn = await ln.accept();
      const ctx: ConnContext = {
        sid: `s${i}`,
        service: "interop",
        src: "client",
        signal: abort.signal,
        logger: nopLogger,
      };
      await handler.handle(conn, ctx).catch(() => {});
      if (i === 0) equal(ctx.clientId, "user");
      if (i === 0) equal(ctx.dst, "example.com:80");
    }
  })();
  try {
    // GOST's relay connector: VER CMD FEALEN | UserAuth(user, pass) | Addr(domain example.com, 80), and the first
    // application bytes in the same write
    const gostRequest = b(
      [0x01, 0x01, 0x00, 0x1f],
      [0x01, 0x00, 0x0a, 0x04, ..."user"].map((x) => typeof x === "string" ? x.charCodeAt(0) : x),
      [0x04, ..."pass"].map((x) => typeof x === "string" ? x.charCodeAt(0) : x),
      [0x02, 0x00, 0x0f, 0x03, 0x0b],
      "example.com",
      [0x00, 0x50],
    );
    const http = enc.encode("GET / HTTP/1.0\r\nHost: example.com\r\n\r\n");
    const port = (ln.addr as Deno.NetAddr).port;
    // GOST's handler answers 01 00 00 00 in front of the first downstream bytes
    deepEqual((await exchange(port, b(gostRequest, http), { eof: true })).bytes, b(1, 0, 0, 0, http));
    deepEqual(router.asked, ["tcp/example.com:80"]);
    const wrongPass = b(gostRequest.subarray(0, 13), "pasS", gostRequest.subarray(17));
    deepEqual((await exchange(port, b(wrongPass, http))).bytes, b(1, 2, 0, 0));
    await served;
  } finally {
    abort.abort();
    ln.close();
    echo.close();
  }
});

Deno.test("relay handler answers 0x03 to a target refused by policy and the connector reports a PolicyError", async () => {
  const refusing: Router = { dial: (_n, a) => Promise.reject(new PolicyError(`${a} is bypassed`)) };
  const handler = new RelayHandler({ service: "policy", logger: nopLogger, router: refusing });
  await handler.init(new Metadata({}));
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const abort = new AbortController();
  const served = (async () => {
    for (let i = 0; i < 2; i++) {
      const ctx: ConnContext = { sid: `p${i}`, service: "policy", src: "c", signal: abort.signal, logger: nopLogger };
      await handler.handle(await ln.accept(), ctx).catch(() => {});
    }
  })();
  try {
    const port = (ln.addr as Deno.NetAddr).port;
    deepEqual((await exchange(port, connectReq([addr("10.0.0.1", 80)]))).bytes, b(1, 3, 0, 0));
    const c = await connector({ nodelay: true });
    await rejects(c.connect(await Deno.connect({ hostname: "127.0.0.1", port }), "tcp", "10.0.0.1:80"), PolicyError);
    await served;
  } finally {
    abort.abort();
    ln.close();
  }
});

Deno.test("relay connector refuses UDP without a target and over-long names with a DialError", async () => {
  const c = await connector();
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: (ln.addr as Deno.NetAddr).port });
  const peer = await ln.accept();
  try {
    await rejects(c.connect(conn, "udp", ""), DialError);
    await rejects(c.connect(conn, "tcp", `${"a".repeat(256)}:80`), DialError);
    await rejects(c.connect(conn, "tcp", "no-port"), DialError);
  } finally {
    conn.close();
    peer.close();
    ln.close();
  }
});

Deno.test("relay connector reports a peer that is not a relay server as a HandshakeError", async () => {
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  (async () => {
    for await (const c of ln) {
      await c.write(enc.encode("HTTP/1.1 400 Bad Request\r\n\r\n")).catch(() => {});
      c.close();
    }
  })().catch(() => {});
  try {
    const c = await connector();
    const conn = await c.connect(
      await Deno.connect({ hostname: "127.0.0.1", port: (ln.addr as Deno.NetAddr).port }),
      "tcp",
      "127.0.0.1:1",
    );
    await conn.write(enc.encode("x"));
    await rejects(conn.read(new Uint8Array(8)), HandshakeError);
    conn.close();
  } finally {
    ln.close();
  }
});

Deno.test("relay mod registers the relay handler and connector", async () => {
  const reg = createRegistries();
  register(reg);
  ok(
    await reg.handlers.get("relay")!({ service: "s", logger: nopLogger, router: new DirectRouter() }) instanceof
      RelayHandler,
  );
  ok(await reg.connectors.get("relay")!({ logger: nopLogger }) instanceof RelayConnector);
});
