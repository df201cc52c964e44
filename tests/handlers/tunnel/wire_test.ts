/**
 * The tunnel protocol on raw bytes (docs/wire.md, "Tunnel"): tunnel ids, the requests our connector sends (BIND and
 * CONNECT, byte for byte), and our handler driven as a GOST client drives it: BIND answered with Addr + connector id
 * then smux, a visitor's CONNECT answered at once and its stream starting with the header naming the visitor and
 * the host; the refusals with GOST's status codes.
 */
import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { HandshakeReader } from "../../../core/bufio.ts";
import { type Conn, writeFull } from "../../../core/conn.ts";
import { AuthError, DialError } from "../../../core/errors.ts";
import { nopLogger } from "../../../core/log.ts";
import { Metadata, type MetadataRecord } from "../../../core/metadata.ts";
import { MuxSession } from "../../../core/mux/session.ts";
import { createRegistries } from "../../../core/registries.ts";
import { Cmd, encodeRequest, FLAG_UDP, NetworkId, readResponse } from "../../../handlers/relay/wire.ts";
import { TunnelConnector } from "../../../handlers/tunnel/connector.ts";
import { TunnelHandler } from "../../../handlers/tunnel/handler.ts";
import {
  idText,
  isPrivate,
  isZeroId,
  parseTunnelId,
  randomId,
  sameId,
  tunnelEndpoint,
  weightOf,
} from "../../../handlers/tunnel/id.ts";
import { readN, within } from "../../helpers/mux_pair.ts";
import { startService } from "../../helpers/service.ts";

const ID = "4d21094e-b74c-4916-86c1-d9fa36ea677b";
const ID_BYTES = [0x4d, 0x21, 0x09, 0x4e, 0xb7, 0x4c, 0x49, 0x16, 0x86, 0xc1, 0xd9, 0xfa, 0x36, 0xea, 0x67, 0x7b];
const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("tunnel ids: UUID text, the private flag, the weight byte, equality and GOST's MD5 endpoint", () => {
  const id = parseTunnelId(ID)!;
  deepEqual([...id], [...ID_BYTES, 0, 0, 0, 0]);
  equal(idText(id), ID);
  const priv = parseTunnelId(`$${ID.toUpperCase()}`)!;
  equal(priv[16], 0x80);
  ok(isPrivate(priv) && !isPrivate(id));
  ok(sameId(id, priv), "flags and weight aside");
  equal(parseTunnelId("4d21094e-b74c-4916-86c1"), null);
  equal(parseTunnelId("zz21094e-b74c-4916-86c1-d9fa36ea677b"), null);
  ok(isZeroId(new Uint8Array(20)));
  const r = randomId(0x01, 7);
  match(idText(r), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  equal(r[16], 0x01);
  equal(weightOf(r), 7);
  // hashlib.md5(b"4d21094e-b74c-4916-86c1-d9fa36ea677b").hexdigest()[:16]
  equal(tunnelEndpoint(id), "a6265c6d9847a4be");
});

/** A TCP server that captures what the first client sends and answers `answer` once `want` bytes came. */
function capture(want: number, answer: Uint8Array): { port: number; got: Promise<Uint8Array> } {
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const got = (async () => {
    const c = await ln.accept();
    ln.close();
    const b = await readN(c, want);
    await writeFull(c, answer);
    // hold the conn a moment for the client to read the answer, then close
    await c.read(new Uint8Array(1)).catch(() => null);
    c.close();
    return b;
  })();
  return { port: (ln.addr as Deno.NetAddr).port, got };
}

async function connector(md: MetadataRecord, auth?: { username: string; password: string }): Promise<TunnelConnector> {
  const c = new TunnelConnector({ logger: nopLogger, auth });
  await c.init(new Metadata(md));
  return c;
}

function addrBytes(ip: number[], port: number): number[] {
  return [0x02, 0x00, 0x07, 0x01, ...ip, port >> 8, port & 0xff];
}

Deno.test("the connector's BIND request byte for byte: [Network udp], [UserAuth], Addr(ours), Addr(bind), Tunnel", async () => {
  // GOST's answer: OK, Addr(endpoint as a domain, port 0), Tunnel(connector id)
  const answer = encodeAnswerBind("a6265c6d9847a4be");
  const srv = capture(4, answer);
  const c = await connector({ "tunnel.id": ID, "tunnel.weight": 9 }, { username: "u", password: "p" });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: srv.port });
  const local = conn.localAddr as Deno.NetAddr;
  const ln = await c.bind(conn, "udp", ":0");
  equal((ln.addr as Deno.NetAddr).hostname, "a6265c6d9847a4be");
  ln.close();
  const head = await srv.got;
  equal(head[0], 0x01);
  equal(head[1], Cmd.Bind | FLAG_UDP);
  // the whole request: read it again from a second capture of the full length
  const full = await captureWhole({ "tunnel.id": ID, "tunnel.weight": 9 }, "udp", ":0");
  const fea = [
    0x04,
    0x00,
    0x02,
    0x00,
    0x01, // Network udp
    0x01,
    0x00,
    0x04,
    0x01,
    0x75,
    0x01,
    0x70, // UserAuth u/p
    ...addrBytes([127, 0, 0, 1], full.localPort), // Addr(ours)
    ...addrBytes([0, 0, 0, 0], 0), // Addr(bind: :0 is 0.0.0.0:0)
    0x03,
    0x00,
    0x14,
    ...ID_BYTES,
    0,
    0,
    0,
    9, // Tunnel, weight 9
  ];
  deepEqual([...full.bytes], [0x01, 0x82, fea.length >> 8, fea.length & 0xff, ...fea]);
  ok(local.port > 0);
});

/** The answer a tunnel server gives a BIND. */
function encodeAnswerBind(host: string): Uint8Array {
  const h = enc.encode(host);
  const addr = [0x02, 0x00, 4 + h.length, 0x03, h.length, ...h, 0, 0];
  const tunnel = [0x03, 0x00, 0x14, ...new Array(16).fill(0x11), 0, 0, 0, 0];
  const fea = [...addr, ...tunnel];
  return Uint8Array.from([0x01, 0x00, fea.length >> 8, fea.length & 0xff, ...fea]);
}

/** Runs a bind against a server that reads the whole request (its header says how long) and answers OK. */
async function captureWhole(md: MetadataRecord, network: "tcp" | "udp", addr: string) {
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const got = (async () => {
    const s = await ln.accept();
    ln.close();
    const h = await readN(s, 4);
    const rest = await readN(s, (h[2] << 8) | h[3]);
    await writeFull(s, encodeAnswerBind("x.test"));
    return { s, bytes: Uint8Array.from([...h, ...rest]) };
  })();
  const c = await connector(md, { username: "u", password: "p" });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: (ln.addr as Deno.NetAddr).port });
  const localPort = (conn.localAddr as Deno.NetAddr).port;
  const l = await c.bind(conn, network, addr);
  const { s, bytes } = await got;
  l.close();
  s.close();
  return { bytes, localPort };
}

Deno.test("the connector's CONNECT request byte for byte, and a refusal named by GOST's status", async () => {
  const refusal = Uint8Array.from([0x01, 0x06, 0x00, 0x00]);
  const srv = capture(4, refusal);
  const c = await connector({ "tunnel.id": ID });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: srv.port });
  await rejects(
    c.connect(conn, "tcp", "ssh.test:22", { src: "10.0.0.1:5000" }),
    (e: Error) => (ok(e instanceof DialError), match(e.message, /0x06 Host Unreachable/), true),
  );
  await srv.got;
  // the bytes: Addr(src), Addr(target as a domain), Tunnel
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const seen = (async () => {
    const s = await ln.accept();
    ln.close();
    const h = await readN(s, 4);
    const b = Uint8Array.from([...h, ...await readN(s, (h[2] << 8) | h[3])]);
    await writeFull(s, Uint8Array.from([0x01, 0x02, 0x00, 0x00]));
    s.close();
    return b;
  })();
  const c2 = await connector({ tunnelID: ID });
  const conn2 = await Deno.connect({ hostname: "127.0.0.1", port: (ln.addr as Deno.NetAddr).port });
  await rejects(c2.connect(conn2, "tcp", "ssh.test:22", { src: "10.0.0.1:5000" }), AuthError);
  const name = [...enc.encode("ssh.test")];
  const fea = [
    0x02,
    0x00,
    0x07,
    0x01,
    10,
    0,
    0,
    1,
    0x13,
    0x88, // Addr(src)
    0x02,
    0x00,
    0x0c,
    0x03,
    8,
    ...name,
    0x00,
    0x16, // Addr(ssh.test:22)
    0x03,
    0x00,
    0x14,
    ...ID_BYTES,
    0,
    0,
    0,
    0, // Tunnel
  ];
  deepEqual([...await seen], [0x01, 0x01, 0x00, fea.length, ...fea]);
});

/** A tunnel handler on 127.0.0.1:0. */
function tunnelServer(md: MetadataRecord) {
  const reg = createRegistries();
  return startService({ handler: (o) => new TunnelHandler({ ...o, reg }), metadata: md });
}

/** Sends a raw request and reads the response. */
async function ask(port: number, req: Uint8Array): Promise<{ conn: Conn; status: number; r: HandshakeReader }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await writeFull(conn, req);
  const r = new HandshakeReader(conn, 256);
  const resp = await within(readResponse(r), 5000, "tunnel response");
  return { conn, status: resp.status, r };
}

const tunnelFeature = (id = ID) => ({ kind: "tunnel" as const, id: parseTunnelId(id)! });

Deno.test("our handler as a GOST client drives it: BIND then smux; a visitor's CONNECT is a stream with the header", async () => {
  await using svc = await tunnelServer({ "tunnel.direct": true });
  // the client behind NAT registers
  const bind = encodeRequest({
    cmd: Cmd.Bind,
    flags: 0,
    features: [
      { kind: "addr", host: "192.168.1.2", port: 40000 },
      { kind: "addr", host: "0.0.0.0", port: 0 },
      { kind: "tunnel", id: Uint8Array.from([...ID_BYTES, 0, 0, 0, 5]) },
    ],
  });
  const client = await Deno.connect({ hostname: "127.0.0.1", port: svc.port });
  await writeFull(client, bind);
  const cr = new HandshakeReader(client, 256);
  const resp = await readResponse(cr);
  equal(resp.status, 0x00);
  const addr = resp.features.find((f) => f.kind === "addr");
  deepEqual(addr, { kind: "addr", host: "a6265c6d9847a4be", port: 0 }, "the endpoint as the public host");
  const cid = resp.features.find((f) => f.kind === "tunnel");
  ok(cid?.kind === "tunnel" && cid.id.length === 20);
  if (cid?.kind === "tunnel") {
    equal(cid.id[16], 0x00, "a TCP connector");
    equal(cid.id[19], 5, "the weight copied");
  }
  const session = MuxSession.server(cr.conn(), { version: 2, maxStreamBuffer: 1 << 20 });
  try {
    // a visitor reaches it by id (tunnel.direct)
    const visit = encodeRequest({
      cmd: Cmd.Connect,
      flags: 0,
      features: [
        { kind: "addr", host: "10.1.1.1", port: 999 },
        { kind: "addr", host: "svc.test", port: 80 },
        tunnelFeature(),
      ],
    });
    const v = await ask(svc.port, visit);
    equal(v.status, 0x00, "OK at once");
    const stream = await within(session.acceptStream(), 5000, "the routed stream");
    const sr = new HandshakeReader(stream, 128);
    const head = await readResponse(sr);
    deepEqual(head, {
      status: 0,
      features: [{ kind: "addr", host: "10.1.1.1", port: 999 }, { kind: "addr", host: "svc.test", port: 80 }],
    });
    await writeFull(v.conn, enc.encode("ping"));
    equal(dec.decode(await sr.readFull(4)), "ping");
    await writeFull(stream, enc.encode("pong"));
    equal(dec.decode(await v.r.readFull(4)), "pong");
    stream.close();
    v.conn.close();
  } finally {
    session.close(); // closes the client's conn
  }
});

Deno.test("our handler's refusals carry GOST's status codes and close the conn", async () => {
  await using svc = await tunnelServer({ tunnel: `known.test:${ID}` });
  const connect = (features: Parameters<typeof encodeRequest>[0]["features"]) =>
    encodeRequest({ cmd: Cmd.Connect, flags: 0, features });
  const src = { kind: "addr" as const, host: "10.0.0.1", port: 1 };
  // no route: the host's rule names another tunnel, or none does (0x06 Host Unreachable)
  const other = "ac74d9dd-3125-442a-a7c1-f9e49e05faca";
  for (const host of ["known.test", "unknown.test"]) {
    const r = await ask(svc.port, connect([src, { kind: "addr", host, port: 80 }, tunnelFeature(other)]));
    equal(r.status, 0x06, host);
    equal(await r.conn.read(new Uint8Array(1)), null, "closed");
    r.conn.close();
  }
  // the route is right but the tunnel has no client (0x05 Service Unavailable)
  const none = await ask(svc.port, connect([src, { kind: "addr", host: "known.test", port: 80 }, tunnelFeature()]));
  equal(none.status, 0x05);
  none.conn.close();
  // no tunnel id, a zero one, a BIND over an unsupported network (0x01 Bad Request)
  for (
    const features of [
      [src, { kind: "addr" as const, host: "known.test", port: 80 }],
      [src, { kind: "tunnel" as const, id: new Uint8Array(20) }],
      [{ kind: "network" as const, network: NetworkId.Unix }, src, tunnelFeature()],
    ]
  ) {
    const r = await ask(svc.port, encodeRequest({ cmd: Cmd.Bind, flags: 0, features }));
    equal(r.status, 0x01);
    r.conn.close();
  }
  // an unknown command (0x03 ASSOCIATE) is Bad Request too
  const assoc = await ask(svc.port, encodeRequest({ cmd: Cmd.Associate, flags: 0, features: [src, tunnelFeature()] }));
  equal(assoc.status, 0x01);
  assoc.conn.close();
});

Deno.test("a visitor's target in the service bypass is Forbidden (0x03), as GOST checks it before routing", async () => {
  const reg = createRegistries();
  await using svc = await startService({
    handler: (o) =>
      new TunnelHandler({
        ...o,
        reg,
        bypass: () => ({ contains: (_n: string, a: string) => a.startsWith("blocked.") }),
      }),
    metadata: { "tunnel.direct": true },
  });
  const src = { kind: "addr" as const, host: "10.0.0.1", port: 1 };
  const req = (host: string) =>
    encodeRequest({ cmd: Cmd.Connect, flags: 0, features: [src, { kind: "addr", host, port: 80 }, tunnelFeature()] });
  const blocked = await ask(svc.port, req("blocked.test"));
  equal(blocked.status, 0x03);
  blocked.conn.close();
  const open = await ask(svc.port, req("open.test"));
  equal(open.status, 0x05, "not bypassed: routed (direct), and the tunnel has no client");
  open.conn.close();
});

Deno.test("with users, a tunnel client or visitor without the right credentials is Unauthorized (0x02)", async () => {
  const reg = createRegistries();
  await using svc = await startService({
    handler: (o) => new TunnelHandler({ ...o, reg }),
    users: [{ username: "u", password: "p" }],
    metadata: { "tunnel.direct": true },
  });
  const dial = () => Deno.connect({ hostname: "127.0.0.1", port: svc.port });
  for (const auth of [undefined, { username: "u", password: "wrong" }]) {
    const c = await connector({ "tunnel.id": ID }, auth);
    await rejects(c.bind(await dial(), "tcp", ":0"), AuthError);
    await rejects(c.connect(await dial(), "tcp", "svc.test:80"), AuthError);
  }
  // the right ones register (the OK and smux), and a visitor with them gets to the tunnel
  const good = await connector({ "tunnel.id": ID }, { username: "u", password: "p" });
  const ln = await good.bind(await dial(), "tcp", ":0");
  try {
    const visitor = await good.connect(await dial(), "tcp", "svc.test:80");
    const accepted = await within(ln.accept(), 5000, "the visitor's stream");
    await writeFull(visitor, enc.encode("hi"));
    equal(dec.decode(await readN(accepted, 2)), "hi");
    visitor.close();
    accepted.close();
  } finally {
    ln.close();
  }
});
