import { equal, match, ok, rejects } from "node:assert/strict";
import { DialError, HandshakeError, TimeoutError } from "../../core/errors.ts";
import { nopLogger } from "../../core/log.ts";
import { Metadata, type MetadataRecord } from "../../core/metadata.ts";
import type { ClientTlsOptions, Dialer } from "../../core/contracts.ts";
import { createRegistries } from "../../core/registries.ts";
import { TcpDialer } from "../../listeners/tcp/dialer.ts";
import { register as registerTcp } from "../../listeners/tcp/mod.ts";
import { TlsDialer } from "../../listeners/tls/dialer.ts";
import { UdpDialer } from "../../listeners/udp/dialer.ts";
import { register as registerUdp } from "../../listeners/udp/mod.ts";
import { tcpEcho, udpEcho } from "../helpers/servers.ts";
import {
  dec,
  enc,
  halfClosePeer,
  makePki,
  OpaqueConn,
  readAll,
  startTcpForward,
  startTlsForward,
  writeAll,
} from "../helpers/tls_fixtures.ts";

async function tlsDialer(tls?: ClientTlsOptions, md: MetadataRecord = {}): Promise<TlsDialer> {
  const d = new TlsDialer({ logger: nopLogger, tls });
  await d.init(new Metadata(md));
  return d;
}

function freePort(): number {
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (ln.addr as Deno.NetAddr).port;
  ln.close();
  return port;
}

Deno.test("the tcp and udp registrations make tcp and udp dialers (loaded on first use)", async () => {
  const reg = createRegistries();
  registerTcp(reg);
  registerUdp(reg);
  ok(await reg.dialers.get("tcp")?.({ logger: nopLogger }) instanceof TcpDialer);
  ok(await reg.dialers.get("udp")?.({ logger: nopLogger }) instanceof UdpDialer);
});

Deno.test("tcp dialer connects, relays both ways and half-closes", async () => {
  const echo = tcpEcho();
  try {
    const d: Dialer = new TcpDialer({ logger: nopLogger });
    await d.init(new Metadata({ dialTimeout: "2s" }));
    const c = await d.dial(`127.0.0.1:${echo.port}`);
    await writeAll(c, enc.encode("tcp ping"));
    await c.closeWrite();
    equal(dec.decode(await readAll(c)), "tcp ping");
    c.close();
  } finally {
    echo.close();
  }
});

Deno.test("tcp dialer fails with a DialError naming the address", async () => {
  const d = new TcpDialer({ logger: nopLogger });
  await d.init(new Metadata({}));
  const addr = `127.0.0.1:${freePort()}`;
  await rejects(d.dial(addr), (err: Error) => {
    ok(err instanceof DialError);
    equal(err.target, addr);
    match(err.message, new RegExp(`dial tcp ${addr}`));
    return true;
  });
  await rejects(d.dial("no-port"), DialError);
});

Deno.test("udp dialer returns a datagram conn to the target", async () => {
  const echo = udpEcho("re:");
  try {
    const d = new UdpDialer({ logger: nopLogger });
    await d.init(new Metadata({}));
    const c = await d.dial(`127.0.0.1:${echo.port}`);
    equal(c.datagram, true);
    await c.write(enc.encode("dgram"));
    const buf = new Uint8Array(100);
    const n = await c.read(buf);
    equal(dec.decode(buf.subarray(0, n!)), "re:dgram");
    c.close();
  } finally {
    echo.close();
  }
});

Deno.test("tls dialer (insecure default) dials a tls listener; bytes both ways and half-close", async () => {
  // After our closeWrite the peer still sends its reply.
  const peer = halfClosePeer({ replyAfterEof: (got) => `got ${got.length} bytes` });
  try {
    await using svc = await startTlsForward(`127.0.0.1:${peer.port}`);
    const d = await tlsDialer();
    const c = await d.dial(svc.addr);
    const big = new Uint8Array(3 * 1024 * 1024 + 17).fill(120);
    await writeAll(c, big);
    await c.closeWrite();
    equal(dec.decode(await readAll(c)), `got ${big.length} bytes`);
    equal((await peer.received()).length, big.length);
    c.close();
  } finally {
    peer.close();
  }
});

Deno.test("tls dialer: the server half-closes first and the client still sends", async () => {
  const peer = halfClosePeer({ greeting: "hello first" });
  try {
    await using svc = await startTlsForward(`127.0.0.1:${peer.port}`);
    const c = await (await tlsDialer()).dial(svc.addr);
    equal(dec.decode(await readAll(c)), "hello first");
    await writeAll(c, enc.encode("and still talking after your EOF"));
    await c.closeWrite();
    equal(await peer.received(), "and still talking after your EOF");
    c.close();
  } finally {
    peer.close();
  }
});

Deno.test("tls dialer with secure=true verifies against caFile; a wrong CA fails with a clear error", async () => {
  await using pki = await makePki();
  const echo = tcpEcho();
  try {
    await using svc = await startTlsForward(`127.0.0.1:${echo.port}`, {
      tls: { certFile: pki.serverCert, keyFile: pki.serverKey },
    });
    const good = await tlsDialer({ secure: true, caFile: pki.caCert, serverName: "127.0.0.1" });
    const c = await good.dial(svc.addr);
    await writeAll(c, enc.encode("verified"));
    await c.closeWrite();
    equal(dec.decode(await readAll(c)), "verified");
    c.close();

    // SNI/verified name other than the dialed address.
    const byName = await tlsDialer({ secure: true, caFile: pki.caCert, serverName: "localhost" });
    (await byName.dial(svc.addr)).close();

    const wrongCa = await tlsDialer({ secure: true, caFile: pki.otherCaCert });
    await rejects(wrongCa.dial(svc.addr), (err: Error) => {
      ok(err instanceof HandshakeError, `${err.name}: ${err.message}`);
      match(err.message, new RegExp(`^TLS handshake with ${svc.addr} failed: `));
      match(err.message, /certificate|issuer|verify/i);
      return true;
    });
    const wrongName = await tlsDialer({ secure: true, caFile: pki.caCert, serverName: "example.com" });
    await rejects(wrongName.dial(svc.addr), (err: Error) => {
      ok(err instanceof HandshakeError);
      match(err.message, /example\.com|not valid|altnames|name/i);
      return true;
    });
    // The same wrong CA is fine when verification is off (GOST's default).
    (await (await tlsDialer({ caFile: pki.otherCaCert })).dial(svc.addr)).close();
  } finally {
    echo.close();
  }
});

Deno.test("tls dialer handshake() wraps TLS around a conn that is not a Deno socket (a chain hop)", async () => {
  // client --tcp--> tcp forward (an earlier hop) --tcp--> tls listener --tcp--> peer
  const peer = halfClosePeer({ replyAfterEof: (got) => got.toUpperCase() });
  try {
    await using tlsSvc = await startTlsForward(`127.0.0.1:${peer.port}`);
    await using hop = await startTcpForward(tlsSvc.addr);
    const tcp = new TcpDialer({ logger: nopLogger });
    await tcp.init(new Metadata({}));
    const inner = new OpaqueConn(await tcp.dial(hop.addr));
    const d = await tlsDialer();
    const c = await d.handshake(inner, tlsSvc.addr);
    ok(inner.reads > 0, "the handshake read through the opaque conn");
    await writeAll(c, enc.encode("through a hop"));
    await c.closeWrite();
    equal(dec.decode(await readAll(c)), "THROUGH A HOP");
    equal(await peer.received(), "through a hop");
    c.close();
  } finally {
    peer.close();
  }
});

Deno.test("tls dialer: TLS inside TLS through two tls forward services (one dialer for both hops)", async () => {
  const peer = halfClosePeer({ replyAfterEof: (got) => `inner saw ${got}` });
  try {
    await using inner = await startTlsForward(`127.0.0.1:${peer.port}`);
    await using outer = await startTlsForward(inner.addr);
    const d = await tlsDialer();
    const first = await d.dial(outer.addr);
    const c = await d.handshake(first, inner.addr);
    ok(c !== first, "a second TLS layer for the second hop");
    await writeAll(c, enc.encode("nested"));
    await c.closeWrite();
    equal(dec.decode(await readAll(c)), "inner saw nested");
    c.close();
  } finally {
    peer.close();
  }
});

Deno.test("tls dialer with a client certificate passes an mTLS listener", async () => {
  await using pki = await makePki();
  const echo = tcpEcho();
  try {
    await using svc = await startTlsForward(`127.0.0.1:${echo.port}`, {
      tls: { certFile: pki.serverCert, keyFile: pki.serverKey, caFile: pki.caCert },
    });
    const d = await tlsDialer(undefined, { certFile: pki.clientCert, keyFile: pki.clientKey });
    const c = await d.dial(svc.addr);
    await writeAll(c, enc.encode("mutual"));
    await c.closeWrite();
    equal(dec.decode(await readAll(c)), "mutual");
    c.close();
  } finally {
    echo.close();
  }
});

Deno.test("tls dialer: a server that never answers the handshake times out after handshakeTimeout", async () => {
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const c of ln) held.push(c);
  })().catch(() => {});
  try {
    const addr = `127.0.0.1:${(ln.addr as Deno.NetAddr).port}`;
    const d = await tlsDialer(undefined, { handshakeTimeout: "150ms" });
    const t0 = Date.now();
    await rejects(d.dial(addr), (err: Error) => {
      ok(err instanceof TimeoutError, `${err.name}: ${err.message}`);
      match(err.message, new RegExp(`TLS handshake with ${addr} timed out after 150 ms`));
      return true;
    });
    ok(Date.now() - t0 < 3000);
  } finally {
    ln.close();
    for (const c of held) c.close();
    await accepting;
  }
});

Deno.test("tls dialer: an aborted dial closes the conn and fails", async () => {
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const c of ln) held.push(c);
  })().catch(() => {});
  try {
    const addr = `127.0.0.1:${(ln.addr as Deno.NetAddr).port}`;
    const d = await tlsDialer();
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    await rejects(
      d.dial(addr, { signal: ac.signal }),
      (err: Error) => err instanceof HandshakeError && /aborted$/.test(err.message),
    );
  } finally {
    ln.close();
    for (const c of held) c.close();
    await accepting;
  }
});

Deno.test("tls dialer: refused TCP is a DialError; bad files are config errors at init", async () => {
  const d = await tlsDialer();
  const addr = `127.0.0.1:${freePort()}`;
  await rejects(d.dial(addr), (err: Error) => err instanceof DialError && err.target === addr);
  await rejects(tlsDialer({ caFile: "/nonexistent/ca.pem" }), /Cannot read TLS CA file "\/nonexistent\/ca\.pem"/);
  await rejects(tlsDialer({ certFile: "/nonexistent/c.pem" }), /needs both certFile and keyFile/);
  await rejects(tlsDialer(undefined, { handshakeTimeout: "soon" }), /handshakeTimeout/);
});
