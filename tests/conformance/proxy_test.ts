/**
 * The proxy-protocol conformance suite: every registered handler is run against its connector(s), in-process over
 * loopback — `connector → tcp dialer → our handler on 127.0.0.1:0 → origin`. Cases: CONNECT with data both ways
 * and half-close both ways; auth accepted, refused (wrong credentials, none) with the protocol's own refusal on the
 * wire and an AuthError from the connector; an unreachable target with the protocol's error reply and a DialError;
 * UDP through a local UDP echo where the protocol carries it (SOCKS5 ASSOCIATE, SOCKS5 UDP-tun `relay=tcp`, relay
 * UDP), a DialError where it does not. Handlers that cannot run here are in {@link SKIP} with the reason; handlers
 * whose client side has another name are in {@link CONNECTORS}; a new protocol is picked up by registering it
 * (handlers/mod.ts) and describing its wire in {@link PROTOCOLS}. A protocol keyed by its credentials (Shadowsocks:
 * method and password) names them in `keys`; one that carries UDP only has `streams: false` (no CONNECT steps). A
 * protocol that routes by what the client's traffic names and has no handshake of its own (sni: an HTTP request's
 * Host) has `upgrade: true`: each stream starts with an HTTP/1.1 WebSocket upgrade request naming the target, which
 * the suite's origins answer with 101 before their bytes, and a refused upgrade is the connector's DialError. A
 * protocol with a transport of its own (http2: HTTP/2 over TLS) names it in `transport`: the handler runs on that
 * listener and the connector on that dialer, through a session of its own per conn when the dialer multiplexes.
 * @module
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { createHash } from "node:crypto";
import { closeQuietly, type Conn, ConnWrapper, type Network, PrefixConn, writeFull } from "../../core/conn.ts";
import { AuthError, DialError } from "../../core/errors.ts";
import { nopLogger } from "../../core/log.ts";
import { Metadata, type MetadataRecord } from "../../core/metadata.ts";
import type { Authenticator, ClientAuth, Connector, Dialer, DialerSession } from "../../core/contracts.ts";
import { StaticAuthenticator } from "../../core/routing/auth.ts";
import { NodeGroup } from "../../core/routing/node_group.ts";
import { createRegistries } from "../../core/registries.ts";
import { HpackDecoder } from "../../listeners/h2/hpack.ts";
import { registerHandlers } from "../../handlers/mod.ts";
import { registerListeners } from "../../listeners/mod.ts";
import { concatBytes, datagramRoundTrip, deadPort, readAll, readExactly } from "../helpers/io.ts";
import { pattern } from "../helpers/mux_pair.ts";
import { tcpEcho, tcpOrigin, udpEcho } from "../helpers/servers.ts";
import { startService, type TestService } from "../helpers/service.ts";

/** Registered handlers that cannot run against a connector here, and why. */
const SKIP: Record<string, string> = {
  api: "not a proxy: the Web API as a service (tests/handlers/api/handler_test.ts)",
  udp: "a UDP port forwarder behind a udp listener, with no connector of its own (tests/e2e/udp_forward_test.ts)",
  rtcp: "serves the conns of an rtcp listener at the far end of a chain (tests/e2e/remote_forward_test.ts)",
  metrics: "not a proxy: the Prometheus endpoint as a service (tests/handlers/metrics/handler_test.ts)",
  file: "not a proxy: a static file server over HTTP (tests/handlers/file/handler_test.ts)",
  rudp: "serves the datagrams of an rudp listener at the far end of a chain (tests/e2e/remote_forward_test.ts)",
  dns: "a DNS proxy: answers DNS queries from its cache, hosts and nameservers, no target a client asks a connector " +
    "for (tests/e2e/dns_proxy_test.ts with dig, tests/handlers/dns/handler_test.ts)",
  tunnel: "routes visitors to registered tunnel clients by tunnel id and ingress, not to the address a client " +
    "asks for (tests/e2e/tunnel_test.ts, tests/hostile/tunnel_test.ts, tests/handlers/tunnel/wire_test.ts)",
};

/** Registered connectors no handler speaks with, and why. */
const CONNECTOR_SKIP: Record<string, string> = {
  direct:
    "no protocol and no server side: GOST's virtual node dials the target itself (tests/e2e/chain_direct_test.ts)",
  virtual: "GOST's other name of direct (tests/e2e/chain_direct_test.ts)",
  tunnel: "its server side routes by tunnel id, not to the target asked for (tests/e2e/tunnel_test.ts)",
};

/**
 * Handlers whose client side is a connector of another name: `auto` has none (its server side is run against the
 * http, socks4/4a and socks5 connectors); the tcp forwarders `tcp`/`forward` pair with the `forward` connector.
 */
const CONNECTORS: Record<string, string[]> = {
  auto: ["http", "socks4", "socks4a", "socks5", "socks"],
  tcp: ["forward"],
  forward: ["forward"],
};

/**
 * Connector metadata variants run as pairs of their own (relay: the lazy request, and `nodelay`). The SOCKS5
 * connectors run with `notls`: the wire descriptions below are plain SOCKS5 (RFC 1928/1929); GOST's TLS methods
 * 0x80/0x82 have their own test (tests/handlers/socks5/tls_method_server_test.ts).
 */
const VARIANTS: Record<string, MetadataRecord[]> = {
  relay: [{}, { nodelay: true }],
  socks5: [{ notls: true }],
  socks: [{ notls: true }],
  sni: [{}, { host: "cover.example" }],
};

/** One UDP mode of a protocol. */
interface UdpMode {
  name: string;
  handler: MetadataRecord;
  connector: MetadataRecord;
  /** `udp`: the handler serves a udp listener and the client dials it with the udp dialer (default: tcp). */
  transport?: "udp";
}

/** What a protocol looks like on the wire, as the suite checks it. */
interface Protocol {
  /** How a client authenticates: user + password, or a SOCKS4 user id alone; absent: no auth at all. */
  auth?: "userpass" | "userid";
  /** Checks the bytes the connector read when its wrong credentials were refused. */
  wrongCredentials?: (wire: Uint8Array) => void;
  /** Checks the bytes the connector read when it sent no credentials to a handler that wants some. */
  noCredentials?: (wire: Uint8Array) => void;
  /** Checks the bytes the connector read when the target could not be reached. */
  unreachable: (wire: Uint8Array) => void;
  /** False when the protocol has no error reply (the conn just ends): the connector cannot raise a DialError. */
  replies: boolean;
  /** The protocol's UDP modes; empty: `connect("udp")` must raise a DialError. */
  udp: UdpMode[];
  /** The handler forwards to fixed targets (forwarder nodes) rather than to the requested address. */
  forwarder?: boolean;
  /** Keys both sides need to speak at all (Shadowsocks: the method as user name, and the password). */
  keys?: ClientAuth;
  /** False when the protocol carries UDP only: the CONNECT, half-close and unreachable steps are skipped. */
  streams?: boolean;
  /** The target is named by an HTTP upgrade request the client sends first (see the module doc). */
  upgrade?: boolean;
  /** The listener and dialer type the protocol runs over (default tcp). */
  transport?: string;
}

const dec = new TextDecoder();
const enc = new TextEncoder();
const head = (wire: Uint8Array) => dec.decode(wire).split("\r\n")[0];

/** The `:status` of the first response in HTTP/2 frames a client read (its header blocks decoded in order). */
function h2Status(wire: Uint8Array): string {
  const hpack = new HpackDecoder();
  let block: Uint8Array[] = [];
  for (let at = 0; at + 9 <= wire.length;) {
    const len = (wire[at] << 16) | (wire[at + 1] << 8) | wire[at + 2];
    const [type, flags] = [wire[at + 3], wire[at + 4]];
    let p = wire.subarray(at + 9, at + 9 + len);
    at += 9 + len;
    if (type !== 0x1 && type !== 0x9) continue; // HEADERS, CONTINUATION
    if (type === 0x1 && flags & 0x8) p = p.subarray(1, p.length - p[0]); // PADDED
    if (type === 0x1 && flags & 0x20) p = p.subarray(5); // PRIORITY
    block.push(p);
    if (!(flags & 0x4)) continue; // END_HEADERS
    const fields = hpack.decode(concatBytes(block));
    block = [];
    const status = fields.find((f) => f.name === ":status")?.value;
    if (status) return status;
  }
  return "(no HTTP/2 response)";
}
const bytes = (wire: Uint8Array, n: number) => Array.from(wire.subarray(0, n));

const httpProtocol: Protocol = {
  auth: "userpass",
  wrongCredentials: (w) => ok(/^HTTP\/1\.[01] 407 /.test(head(w)), `expected a 407, got ${head(w)}`),
  noCredentials: (w) => ok(/^HTTP\/1\.[01] 407 /.test(head(w)), `expected a 407, got ${head(w)}`),
  unreachable: (w) => ok(/^HTTP\/1\.[01] 502 /.test(head(w)), `expected a 502, got ${head(w)}`),
  replies: true,
  udp: [],
};
const socks4Protocol: Protocol = {
  auth: "userid",
  wrongCredentials: (w) => deepEqual(bytes(w, 2), [0x00, 0x5d], "SOCKS4 0x5D"),
  noCredentials: (w) => deepEqual(bytes(w, 2), [0x00, 0x5d], "SOCKS4 0x5D"),
  unreachable: (w) => deepEqual(bytes(w, 2), [0x00, 0x5b], "SOCKS4 0x5B"),
  replies: true,
  udp: [],
};
const socks5Udp: UdpMode[] = [
  { name: "UDP ASSOCIATE", handler: { udp: true }, connector: {} },
  { name: "UDP-tun (relay=tcp)", handler: { udp: true }, connector: { relay: "tcp" } },
];
const socks5Protocol: Protocol = {
  auth: "userpass",
  // method reply 05 02, then the RFC 1929 status 01 <non-zero>
  wrongCredentials: (w) => {
    deepEqual(bytes(w, 3), [0x05, 0x02, 0x01], "method 0x02, then the auth status");
    ok(w[3] !== 0 && w[3] !== undefined, `auth status ${w[3]}`);
  },
  noCredentials: (w) => deepEqual(bytes(w, 2), [0x05, 0xff], "no acceptable method"),
  // method 00, then REP 0x05 (connection refused)
  unreachable: (w) => deepEqual(bytes(w, 4), [0x05, 0x00, 0x05, 0x05], "REP 0x05"),
  replies: true,
  udp: socks5Udp,
};

/** Wire descriptions by connector name. */
const PROTOCOLS: Record<string, Protocol> = {
  http: httpProtocol,
  socks4: socks4Protocol,
  socks4a: socks4Protocol,
  socks5: socks5Protocol,
  socks: socks5Protocol,
  relay: {
    auth: "userpass",
    wrongCredentials: (w) => deepEqual(bytes(w, 2), [0x01, 0x02], "relay status 0x02 Unauthorized"),
    noCredentials: (w) => deepEqual(bytes(w, 2), [0x01, 0x02], "relay status 0x02 Unauthorized"),
    unreachable: (w) => deepEqual(bytes(w, 2), [0x01, 0x07], "relay status 0x07 Network Unreachable"),
    replies: true,
    udp: [{ name: "UDP over relay", handler: {}, connector: {} }],
  },
  ss: {
    unreachable: (w) => equal(w.length, 0, "Shadowsocks has no error reply: the conn ends"),
    replies: false,
    udp: [],
    keys: { username: "chacha20-ietf-poly1305", password: "conformance" },
  },
  ssu: {
    unreachable: () => {},
    replies: false,
    udp: [
      { name: "Shadowsocks UDP on a udp listener", handler: {}, connector: {}, transport: "udp" },
      { name: "UDP over a Shadowsocks TCP session", handler: {}, connector: {} },
    ],
    keys: { username: "aes-128-gcm", password: "conformance" },
    streams: false,
  },
  http2: {
    auth: "userpass",
    wrongCredentials: (w) => equal(h2Status(w), "407"),
    noCredentials: (w) => equal(h2Status(w), "407"),
    unreachable: (w) => equal(h2Status(w), "503"),
    replies: true,
    udp: [],
    transport: "http2",
  },
  sni: {
    unreachable: (w) => ok(/^HTTP\/1\.1 502 /.test(head(w)), `expected a 502, got ${head(w)}`),
    replies: true,
    udp: [],
    upgrade: true,
  },
  forward: {
    unreachable: (w) => equal(w.length, 0, "a forwarder has no error reply: the conn ends"),
    replies: false,
    udp: [],
    forwarder: true,
  },
};

const reg = createRegistries();
registerHandlers(reg);
registerListeners(reg); // the tcp dialer

/** One handler/connector pair of the suite. */
interface Pair {
  name: string;
  handler: string;
  connector: string;
  connectorMd: MetadataRecord;
  protocol: Protocol;
}

const pairs: Pair[] = reg.handlers.names().filter((h) => !(h in SKIP)).flatMap((handler) =>
  (CONNECTORS[handler] ?? (reg.connectors.has(handler) ? [handler] : [])).flatMap((connector) =>
    (VARIANTS[connector] ?? [{}]).map((connectorMd) => ({
      name: `${handler} ← ${connector}${Object.keys(connectorMd).length ? ` ${JSON.stringify(connectorMd)}` : ""}`,
      handler,
      connector,
      connectorMd,
      protocol: PROTOCOLS[connector],
    }))
  )
);

const USER = "alice";
const PASSWORD = "s3cret";

/** The handler's authenticator: alice/s3cret; for SOCKS4 (a user id, no password) the user id alice. */
function authenticator(kind: Protocol["auth"]): Authenticator {
  if (kind === "userid") return { authenticate: (u, p) => (u === USER && p === "" ? USER : null) };
  return new StaticAuthenticator([{ username: USER, password: PASSWORD }]);
}

const CREDENTIALS = {
  right: (kind: Protocol["auth"]): ClientAuth =>
    kind === "userid" ? { username: USER } : { username: USER, password: PASSWORD },
  wrong: (kind: Protocol["auth"]): ClientAuth =>
    kind === "userid" ? { username: "mallory" } : { username: USER, password: "wrong" },
};

/** A conn that keeps a copy of every byte read through it (what the handler answered). */
class RecordingConn extends ConnWrapper {
  readonly #chunks: Uint8Array[] = [];
  /** Everything read so far. */
  get received(): Uint8Array {
    return concatBytes(this.#chunks);
  }
  override async read(p: Uint8Array): Promise<number | null> {
    const n = await this.inner.read(p);
    if (n) this.#chunks.push(p.slice(0, n));
    return n;
  }
}

/** Starts the pair's handler on 127.0.0.1:0. */
function serve(
  pair: Pair,
  o: { metadata?: MetadataRecord; auth?: boolean; forwardTo?: string; listener?: "udp" } = {},
): Promise<TestService> {
  const forwarder = pair.protocol.forwarder
    ? new NodeGroup([{ name: "target-0", addr: o.forwardTo ?? "", weight: 1, backup: false }])
    : undefined;
  const transport = pair.protocol.transport;
  return startService({
    handler: reg.handlers.mustGet(pair.handler),
    listenerFactory: transport ? reg.listeners.mustGet(transport) : undefined,
    metadata: o.metadata,
    auth: o.auth ? authenticator(pair.protocol.auth) : undefined,
    credentials: pair.protocol.keys &&
      { username: pair.protocol.keys.username, password: pair.protocol.keys.password! },
    forwarder,
    listener: o.listener,
  });
}

/** The tcp dialer and the pair's connector (with `auth` and extra metadata). */
async function client(
  pair: Pair,
  auth?: ClientAuth,
  md: MetadataRecord = {},
  transport?: string,
): Promise<Client> {
  const dialer = await reg.dialers.mustGet(transport ?? pair.protocol.transport ?? "tcp")({ logger: nopLogger });
  await dialer.init(new Metadata({}));
  const connector = await reg.connectors.mustGet(pair.connector)({
    logger: nopLogger,
    auth: auth ?? pair.protocol.keys,
  });
  await connector.init(new Metadata({ ...pair.connectorMd, ...md }));
  return { dialer, connector, upgrade: pair.protocol.upgrade === true };
}

/** The client side of the suite's streams: the dialer, the connector, and whether streams start with an upgrade. */
interface Client {
  dialer: Dialer;
  connector: Connector;
  upgrade?: boolean;
}

/**
 * Sends an HTTP/1.1 WebSocket upgrade for `target` on `conn` and reads the answer (an `upgrade` protocol's stream).
 * @returns the conn after the 101, bytes read past it put back
 * @throws {DialError} naming the status line when the answer is not 101
 */
async function upgradeThrough(conn: Conn, target: string): Promise<Conn> {
  await writeFull(
    conn,
    enc.encode(`GET /conformance HTTP/1.1\r\nHost: ${target}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`),
  );
  const got: Uint8Array[] = [];
  for (;;) {
    const buf = new Uint8Array(4096);
    const n = await conn.read(buf);
    if (n === null) throw new DialError(target, "upgrade: the conn ended before an answer");
    got.push(buf.subarray(0, n));
    const all = concatBytes(got);
    const end = dec.decode(all).indexOf("\r\n\r\n");
    if (end < 0) continue;
    if (!/^HTTP\/1\.1 101 /.test(head(all))) throw new DialError(target, `upgrade refused: ${head(all)}`);
    return new PrefixConn(conn, all.subarray(end + 4));
  }
}

/** Answers an upgrade protocol's request with 101, then serves the conn with `serve` (bytes past the head first). */
async function acceptUpgrade(c: Conn, serve: (c: Conn) => Promise<void>): Promise<void> {
  const got: Uint8Array[] = [];
  for (;;) {
    const buf = new Uint8Array(4096);
    const n = await c.read(buf);
    if (n === null) return;
    got.push(buf.subarray(0, n));
    const all = concatBytes(got);
    const end = dec.decode(all).indexOf("\r\n\r\n");
    if (end < 0) continue;
    await writeFull(
      c,
      enc.encode("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"),
    );
    return await serve(new PrefixConn(c, all.subarray(end + 4)));
  }
}

/** A TCP origin serving each conn with `serve`; for an upgrade protocol, after answering its upgrade. */
function originFor(p: Protocol, serve: (c: Conn) => Promise<void>): { port: number; close(): void } {
  return tcpOrigin(p.upgrade ? (c) => acceptUpgrade(c, serve) : serve);
}

/** The echo origin of the suite (after an upgrade for an upgrade protocol). */
function echoFor(p: Protocol): { port: number; close(): void } {
  if (!p.upgrade) return tcpEcho();
  return originFor(p, async (c) => {
    const buf = new Uint8Array(64 * 1024);
    for (;;) {
      const n = await c.read(buf);
      if (n === null) break;
      await writeFull(c, buf.subarray(0, n));
    }
    await c.closeWrite();
  });
}

/**
 * Dials the service, asks for `target` and, when the connector hands a conn back, sends a byte and reads: a lazy
 * protocol (relay) reports a refusal on the first read. Returns what was thrown (undefined: it worked) and the bytes
 * the handler sent.
 */
async function attempt(
  svc: TestService,
  c: Client,
  network: Network,
  target: string,
): Promise<{ error: unknown; wire: Uint8Array; ended: boolean }> {
  const raw = new RecordingConn(await c.dialer.dial(svc.addr));
  let conn: Conn | undefined;
  let session: DialerSession | undefined;
  try {
    const carried = await carrier(c, raw, svc.addr);
    session = carried.session;
    conn = await c.connector.connect(carried.conn, network, target, {});
    if (c.upgrade) conn = await upgradeThrough(conn, target);
    await writeFull(conn, enc.encode("x"));
    const n = await conn.read(new Uint8Array(64));
    return { error: undefined, wire: raw.received, ended: n === null };
  } catch (error) {
    return { error, wire: raw.received, ended: true };
  } finally {
    closeQuietly(conn);
    session?.close();
    closeQuietly(raw);
  }
}

/** The conn the connector speaks on: `raw` itself, or a stream of a session over it when the dialer multiplexes. */
async function carrier(c: Client, raw: Conn, addr: string): Promise<{ conn: Conn; session?: DialerSession }> {
  if (!c.dialer.multiplex) return { conn: raw };
  const session = await c.dialer.multiplex(raw, addr);
  return { conn: await session.open(), session };
}

/** A tunnel whose close also ends the session it rides on (one session per tunnel in the suite). */
class SessionBound extends ConnWrapper {
  readonly #session: DialerSession;
  constructor(inner: Conn, session: DialerSession) {
    super(inner);
    this.#session = session;
  }
  override close(): void {
    this.inner.close();
    this.#session.close();
  }
}

/** Opens a tunnel through the service to `target` (for a forwarder: to its node). */
async function tunnel(svc: TestService, c: Client, target: string): Promise<Conn> {
  const raw = await c.dialer.dial(svc.addr);
  let session: DialerSession | undefined;
  try {
    const carried = await carrier(c, raw, svc.addr);
    session = carried.session;
    let conn = await c.connector.connect(carried.conn, "tcp", target, {});
    if (c.upgrade) conn = await upgradeThrough(conn, target);
    return session ? new SessionBound(conn, session) : conn;
  } catch (err) {
    session?.close();
    closeQuietly(raw);
    throw err;
  }
}

const sha = (p: Uint8Array) => createHash("sha256").update(p).digest("hex");

for (const pair of pairs) {
  const p = pair.protocol;
  Deno.test(`proxy conformance: ${pair.name}`, async (t) => {
    const echo = echoFor(p);
    const echoAddr = `127.0.0.1:${echo.port}`;
    try {
      if (p.streams !== false) {
        await t.step("CONNECT: 4 MiB each way through the echo origin, sha256 matching", async () => {
          await using svc = await serve(pair, { forwardTo: echoAddr });
          const conn = await tunnel(svc, await client(pair), echoAddr);
          try {
            const data = pattern(4 * 1024 * 1024, 7);
            const reading = readAll(conn);
            await writeFull(conn, data);
            await conn.closeWrite();
            const back = await reading;
            equal(back.length, data.length);
            equal(sha(back), sha(data));
          } finally {
            conn.close();
          }
        });

        await t.step(
          "half-close, client first: the origin sees EOF, still answers, then its EOF ends the client",
          async () => {
            const origin = originFor(p, async (c) => {
              const got = dec.decode(await readAll(c));
              await writeFull(c, enc.encode(`after eof: ${got}`));
              await c.closeWrite();
            });
            try {
              const target = `127.0.0.1:${origin.port}`;
              await using svc = await serve(pair, { forwardTo: target });
              const conn = await tunnel(svc, await client(pair), target);
              try {
                await writeFull(conn, enc.encode("question"));
                await conn.closeWrite();
                equal(dec.decode(await readAll(conn)), "after eof: question");
              } finally {
                conn.close();
              }
            } finally {
              origin.close();
            }
          },
        );

        await t.step(
          "half-close, origin first: its banner and EOF reach the client, which can still send",
          async () => {
            let heard!: (s: string) => void;
            const received = new Promise<string>((r) => (heard = r));
            const origin = originFor(p, async (c) => {
              await writeFull(c, enc.encode("banner"));
              await c.closeWrite();
              heard(dec.decode(await readAll(c)));
            });
            try {
              const target = `127.0.0.1:${origin.port}`;
              await using svc = await serve(pair, { forwardTo: target });
              const conn = await tunnel(svc, await client(pair), target);
              try {
                equal(dec.decode(await readAll(conn)), "banner");
                await writeFull(conn, enc.encode("still talking"));
                await conn.closeWrite();
                equal(await received, "still talking");
              } finally {
                conn.close();
              }
            } finally {
              origin.close();
            }
          },
        );

        if (p.auth) {
          await t.step("auth: the right credentials are accepted", async () => {
            await using svc = await serve(pair, { auth: true, forwardTo: echoAddr });
            const conn = await tunnel(svc, await client(pair, CREDENTIALS.right(p.auth)), echoAddr);
            try {
              await writeFull(conn, enc.encode("authenticated"));
              equal(dec.decode(await readExactly(conn, 13)), "authenticated");
            } finally {
              conn.close();
            }
          });
          await t.step("auth: wrong credentials are refused on the wire; the connector raises AuthError", async () => {
            await using svc = await serve(pair, { auth: true });
            const r = await attempt(svc, await client(pair, CREDENTIALS.wrong(p.auth)), "tcp", echoAddr);
            ok(r.error instanceof AuthError, `expected an AuthError, got ${r.error}`);
            p.wrongCredentials!(r.wire);
          });
          await t.step("auth: no credentials are refused on the wire; the connector raises AuthError", async () => {
            await using svc = await serve(pair, { auth: true });
            const r = await attempt(svc, await client(pair), "tcp", echoAddr);
            ok(r.error instanceof AuthError, `expected an AuthError, got ${r.error}`);
            p.noCredentials!(r.wire);
          });
        }

        await t.step(
          "an unreachable target: the protocol's error reply" + (p.replies ? ", and a DialError" : ""),
          async () => {
            const dead = `127.0.0.1:${deadPort()}`;
            await using svc = await serve(pair, { forwardTo: dead });
            const r = await attempt(svc, await client(pair), "tcp", dead);
            if (p.replies) ok(r.error instanceof DialError, `expected a DialError, got ${r.error}`);
            else ok(r.ended && !(r.error instanceof AuthError), `the conn must end, got ${r.error}`);
            p.unreachable(r.wire);
          },
        );
      }

      if (p.forwarder) return; // UDP forwarding is the udp handler's (SKIP)
      if (p.udp.length === 0) {
        await t.step("UDP is not carried: connect(udp) raises a DialError", async () => {
          await using svc = await serve(pair);
          const r = await attempt(svc, await client(pair), "udp", "127.0.0.1:53");
          ok(r.error instanceof DialError, `expected a DialError, got ${r.error}`);
        });
      }
      for (const mode of p.udp) {
        await t.step(`UDP (${mode.name}): datagrams of 1, 1,400 and 16,000 bytes echo whole`, async () => {
          const udp = udpEcho("echo:");
          try {
            await using svc = await serve(pair, { metadata: mode.handler, listener: mode.transport });
            const c = await client(pair, undefined, mode.connector, mode.transport);
            const raw = await c.dialer.dial(svc.addr);
            const conn = await c.connector.connect(raw, "udp", `127.0.0.1:${udp.port}`, {});
            try {
              ok(conn.datagram, "a datagram conn");
              for (const size of [1, 1400, 16_000]) {
                const d = pattern(size, size);
                deepEqual(await datagramRoundTrip(conn, d), concatBytes([enc.encode("echo:"), d]), `${size} bytes`);
              }
            } finally {
              conn.close();
              closeQuietly(raw);
            }
          } finally {
            udp.close();
          }
        });
      }
      if (p.udp.some((m) => m.handler.udp === true)) {
        await t.step("UDP refused when the handler does not enable it: the connector raises a DialError", async () => {
          await using svc = await serve(pair);
          const r = await attempt(svc, await client(pair), "udp", "127.0.0.1:53");
          ok(r.error instanceof DialError, `expected a DialError, got ${r.error}`);
          deepEqual(bytes(r.wire, 4), [0x05, 0x00, 0x05, 0x02], "REP 0x02 not allowed");
        });
      }
    } finally {
      echo.close();
    }
  });
}

Deno.test("proxy conformance covers every registered handler or names why not", () => {
  for (const h of reg.handlers.names()) {
    ok(h in SKIP || pairs.some((p) => p.handler === h), `handler ${h} has no connector and no skip reason`);
  }
  for (const p of pairs) ok(p.protocol, `connector ${p.connector} has no wire description in PROTOCOLS`);
  for (const c of reg.connectors.names()) {
    ok(c in CONNECTOR_SKIP || pairs.some((p) => p.connector === c), `connector ${c} is never run`);
  }
  ok(pairs.length >= 10, `pairs: ${pairs.map((p) => p.name)}`);
});
