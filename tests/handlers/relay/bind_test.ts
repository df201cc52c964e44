/**
 * Relay BIND for remote port forwarding: TCP BIND with smux on the wire (as a GOST client drives it), our
 * connector's bind() for TCP and UDP against our handler, and rtcp/rudp through a one-node relay chain in process.
 */
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { HandshakeReader } from "../../../core/bufio.ts";
import { DialError } from "../../../core/errors.ts";
import { nopLogger } from "../../../core/log.ts";
import { Metadata } from "../../../core/metadata.ts";
import { MuxSession } from "../../../core/mux/session.ts";
import { NodeGroup } from "../../../core/routing/node_group.ts";
import { DefaultRouter } from "../../../core/routing/router.ts";
import { Service } from "../../../core/service/service.ts";
import { RemoteForwardHandler } from "../../../handlers/forward/remote.ts";
import { RelayConnector } from "../../../handlers/relay/connector.ts";
import { RelayHandler } from "../../../handlers/relay/handler.ts";
import { Cmd, encodeRequest, NetworkId, readResponse } from "../../../handlers/relay/wire.ts";
import { RtcpListener } from "../../../listeners/rtcp/listener.ts";
import { RudpListener } from "../../../listeners/rudp/listener.ts";
import { chainRouter } from "../../helpers/chain.ts";
import { tcpEcho, udpEcho } from "../../helpers/servers.ts";
import { startService } from "../../helpers/service.ts";
import { readAll, readN, within, writeAll } from "../../helpers/mux_pair.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const users = [{ username: "u", password: "p" }];

async function connector(auth?: { username: string; password: string }): Promise<RelayConnector> {
  const c = new RelayConnector({ logger: nopLogger, auth });
  await c.init(new Metadata({}));
  return c;
}

function freePort(transport: "tcp" | "udp"): number {
  const s = transport === "tcp"
    ? Deno.listen({ hostname: "127.0.0.1", port: 0 })
    : Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const port = (s.addr as Deno.NetAddr).port;
  s.close();
  return port;
}

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

Deno.test("relay TCP BIND on the wire: OK + Addr, then smux streams starting with a relay response naming the peer", async () => {
  await using svc = await startService({ handler: (o) => new RelayHandler(o), metadata: { bind: true } });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: svc.port });
  await writeAll(
    conn,
    encodeRequest({
      cmd: Cmd.Bind,
      flags: 0,
      features: [{ kind: "network", network: NetworkId.Tcp }, { kind: "addr", host: "127.0.0.1", port: 0 }],
    }),
  );
  const r = new HandshakeReader(conn);
  const resp = await within(readResponse(r), 3000);
  equal(resp.status, 0);
  const a = resp.features[0];
  ok(a.kind === "addr" && a.host === "127.0.0.1" && a.port > 0);
  const session = MuxSession.server(r.conn());
  try {
    const peer = await Deno.connect({ hostname: "127.0.0.1", port: a.port });
    await writeAll(peer, enc.encode("hi"));
    const st = await within(session.acceptStream(), 3000);
    const head = await readN(st, 14);
    const peerPort = (peer.localAddr as Deno.NetAddr).port;
    deepEqual([...head], [1, 0, 0, 10, 2, 0, 7, 1, 127, 0, 0, 1, peerPort >> 8, peerPort & 0xff]);
    equal(dec.decode(await readN(st, 2)), "hi");
    await st.write(enc.encode("yo"));
    equal(dec.decode(await readN(peer, 2)), "yo");
    peer.close();
    st.close();
  } finally {
    session.close();
    await session.done;
  }
});

Deno.test("relay connector bind(tcp) through our handler, with auth: many peers over one tunnel", async () => {
  await using svc = await startService({ handler: (o) => new RelayHandler(o), metadata: { bind: true }, users });
  const ln = await (await connector(users[0])).bind(
    await Deno.connect({ hostname: "127.0.0.1", port: svc.port }),
    "tcp",
    "127.0.0.1:0",
  );
  try {
    const bound = ln.addr as Deno.NetAddr;
    ok(bound.port > 0);
    const serving = (async () => {
      for (let i = 0; i < 30; i++) {
        const c = await ln.accept();
        (async () => {
          const data = await readAll(c);
          await writeAll(c, enc.encode(`${(c.remoteAddr as Deno.NetAddr).port}/${dec.decode(data)}`));
          await c.closeWrite();
          c.close();
        })();
      }
    })();
    const answers = await within(
      Promise.all(Array.from({ length: 30 }, async (_, i) => {
        const peer = await Deno.connect({ hostname: "127.0.0.1", port: bound.port });
        try {
          await writeAll(peer, enc.encode(`n${i}`));
          await peer.closeWrite();
          return [dec.decode(await readAll(peer)), `${(peer.localAddr as Deno.NetAddr).port}/n${i}`];
        } finally {
          peer.close();
        }
      })),
      10_000,
    );
    for (const [got, want] of answers) equal(got, want);
    await within(serving, 3000);
  } finally {
    ln.close();
  }
});

Deno.test("relay connector bind is refused without bind=true (Forbidden) and with bad credentials", async () => {
  await using off = await startService({ handler: (o) => new RelayHandler(o) });
  await rejects(
    (await connector()).bind(await Deno.connect({ hostname: "127.0.0.1", port: off.port }), "tcp", ":0"),
    (e: Error) => e instanceof DialError && /Forbidden/.test(e.message),
  );
  await using auth = await startService({ handler: (o) => new RelayHandler(o), metadata: { bind: true }, users });
  await rejects(
    (await connector({ username: "u", password: "x" })).bind(
      await Deno.connect({ hostname: "127.0.0.1", port: auth.port }),
      "udp",
      `127.0.0.1:${freePort("udp")}`,
    ),
    (e: Error) => e instanceof DialError && /Unauthorized/.test(e.message),
  );
});

Deno.test("relay connector bind(udp) through our handler: peers become datagram sessions", async () => {
  await using svc = await startService({ handler: (o) => new RelayHandler(o), metadata: { bind: true } });
  const port = freePort("udp");
  const ln = await (await connector()).bind(
    await Deno.connect({ hostname: "127.0.0.1", port: svc.port }),
    "udp",
    `127.0.0.1:${port}`,
  );
  const peer = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  try {
    equal((ln.addr as Deno.NetAddr).port, port);
    await peer.send(enc.encode("dgram"), { transport: "udp", hostname: "127.0.0.1", port });
    const s = await within(ln.accept(), 3000);
    const buf = new Uint8Array(64);
    equal(dec.decode(buf.subarray(0, (await s.read(buf))!)), "dgram");
    await s.write(enc.encode("reply"));
    const [d, from] = await within(peer.receive(), 3000);
    equal(dec.decode(d), "reply");
    equal((from as Deno.NetAddr).port, port);
    s.close();
  } finally {
    peer.close();
    ln.close();
  }
});

Deno.test("rtcp and rudp through a relay chain forward remote ports to their targets", async () => {
  const tcpTarget = tcpEcho();
  const udpTarget = udpEcho("u:");
  await using relay = await startService({ handler: (o) => new RelayHandler(o), metadata: { bind: true } });
  const router = chainRouter(await connector(), `127.0.0.1:${relay.port}`);
  const [tport, uport] = [freePort("tcp"), freePort("udp")];
  const services: Service[] = [];
  for (const [kind, port, target] of [["rtcp", tport, tcpTarget.port], ["rudp", uport, udpTarget.port]] as const) {
    const lopts = { addr: `127.0.0.1:${port}`, logger: nopLogger, service: kind, router };
    const listener = kind === "rtcp" ? new RtcpListener(lopts) : new RudpListener(lopts);
    await listener.init(new Metadata({}));
    const forwarder = new NodeGroup([{ name: "t", addr: `127.0.0.1:${target}`, weight: 1, backup: false }]);
    const handler = new RemoteForwardHandler(
      { service: kind, logger: nopLogger, router: new DefaultRouter(), forwarder },
      kind,
    );
    await handler.init(new Metadata({}));
    const svc = new Service({ name: kind, listener, handler, logger: nopLogger });
    svc.serve().catch(() => {});
    services.push(svc);
  }
  const client = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  try {
    let tcpAnswer: string | undefined;
    const end = Date.now() + 5000;
    while (!tcpAnswer && Date.now() < end) {
      tcpAnswer = await roundTrip(tport, "over relay").catch(() => undefined);
      if (!tcpAnswer) await new Promise((r) => setTimeout(r, 50));
    }
    equal(tcpAnswer, "over relay");
    let udpAnswer: string | undefined;
    while (!udpAnswer && Date.now() < end + 5000) {
      await client.send(enc.encode("d"), { transport: "udp", hostname: "127.0.0.1", port: uport });
      udpAnswer = await within(client.receive(), 200).then(([d]) => dec.decode(d), () => undefined);
    }
    equal(udpAnswer, "u:d");
  } finally {
    client.close();
    await Promise.all(services.map((s) => s.close()));
    tcpTarget.close();
    udpTarget.close();
  }
});
