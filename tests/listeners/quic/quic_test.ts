/**
 * The quic listener and dialer in-process over loopback: certificates (built-in, CA, secure), the options GOST has
 * and gost.ts refuses, and hostile peers (garbage datagrams, a wrong ALPN, a stream flood past `maxStreams`, a full
 * backlog, a peer that never reads) that must stay bounded while other connections go on.
 */
import { equal, match, ok, rejects } from "node:assert/strict";
import { type Conn, writeFull } from "../../../core/conn.ts";
import type { ServerTlsOptions } from "../../../core/contracts.ts";
import { ConfigError, DialError, HandshakeError } from "../../../core/errors.ts";
import { Logger, MemorySink, nopLogger } from "../../../core/log.ts";
import { Metadata, type MetadataRecord } from "../../../core/metadata.ts";
import { DefaultRouter } from "../../../core/routing/router.ts";
import { BUILTIN_QUIC_CERT, builtinCertHash } from "../../../listeners/quic/builtin_cert.ts";
import { QuicDialer } from "../../../listeners/quic/dialer.ts";
import { QuicListener } from "../../../listeners/quic/listener.ts";
import type { QuicSession } from "../../../listeners/quic/session.ts";
import { readAll } from "../../helpers/io.ts";
import { makePki } from "../../helpers/tls_fixtures.ts";
import { eventually, until } from "../../helpers/wait.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A quic listener on 127.0.0.1 serving every stream as an echo (or with `serve`), and its log. */
async function listen(
  md: MetadataRecord = {},
  tls?: ServerTlsOptions,
  serve: ((c: Conn) => Promise<void>) | null = echo,
) {
  const sink = new MemorySink();
  const logger = new Logger(sink, "debug", "text");
  const ln = new QuicListener({ addr: "127.0.0.1:0", logger, service: "quic", router: new DefaultRouter({}), tls });
  await ln.init(new Metadata(md));
  const port = (ln.addr as Deno.NetAddr).port;
  const done = serve
    ? (async () => {
      for (;;) {
        let c: Conn;
        try {
          c = await ln.accept();
        } catch {
          return;
        }
        serve(c).catch(() => {}).finally(() => c.close());
      }
    })()
    : Promise.resolve();
  return {
    ln,
    port,
    addr: `127.0.0.1:${port}`,
    lines: sink.lines,
    async [Symbol.asyncDispose]() {
      ln.close();
      await done;
    },
  };
}

async function echo(c: Conn): Promise<void> {
  await writeFull(c, await readAll(c));
  await c.closeWrite();
}

/** A dialer's session to `addr` (dial + multiplex, as the chain does). */
async function session(addr: string, md: MetadataRecord = {}, tls?: Record<string, unknown>): Promise<QuicSession> {
  const d = new QuicDialer({ logger: nopLogger, tls });
  await d.init(new Metadata(md));
  return await d.multiplex(await d.dial(addr), addr) as QuicSession;
}

/** One echo round trip on a new stream of `s`. */
async function roundTrip(s: QuicSession, text: string): Promise<string> {
  const c = await s.open();
  try {
    await writeFull(c, enc.encode(text));
    await c.closeWrite();
    return dec.decode(await readAll(c));
  } finally {
    c.close();
  }
}

Deno.test("quic: a default dialer trusts the built-in certificate of a default listener, and the session counts streams and bytes", async () => {
  await using l = await listen();
  const s = await session(l.addr);
  try {
    equal(await roundTrip(s, "one"), "one");
    equal(await roundTrip(s, "two"), "two");
    const st = s.stats();
    equal(st.transport, "quic");
    equal(st.remote, l.addr);
    equal(st.streamsTotal, 2);
    equal(st.streamsOpen, 0);
    equal(st.bytesOut, 6);
    equal(st.bytesIn, 6);
    ok(st.lastReceivedAt !== null && st.lastReceivedAt >= st.createdAt);
    equal(st.keepaliveRttMs, null);
    equal(st.keepaliveTimeoutMs, 90_000);
    equal(st.closeReason, null);
  } finally {
    s.close();
  }
  equal(s.closed, true);
  equal(s.stats().closeReason, "local");
  await rejects(s.open(), Deno.errors.ConnectionReset);
});

Deno.test("quic: certificates — a CA's certificate with caFile or secure, refused without it, the built-in one refused when secure", async () => {
  await using pki = await makePki();
  await using ca = await listen({ certFile: pki.serverCert, keyFile: pki.serverKey });
  // GOST's default secure=false: not the built-in certificate, not under the system roots: a clear error
  await rejects(
    session(ca.addr),
    (e: Error) => e instanceof HandshakeError && /give the server's certificate or its CA as caFile/.test(e.message),
  );
  const withCa = await session(ca.addr, { caFile: pki.caCert });
  try {
    equal(await roundTrip(withCa, "ca"), "ca");
  } finally {
    withCa.close();
  }
  const secure = await session(ca.addr, {}, { secure: true, caFile: pki.caCert, serverName: "localhost" });
  try {
    equal(await roundTrip(secure, "secure"), "secure");
  } finally {
    secure.close();
  }
  // a name the certificate does not have
  await rejects(session(ca.addr, { caFile: pki.caCert, serverName: "other.test" }), HandshakeError);
  await using builtin = await listen();
  await rejects(session(builtin.addr, { secure: true }), HandshakeError);
  // the built-in pair is the one served: its hash is what the default dialer pins
  equal((await builtinCertHash()).length, 32);
  ok(BUILTIN_QUIC_CERT.includes("BEGIN CERTIFICATE"));
});

Deno.test("quic: options GOST has and Deno's QUIC cannot carry are refused by name", async () => {
  const ln = (md: MetadataRecord, tls?: ServerTlsOptions) =>
    new QuicListener({ addr: "127.0.0.1:0", logger: nopLogger, service: "q", router: new DefaultRouter({}), tls })
      .init(new Metadata(md));
  const dialer = (md: MetadataRecord) => new QuicDialer({ logger: nopLogger }).init(new Metadata(md));
  await rejects(
    ln({ cipherKey: "0123456789abcdef" }),
    (e: Error) => e instanceof ConfigError && /"cipherKey".*owns its UDP socket/.test(e.message),
  );
  await rejects(
    dialer({ cipherKey: "0123456789abcdef" }),
    (e: Error) => e instanceof ConfigError && /cipherKey/.test(e.message),
  );
  await using pki = await makePki();
  await rejects(
    ln({}, { certFile: pki.serverCert, keyFile: pki.serverKey, caFile: pki.caCert }),
    (e: Error) => e instanceof ConfigError && /caFile .*cannot request or verify client certificates/.test(e.message),
  );
  await rejects(
    ln({ "tls.maxVersion": "VersionTLS12" }),
    (e: Error) => e instanceof ConfigError && /TLS 1\.3 only/.test(e.message),
  );
  await rejects(
    dialer({ maxIdleTimeout: "soon" }),
    (e: Error) => e instanceof ConfigError && /maxIdleTimeout/.test(e.message),
  );
  await rejects(dialer({ keepAlive: "maybe" }), (e: Error) => e instanceof ConfigError && /keepAlive/.test(e.message));
  await rejects(ln({ backlog: -1 }), (e: Error) => e instanceof ConfigError && /backlog/.test(e.message));
});

Deno.test("quic: a node reached through earlier hops is refused with the reason (QUIC needs its own UDP path)", async () => {
  const d = new QuicDialer({ logger: nopLogger });
  await d.init(new Metadata());
  const a = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const tcp = await Deno.connect({ hostname: "127.0.0.1", port: (a.addr as Deno.NetAddr).port });
    try {
      await rejects(
        d.multiplex(tcp, "10.0.0.1:443"),
        (e: Error) => e instanceof DialError && /must be the first node of its chain/.test(e.message),
      );
    } finally {
      tcp.close();
    }
  } finally {
    a.close();
  }
});

Deno.test("quic: garbage datagrams and a wrong ALPN are dropped, logged, and other connections go on", async () => {
  await using l = await listen();
  const udp = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  try {
    const target: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port: l.port };
    for (let i = 0; i < 500; i++) {
      const size = [1, 20, 1200, 1350, 65_000][i % 5];
      const junk = crypto.getRandomValues(new Uint8Array(Math.min(size, 65_000)));
      if (i % 3 === 0) junk[0] = 0xc0; // a long header, as an Initial packet starts
      await udp.send(junk, target);
    }
  } finally {
    udp.close();
  }
  await rejects(
    Deno.connectQuic({
      hostname: "127.0.0.1",
      port: l.port,
      alpnProtocols: ["not-gost"],
      serverCertificateHashes: [{ algorithm: "sha-256", value: await builtinCertHash() }],
    } as Deno.ConnectQuicOptions<false>),
  );
  await until(() => l.lines.some((x) => /quic handshake failed: .*protocol/.test(x)), "the failed handshake logged");
  const s = await session(l.addr);
  try {
    equal(await roundTrip(s, "still here"), "still here");
  } finally {
    s.close();
  }
});

Deno.test("quic: maxStreams caps a client's open streams, a dial past it waits, another connection goes on", async () => {
  const held: Conn[] = [];
  await using l = await listen({ maxStreams: 5 }, undefined, async (c) => {
    held.push(c);
    await echo(c);
  });
  const flood = await session(l.addr);
  const other = await session(l.addr);
  try {
    const streams: Conn[] = [];
    for (let i = 0; i < 5; i++) {
      const c = await flood.open();
      await writeFull(c, enc.encode("x")); // a stream reaches the server with its first byte
      streams.push(c);
    }
    await until(() => held.length === 5, "five streams at the server");
    // the sixth waits for credit: not granted while the five are open
    let sixth: Conn | null = null;
    const waiting = flood.open().then(async (c) => {
      sixth = c;
      await writeFull(c, enc.encode("6"));
    });
    ok(!(await eventually(() => sixth !== null, 300)), "a sixth stream opened past maxStreams=5");
    equal(await roundTrip(other, "other"), "other"); // another connection has its own credit
    const first = streams.shift()!;
    await first.closeWrite();
    await readAll(first);
    first.close();
    await waiting; // one stream ended: the sixth gets its credit
    streams.push(sixth!);
    await until(() => held.length === 6, "the sixth stream at the server");
    for (const c of streams) c.close();
  } finally {
    flood.close();
    other.close();
  }
});

Deno.test("quic: a full backlog closes new streams with a warning; a peer that never reads holds only its own stream", async () => {
  await using l = await listen({ backlog: 2 }, undefined, null); // nobody accepts
  const s = await session(l.addr);
  try {
    const streams = await Promise.all(Array.from({ length: 5 }, async () => {
      const c = await s.open();
      await writeFull(c, enc.encode("hi"));
      return c;
    }));
    await until(
      () => l.lines.some((x) => /connection queue is full, client 127\.0\.0\.1:\d+ discarded/.test(x)),
      "the warning",
    );
    // the dropped ones end (EOF or an error), the two queued ones stay open
    let ended = 0;
    await Promise.all(streams.map(async (c) => {
      const r = await Promise.race([
        c.read(new Uint8Array(1)).then(() => "ended", () => "ended"),
        new Promise((res) => setTimeout(() => res("open"), 500)),
      ]);
      if (r === "ended") ended++;
    }));
    equal(ended, 3);
    for (const c of streams) c.close();
  } finally {
    s.close();
  }

  // a server that writes to a client stream nobody reads: its writes stall (QUIC flow control), nothing grows
  // without bound, and the other streams of the same connection go on
  let written = 0;
  let stalled = false;
  await using w = await listen({}, undefined, async (c) => {
    const first = new Uint8Array(1);
    await c.read(first);
    if (first[0] === 0x4e) { // "N": never read by the client
      const chunk = new Uint8Array(64 * 1024);
      for (;;) {
        const t = setTimeout(() => stalled = true, 1000);
        await c.write(chunk);
        clearTimeout(t);
        written += chunk.length;
      }
    }
    await writeFull(c, enc.encode("pong"));
    await c.closeWrite();
  });
  const s2 = await session(w.addr);
  try {
    const sink = await s2.open();
    await writeFull(sink, enc.encode("N"));
    await until(() => stalled, "the server's writes to a client that never reads stall", 15_000);
    ok(written < 64 * 1024 * 1024, `the server wrote ${written} bytes to a client that never reads`);
    const c = await s2.open();
    await writeFull(c, enc.encode("P"));
    await c.closeWrite();
    equal(dec.decode(await readAll(c)), "pong");
    c.close();
    sink.close();
  } finally {
    s2.close();
  }
});

Deno.test("quic: the session ends when the listener goes away; its streams fail at once and new opens are refused", async () => {
  let got = false;
  const l = await listen({}, undefined, async (c) => {
    await c.read(new Uint8Array(1));
    got = true;
    await new Promise(() => {}); // hold the stream
  });
  const s = await session(l.addr);
  const c = await s.open();
  await writeFull(c, enc.encode("x"));
  await until(() => got, "the stream at the server");
  const pending = c.read(new Uint8Array(16)).then(() => null, (e: Error) => e);
  await l[Symbol.asyncDispose]();
  await s.done;
  equal(s.closed, true);
  equal(s.stats().closeReason, "peer");
  ok((await pending) instanceof Deno.errors.ConnectionReset, "a pending read fails once the connection is gone");
  await rejects(
    s.open(),
    (e: Error) => e instanceof Deno.errors.ConnectionReset && /ended: closed by the node/.test(e.message),
  );
  c.close();
  match(s.stats().remote, /^127\.0\.0\.1:\d+$/);
});
