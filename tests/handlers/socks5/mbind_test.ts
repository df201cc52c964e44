/**
 * SOCKS5 MBIND (0xF2): our handler on the wire (as a GOST client drives it), our connector's bind() against our
 * handler, and the rtcp listener + rtcp handler through a one-node socks5 chain, in process.
 */
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { HandshakeReader } from "../../../core/bufio.ts";
import type { Conn } from "../../../core/conn.ts";
import { nopLogger } from "../../../core/log.ts";
import { Metadata } from "../../../core/metadata.ts";
import { MuxSession } from "../../../core/mux/session.ts";
import type { Listener } from "../../../core/contracts.ts";
import { DialError } from "../../../core/errors.ts";
import { NodeGroup } from "../../../core/routing/node_group.ts";
import { DefaultRouter } from "../../../core/routing/router.ts";
import { Service } from "../../../core/service/service.ts";
import { RemoteForwardHandler } from "../../../handlers/forward/remote.ts";
import { Socks5Connector } from "../../../handlers/socks5/connector.ts";
import { Socks5Handler } from "../../../handlers/socks5/handler.ts";
import { Cmd, encodeGreeting, encodeRequest, readReply } from "../../../handlers/socks5/wire.ts";
import { RtcpListener } from "../../../listeners/rtcp/listener.ts";
import { chainRouter } from "../../helpers/chain.ts";
import { tcpEcho } from "../../helpers/servers.ts";
import { startService } from "../../helpers/service.ts";
import { readAll, readN, until, within, writeAll } from "../../helpers/mux_pair.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function freeTcpPort(): number {
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (ln.addr as Deno.NetAddr).port;
  ln.close();
  return port;
}

async function connector(): Promise<Socks5Connector> {
  const c = new Socks5Connector({ logger: nopLogger });
  await c.init(new Metadata({}));
  return c;
}

/** Connects to `port`, writes `msg`, half-closes and returns everything read back. */
async function roundTrip(port: number, msg: string): Promise<string> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await writeAll(c, enc.encode(msg));
    await c.closeWrite();
    return dec.decode(await within(readAll(c), 5000, `round trip on ${port}`));
  } finally {
    c.close();
  }
}

/** A raw MBIND client past the first reply: the conn (read-ahead kept) and the bound port. */
async function rawMbind(port: number, bindPort: number) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const r = new HandshakeReader(conn);
  await conn.write(encodeGreeting([0]));
  deepEqual([...await r.readFull(2)], [5, 0]);
  await conn.write(encodeRequest(Cmd.MuxBind, "127.0.0.1", bindPort));
  const reply = await readReply(r);
  return { conn, reply, tunnel: r.conn() };
}

Deno.test("socks5 MBIND on the wire: reply #1, then smux streams the server opens, each starting with the peer's address", async () => {
  await using svc = await startService({ handler: (o) => new Socks5Handler(o), metadata: { bind: true } });
  const { reply, tunnel } = await rawMbind(svc.port, 0);
  equal(reply.code, 0);
  equal(reply.addr.host, "127.0.0.1", "the local IP of the control connection");
  ok(reply.addr.port > 0);
  const session = MuxSession.server(tunnel);
  try {
    const peer = await Deno.connect({ hostname: "127.0.0.1", port: reply.addr.port });
    await writeAll(peer, enc.encode("from peer"));
    const st = await within(session.acceptStream(), 3000, "stream for the peer");
    equal(st.id % 2, 1, "the SOCKS server opens odd (smux client) ids");
    const r = new HandshakeReader(st);
    const hello = await readReply(r);
    equal(hello.code, 0);
    deepEqual(hello.addr, { host: "127.0.0.1", port: (peer.localAddr as Deno.NetAddr).port });
    const c = r.conn();
    equal(dec.decode(await readN(c, 9)), "from peer");
    await c.write(enc.encode("to peer"));
    equal(dec.decode(await readN(peer, 7)), "to peer");
    // a stream the client opens is closed by the server at once
    const mine = await session.openStream();
    equal(await within(mine.read(new Uint8Array(4)), 3000), null);
    mine.close();
    peer.close();
    equal(await within(c.read(new Uint8Array(4)), 3000), null, "the peer's close reaches the stream");
    st.close();
  } finally {
    session.close();
    await session.done;
  }
});

Deno.test("socks5 MBIND refusals: 0x02 without bind=true, 0x01 when the port is taken", async () => {
  {
    await using svc = await startService({ handler: (o) => new Socks5Handler(o) });
    const { conn, reply } = await rawMbind(svc.port, 0);
    equal(reply.code, 0x02);
    conn.close();
  }
  await using svc = await startService({ handler: (o) => new Socks5Handler(o), metadata: { bind: true } });
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const { conn, reply } = await rawMbind(svc.port, (busy.addr as Deno.NetAddr).port);
    equal(reply.code, 0x01);
    conn.close();
  } finally {
    busy.close();
  }
});

Deno.test("socks5 MBIND with comp omits the per-stream reply (GOST v2 clients)", async () => {
  await using svc = await startService({ handler: (o) => new Socks5Handler(o), metadata: { bind: true, comp: true } });
  const { reply, tunnel } = await rawMbind(svc.port, 0);
  const session = MuxSession.server(tunnel);
  try {
    const peer = await Deno.connect({ hostname: "127.0.0.1", port: reply.addr.port });
    await writeAll(peer, enc.encode("raw"));
    const st = await within(session.acceptStream(), 3000);
    equal(dec.decode(await readN(st, 3)), "raw");
    peer.close();
    st.close();
  } finally {
    session.close();
    await session.done;
  }
});

Deno.test("socks5 MBIND: the client leaving closes the listener on the server", async () => {
  await using svc = await startService({ handler: (o) => new Socks5Handler(o), metadata: { bind: true } });
  const port = freeTcpPort();
  const { conn, reply } = await rawMbind(svc.port, port);
  equal(reply.addr.port, port);
  conn.close();
  await until(
    () => {
      try {
        Deno.listen({ hostname: "127.0.0.1", port }).close();
        return true;
      } catch {
        return false;
      }
    },
    3000,
    "port released",
  );
});

Deno.test("socks5 connector bind(tcp) through our handler: one tunnel, many peers, their addresses", async () => {
  await using svc = await startService({ handler: (o) => new Socks5Handler(o), metadata: { bind: true } });
  const c = await connector();
  const ln: Listener = await c.bind(
    await Deno.connect({ hostname: "127.0.0.1", port: svc.port }),
    "tcp",
    "127.0.0.1:0",
  );
  try {
    const bound = ln.addr as Deno.NetAddr;
    equal(bound.hostname, "127.0.0.1");
    ok(bound.port > 0);
    const serving = (async () => {
      const loops: Promise<void>[] = [];
      for (let i = 0; i < 50; i++) {
        const conn: Conn = await ln.accept();
        equal((conn.localAddr as Deno.NetAddr).port, bound.port);
        loops.push((async () => {
          const data = await readAll(conn);
          const from = conn.remoteAddr as Deno.NetAddr;
          await writeAll(conn, enc.encode(`${from.port}:${dec.decode(data)}`));
          await conn.closeWrite();
          conn.close();
        })());
      }
      await Promise.all(loops);
    })();
    await within(
      Promise.all(Array.from({ length: 50 }, async (_, i) => {
        const peer = await Deno.connect({ hostname: "127.0.0.1", port: bound.port });
        try {
          await writeAll(peer, enc.encode(`msg ${i} `.repeat(2000)));
          await peer.closeWrite();
          const back = dec.decode(await readAll(peer));
          equal(back, `${(peer.localAddr as Deno.NetAddr).port}:${`msg ${i} `.repeat(2000)}`);
        } finally {
          peer.close();
        }
      })),
      15_000,
      "50 peers",
    );
    await within(serving, 5000);
  } finally {
    ln.close();
  }
});

Deno.test("socks5 connector bind refused by the server is a DialError and closes the conn", async () => {
  await using svc = await startService({ handler: (o) => new Socks5Handler(o) });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: svc.port });
  await rejects((await connector()).bind(conn, "tcp", ":0"), (e: Error) => {
    ok(e instanceof DialError && /MBIND.*0x02/.test(e.message), e.message);
    return true;
  });
  await rejects(conn.write(new Uint8Array(1)));
});

/** An rtcp service (listener through a socks5 chain, handler forwarding to `target`) started in process. */
async function rtcpService(socksPort: number, bindPort: number, target: number) {
  const router = chainRouter(await connector(), `127.0.0.1:${socksPort}`);
  const listener = new RtcpListener({ addr: `127.0.0.1:${bindPort}`, logger: nopLogger, service: "rtcp", router });
  await listener.init(new Metadata({}));
  const forwarder = new NodeGroup([{ name: "target-0", addr: `127.0.0.1:${target}`, weight: 1, backup: false }]);
  const handler = new RemoteForwardHandler(
    { service: "rtcp", logger: nopLogger, router: new DefaultRouter(), forwarder },
    "rtcp",
  );
  await handler.init(new Metadata({}));
  const service = new Service({ name: "rtcp", listener, handler, logger: nopLogger });
  service.serve().catch(() => {});
  return service;
}

/** Polls a round trip until the remote port answers. */
async function untilForwarded(port: number, msg: string, ms = 8000): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return await roundTrip(port, msg);
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

Deno.test("rtcp listener + handler through a socks5 chain forward the remote port to the target, and bind again after a restart", async () => {
  const echo = tcpEcho();
  const socksPort = freeTcpPort();
  const bindPort = freeTcpPort();
  let server = await startService({
    handler: (o) => new Socks5Handler(o),
    metadata: { bind: true },
    addr: `127.0.0.1:${socksPort}`,
  });
  const rtcp = await rtcpService(socksPort, bindPort, echo.port);
  try {
    equal(await untilForwarded(bindPort, "hello"), "hello");
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => roundTrip(bindPort, `conn ${i}`)));
    deepEqual(many, Array.from({ length: 20 }, (_, i) => `conn ${i}`));
    await server.close();
    server = await startService({
      handler: (o) => new Socks5Handler(o),
      metadata: { bind: true },
      addr: `127.0.0.1:${socksPort}`,
    });
    equal(await untilForwarded(bindPort, "again", 10_000), "again");
  } finally {
    await rtcp.close();
    await server.close();
    echo.close();
  }
});

Deno.test("rtcp without a chain listens locally", async () => {
  const echo = tcpEcho();
  const listener = new RtcpListener({
    addr: "127.0.0.1:0",
    logger: nopLogger,
    service: "rtcp",
    router: new DefaultRouter(),
  });
  await listener.init(new Metadata({}));
  const port = (listener.addr as Deno.NetAddr).port;
  ok(port > 0);
  const forwarder = new NodeGroup([{ name: "t", addr: `127.0.0.1:${echo.port}`, weight: 1, backup: false }]);
  const handler = new RemoteForwardHandler(
    { service: "rtcp", logger: nopLogger, router: new DefaultRouter(), forwarder },
    "rtcp",
  );
  const service = new Service({ name: "rtcp", listener, handler, logger: nopLogger });
  service.serve().catch(() => {});
  try {
    equal(await roundTrip(port, "local"), "local");
  } finally {
    await service.close();
    echo.close();
  }
});
