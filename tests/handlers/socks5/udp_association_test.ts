/**
 * One SOCKS5 UDP ASSOCIATE through a chain is one upstream association, whatever the number of targets (as GOST:
 * the handler gets one packet conn from the router and every datagram names its own target). The upstream's TCP
 * control conns are counted by a forwarder in front of it: one for ten targets, over GOST's UDP-tun (`relay=tcp`) to
 * our socks5 node and over standard ASSOCIATE (first hop) to dante. The service bypass still applies to every
 * destination.
 * @module
 */
import { deepEqual, equal } from "node:assert/strict";
import { HandshakeReader } from "../../../core/bufio.ts";
import { closeQuietly } from "../../../core/conn.ts";
import { nopLogger } from "../../../core/log.ts";
import { Metadata, type MetadataRecord } from "../../../core/metadata.ts";
import type { Router } from "../../../core/contracts.ts";
import { Chain, type ChainNode, Hop } from "../../../core/routing/chain.ts";
import { DefaultRouter } from "../../../core/routing/router.ts";
import { Service } from "../../../core/service/service.ts";
import { Socks5Connector } from "../../../handlers/socks5/connector.ts";
import { Socks5Handler } from "../../../handlers/socks5/handler.ts";
import {
  decodeUdpHeader,
  encodeGreeting,
  encodeRequest,
  encodeUdpHeader,
  readMethodReply,
  readReply,
} from "../../../handlers/socks5/wire.ts";
import { TcpListener } from "../../../listeners/tcp/listener.ts";
import { tcpDialer } from "../../helpers/chain.ts";
import { startDante } from "../../helpers/peers.ts";
import { udpEcho } from "../../helpers/servers.ts";
import { startService } from "../../helpers/service.ts";

const TARGETS = 10;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** A TCP forwarder to `port` that counts the conns it accepts. */
function countingForwarder(port: number): { port: number; accepted: () => number; close(): void } {
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  let accepted = 0;
  (async () => {
    for await (const c of ln) {
      accepted++;
      conns.add(c);
      Deno.connect({ hostname: "127.0.0.1", port }).then((up) => {
        conns.add(up);
        const end = () => (closeQuietly(c), closeQuietly(up));
        c.readable.pipeTo(up.writable).catch(() => {}).finally(end);
        up.readable.pipeTo(c.writable).catch(() => {}).finally(end);
      }, () => closeQuietly(c));
    }
  })().catch(() => {});
  return {
    port: (ln.addr as Deno.NetAddr).port,
    accepted: () => accepted,
    close() {
      closeQuietly(ln);
      for (const c of conns) closeQuietly(c);
    },
  };
}

/** A router through one socks5 node at `127.0.0.1:port` with connector metadata `md`. */
async function socksChainRouter(port: number, md: MetadataRecord, bypassed?: string): Promise<DefaultRouter> {
  const connector = new Socks5Connector({ logger: nopLogger });
  await connector.init(new Metadata(md));
  const node: ChainNode = {
    name: "node-0",
    addr: `127.0.0.1:${port}`,
    weight: 1,
    backup: false,
    dialer: tcpDialer,
    connector,
  };
  const chain = new Chain("chain-0", [new Hop("hop-0", [node])]);
  const bypass = bypassed ? { contains: (_: string, addr: string) => addr === bypassed } : undefined;
  return new DefaultRouter({ logger: nopLogger, chain: () => chain, bypass: () => bypass });
}

/** Serves socks5 with `udp=true` on 127.0.0.1 through `router`. */
async function socksService(router: Router): Promise<{ port: number; close(): Promise<void> }> {
  const listener = new TcpListener({ addr: "127.0.0.1:0", logger: nopLogger, service: "down", router });
  await listener.init(new Metadata({}));
  const handler = new Socks5Handler({ service: "down", logger: nopLogger, router });
  await handler.init(new Metadata({ udp: true }));
  const service = new Service({ name: "down", listener, handler, logger: nopLogger });
  service.serve().catch(() => {});
  return { port: (listener.addr as Deno.NetAddr).port, close: () => service.close() };
}

/** Opens an association on the socks5 server at `port`: the control conn and the relay address. */
async function associate(port: number): Promise<{ ctl: Deno.Conn; relay: Deno.NetAddr }> {
  const ctl = await Deno.connect({ hostname: "127.0.0.1", port });
  const r = new HandshakeReader(ctl);
  await ctl.write(encodeGreeting([0]));
  equal(await readMethodReply(r), 0);
  await ctl.write(encodeRequest(3, "0.0.0.0", 0));
  const rep = await readReply(r);
  equal(rep.code, 0);
  return { ctl, relay: { transport: "udp", hostname: rep.addr.host, port: rep.addr.port } };
}

/** Sends `msg` to `host:port` through the relay until a reply comes (up to 5 sends, 2 s apart). */
async function exchange(
  sock: Deno.DatagramConn,
  relay: Deno.NetAddr,
  host: string,
  port: number,
  msg: string,
): Promise<{ host: string; port: number; text: string }> {
  const header = encodeUdpHeader(host, port);
  const out = new Uint8Array(header.length + msg.length);
  out.set(header);
  out.set(enc.encode(msg), header.length);
  const reply = sock.receive().then(([d]) => {
    const h = decodeUdpHeader(d);
    return { ...h.addr, text: dec.decode(d.subarray(h.dataOffset)) };
  });
  for (let i = 0; i < 5; i++) {
    await sock.send(out, relay);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const got = await Promise.race([reply, new Promise<null>((r) => timer = setTimeout(() => r(null), 2000))]);
    clearTimeout(timer);
    if (got) return got;
  }
  throw new Error(`no reply from ${host}:${port}`);
}

/** Ten echo servers, one association through `router` to all of them; returns when every one answered. */
async function tenTargets(router: Router): Promise<void> {
  const echoes = Array.from({ length: TARGETS }, (_, i) => udpEcho(`e${i}:`));
  const down = await socksService(router);
  const { ctl, relay } = await associate(down.port);
  const sock = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  try {
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < TARGETS; i++) {
        const got = await exchange(sock, relay, "127.0.0.1", echoes[i].port, `r${round}`);
        deepEqual(got, { host: "127.0.0.1", port: echoes[i].port, text: `e${i}:r${round}` });
      }
    }
  } finally {
    sock.close();
    ctl.close();
    await down.close();
    for (const e of echoes) e.close();
  }
}

Deno.test("socks5 UDP ASSOCIATE to 10 targets through a relay=tcp socks5 node opens one upstream association", async () => {
  await using up = await startService({ handler: (o) => new Socks5Handler(o), metadata: { udp: true } });
  const fwd = countingForwarder(up.port);
  try {
    await tenTargets(await socksChainRouter(fwd.port, { relay: "tcp" }));
    equal(fwd.accepted(), 1);
  } finally {
    fwd.close();
  }
});

Deno.test("socks5 UDP ASSOCIATE to 10 targets through dante (standard ASSOCIATE, first hop) opens one association", async () => {
  await using dante = await startDante();
  const fwd = countingForwarder(dante.port);
  try {
    await tenTargets(await socksChainRouter(fwd.port, { relay: "udp" }));
    equal(fwd.accepted(), 1);
  } finally {
    fwd.close();
  }
});

Deno.test("socks5 UDP ASSOCIATE through a chain: the service bypass still drops datagrams to a bypassed target", async () => {
  const allowed = udpEcho("ok:");
  const denied = udpEcho("leak:");
  await using up = await startService({ handler: (o) => new Socks5Handler(o), metadata: { udp: true } });
  const router = await socksChainRouter(up.port, { relay: "tcp" }, `127.0.0.1:${denied.port}`);
  const down = await socksService(router);
  const { ctl, relay } = await associate(down.port);
  const sock = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  try {
    // the bypassed datagram goes first: had it passed, its reply would come before the allowed one's
    const header = encodeUdpHeader("127.0.0.1", denied.port);
    await sock.send(new Uint8Array([...header, ...enc.encode("x")]), relay);
    const got = await exchange(sock, relay, "127.0.0.1", allowed.port, "y");
    deepEqual(got, { host: "127.0.0.1", port: allowed.port, text: "ok:y" });
  } finally {
    sock.close();
    ctl.close();
    await down.close();
    allowed.close();
    denied.close();
  }
});
