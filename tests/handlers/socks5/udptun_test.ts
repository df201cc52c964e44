/**
 * SOCKS5 UDP-tun (0xF3): our handler in relay mode and bind mode on the wire, our connector through it (relay=tcp
 * and bind("udp")), and the rudp listener + handler through a one-node socks5 chain, in process.
 */
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { HandshakeReader } from "../../../core/bufio.ts";
import { nopLogger } from "../../../core/log.ts";
import { Metadata, type MetadataRecord } from "../../../core/metadata.ts";
import { DialError } from "../../../core/errors.ts";
import { NodeGroup } from "../../../core/routing/node_group.ts";
import { DefaultRouter } from "../../../core/routing/router.ts";
import { Service } from "../../../core/service/service.ts";
import { RemoteForwardHandler } from "../../../handlers/forward/remote.ts";
import { Socks5Connector } from "../../../handlers/socks5/connector.ts";
import { Socks5Handler } from "../../../handlers/socks5/handler.ts";
import {
  Cmd,
  encodeGreeting,
  encodeRequest,
  encodeUdpTunHeader,
  readReply,
  readUdpTunHeader,
} from "../../../handlers/socks5/wire.ts";
import { RudpListener } from "../../../listeners/rudp/listener.ts";
import { chainRouter } from "../../helpers/chain.ts";
import { udpEcho } from "../../helpers/servers.ts";
import { startService } from "../../helpers/service.ts";
import { within, writeAll } from "../../helpers/mux_pair.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function freeUdpPort(): number {
  const s = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const port = (s.addr as Deno.NetAddr).port;
  s.close();
  return port;
}

function frame(data: string, host: string, port: number): Uint8Array {
  const d = enc.encode(data);
  const h = encodeUdpTunHeader(d.length, host, port);
  const out = new Uint8Array(h.length + d.length);
  out.set(h);
  out.set(d, h.length);
  return out;
}

/** A raw UDP-tun client past the reply. */
async function rawTun(port: number, host: string, bindPort: number) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const r = new HandshakeReader(conn);
  await conn.write(encodeGreeting([0]));
  deepEqual([...await r.readFull(2)], [5, 0]);
  await conn.write(encodeRequest(Cmd.UdpTun, host, bindPort));
  const reply = await readReply(r);
  const next = async () => {
    const { length, addr } = await readUdpTunHeader(r);
    return { data: dec.decode(await r.readFull(length)), addr };
  };
  return { conn, reply, next, [Symbol.dispose]: () => conn.close() };
}

async function connector(md: MetadataRecord = {}): Promise<Socks5Connector> {
  const c = new Socks5Connector({ logger: nopLogger });
  await c.init(new Metadata(md));
  return c;
}

async function receiveWithin(sock: Deno.DatagramConn, ms = 3000): Promise<[string, Deno.NetAddr]> {
  const [d, a] = await within(sock.receive(), ms, "datagram");
  return [dec.decode(d), a as Deno.NetAddr];
}

Deno.test("socks5 UDP-tun relay mode: frames to any target, replies framed with the target as source", async () => {
  const echo = udpEcho("echo:");
  const other = udpEcho("other:");
  try {
    await using svc = await startService({ handler: (o) => new Socks5Handler(o), metadata: { udp: true } });
    using t = await rawTun(svc.port, "0.0.0.0", 0);
    equal(t.reply.code, 0);
    await writeAll(t.conn, frame("one", "127.0.0.1", echo.port));
    deepEqual(await within(t.next(), 3000), { data: "echo:one", addr: { host: "127.0.0.1", port: echo.port } });
    await writeAll(t.conn, frame("two", "127.0.0.1", other.port));
    deepEqual(await within(t.next(), 3000), { data: "other:two", addr: { host: "127.0.0.1", port: other.port } });
  } finally {
    echo.close();
    other.close();
  }
});

Deno.test("socks5 UDP-tun is refused with 0x02 unless udp=true (relay) or bind=true (bind mode)", async () => {
  {
    await using svc = await startService({ handler: (o) => new Socks5Handler(o), metadata: { bind: true } });
    using t = await rawTun(svc.port, "0.0.0.0", 0);
    equal(t.reply.code, 0x02);
  }
  await using svc = await startService({ handler: (o) => new Socks5Handler(o), metadata: { udp: true } });
  using t = await rawTun(svc.port, "127.0.0.1", freeUdpPort());
  equal(t.reply.code, 0x02);
});

Deno.test("socks5 UDP-tun bind mode: peers' datagrams come framed with their address, answers go back to them", async () => {
  await using svc = await startService({ handler: (o) => new Socks5Handler(o), metadata: { bind: true } });
  const port = freeUdpPort();
  using t = await rawTun(svc.port, "127.0.0.1", port);
  equal(t.reply.code, 0);
  deepEqual(t.reply.addr, { host: "127.0.0.1", port });
  const peer = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  try {
    await peer.send(enc.encode("ping"), { transport: "udp", hostname: "127.0.0.1", port });
    const got = await within(t.next(), 3000);
    deepEqual(got, { data: "ping", addr: { host: "127.0.0.1", port: (peer.addr as Deno.NetAddr).port } });
    await writeAll(t.conn, frame("pong", got.addr.host, got.addr.port));
    const [data, from] = await receiveWithin(peer);
    equal(data, "pong");
    equal(from.port, port);
    // a busy port answers 0x01
    using busy = await rawTun(svc.port, "127.0.0.1", port);
    equal(busy.reply.code, 0x01);
  } finally {
    peer.close();
  }
});

Deno.test("socks5 connector with relay=tcp talks UDP through our handler's UDP-tun relay", async () => {
  const echo = udpEcho("echo:");
  try {
    await using svc = await startService({ handler: (o) => new Socks5Handler(o), metadata: { udp: true } });
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: svc.port });
    const udp = await (await connector({ relay: "tcp" })).connect(conn, "udp", `127.0.0.1:${echo.port}`);
    try {
      for (const m of ["a", "bb", "x".repeat(1400)]) {
        await udp.write(enc.encode(m));
        const buf = new Uint8Array(2048);
        const n = await within(udp.read(buf), 3000);
        equal(dec.decode(buf.subarray(0, n!)), `echo:${m}`);
      }
    } finally {
      udp.close();
    }
  } finally {
    echo.close();
  }
});

Deno.test("socks5 connector bind(udp): each peer is a datagram session on the bound port", async () => {
  await using svc = await startService({ handler: (o) => new Socks5Handler(o), metadata: { bind: true } });
  const port = freeUdpPort();
  const ln = await (await connector()).bind(
    await Deno.connect({ hostname: "127.0.0.1", port: svc.port }),
    "udp",
    `127.0.0.1:${port}`,
  );
  const peers = [0, 1].map(() => Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" }));
  try {
    deepEqual(ln.addr, { transport: "udp", hostname: "127.0.0.1", port });
    const to: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port };
    await peers[0].send(enc.encode("p0"), to);
    const s0 = await within(ln.accept(), 3000);
    ok(s0.datagram);
    equal((s0.remoteAddr as Deno.NetAddr).port, (peers[0].addr as Deno.NetAddr).port);
    await peers[1].send(enc.encode("p1"), to);
    const s1 = await within(ln.accept(), 3000);
    const buf = new Uint8Array(100);
    equal(dec.decode(buf.subarray(0, (await s0.read(buf))!)), "p0");
    equal(dec.decode(buf.subarray(0, (await s1.read(buf))!)), "p1");
    await s1.write(enc.encode("to p1"));
    await s0.write(enc.encode("to p0"));
    equal((await receiveWithin(peers[0]))[0], "to p0");
    equal((await receiveWithin(peers[1]))[0], "to p1");
    s0.close();
    s1.close();
  } finally {
    ln.close();
    for (const p of peers) p.close();
  }
  // the tunnel ended: the port is free again
  const again = await within(
    (async () => {
      for (;;) {
        try {
          return Deno.listenDatagram({ hostname: "127.0.0.1", port, transport: "udp" });
        } catch {
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    })(),
    3000,
    "port released",
  );
  again.close();
});

Deno.test("socks5 connector bind(udp) refused without bind=true", async () => {
  await using svc = await startService({ handler: (o) => new Socks5Handler(o), metadata: { udp: true } });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: svc.port });
  await rejects(
    (await connector()).bind(conn, "udp", `127.0.0.1:${freeUdpPort()}`),
    (e: Error) => e instanceof DialError && /0xF3.*0x02/.test(e.message),
  );
});

Deno.test("rudp listener + handler through a socks5 chain forward the remote UDP port to the target", async () => {
  const echo = udpEcho("echo:");
  await using svc = await startService({ handler: (o) => new Socks5Handler(o), metadata: { bind: true } });
  const router = chainRouter(await connector(), `127.0.0.1:${svc.port}`);
  const port = freeUdpPort();
  const listener = new RudpListener({ addr: `127.0.0.1:${port}`, logger: nopLogger, service: "rudp", router });
  await listener.init(new Metadata({ ttl: "2s" }));
  const forwarder = new NodeGroup([{ name: "t", addr: `127.0.0.1:${echo.port}`, weight: 1, backup: false }]);
  const handler = new RemoteForwardHandler(
    { service: "rudp", logger: nopLogger, router: new DefaultRouter(), forwarder },
    "rudp",
  );
  await handler.init(new Metadata({}));
  const service = new Service({ name: "rudp", listener, handler, logger: nopLogger });
  service.serve().catch(() => {});
  const client = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  try {
    const to: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port };
    let got: string | undefined;
    const end = Date.now() + 5000;
    while (!got && Date.now() < end) {
      await client.send(enc.encode("q1"), to);
      got = await receiveWithin(client, 200).then(([d]) => d, () => undefined);
    }
    equal(got, "echo:q1");
    for (const m of ["q2", "y".repeat(1200)]) {
      await client.send(enc.encode(m), to);
      equal((await receiveWithin(client))[0], `echo:${m}`);
    }
  } finally {
    client.close();
    await service.close();
    echo.close();
  }
});
