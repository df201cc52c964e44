/**
 * Addresses without a host are this host when dialed (tcp and udp dialers, the router), as Go dials them; GOST's
 * targetless placeholder `:0` goes to the chain as it is (the relay connector sends it as Addr 0.0.0.0:0) and fails
 * without one.
 */
import { equal, ok, rejects } from "node:assert/strict";
import { HandshakeReader } from "../../core/bufio.ts";
import { NoChainError } from "../../core/errors.ts";
import { nopLogger } from "../../core/log.ts";
import { Metadata } from "../../core/metadata.ts";
import { CHAIN_PICKS_TARGET, DefaultRouter } from "../../core/routing/router.ts";
import { RelayConnector } from "../../handlers/relay/connector.ts";
import { FLAG_UDP, NetworkId, readRequest, requestFacts } from "../../handlers/relay/wire.ts";
import { TcpDialer } from "../../listeners/tcp/dialer.ts";
import { UdpDialer } from "../../listeners/udp/dialer.ts";
import { memConnPair } from "../helpers/mem_conn.ts";
import { tcpEcho, udpEcho } from "../helpers/servers.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("the tcp dialer dials :port on 127.0.0.1", async () => {
  const echo = tcpEcho();
  const d = new TcpDialer({ logger: nopLogger });
  await d.init(new Metadata({}));
  const c = await d.dial(`:${echo.port}`);
  equal((c.remoteAddr as Deno.NetAddr).hostname, "127.0.0.1");
  await c.write(enc.encode("hi"));
  const b = new Uint8Array(2);
  equal(await c.read(b), 2);
  equal(dec.decode(b), "hi");
  c.close();
  echo.close();
});

Deno.test("the udp dialer dials :port on 127.0.0.1", async () => {
  const echo = udpEcho("re:");
  const d = new UdpDialer({ logger: nopLogger });
  await d.init(new Metadata({}));
  const c = await d.dial(`:${echo.port}`);
  await c.write(enc.encode("x"));
  const b = new Uint8Array(16);
  const n = await c.read(b);
  equal(dec.decode(b.subarray(0, n!)), "re:x");
  c.close();
  echo.close();
});

Deno.test("the router dials a target without a host on this host, TCP and UDP", async () => {
  const echo = tcpEcho();
  const uecho = udpEcho("u:");
  const r = new DefaultRouter();
  const c = await r.dial("tcp", `:${echo.port}`);
  equal((c.remoteAddr as Deno.NetAddr).hostname, "127.0.0.1");
  c.close();
  const u = await r.dial("udp", `:${uecho.port}`);
  await u.write(enc.encode("y"));
  const b = new Uint8Array(16);
  equal(dec.decode(b.subarray(0, (await u.read(b))!)), "u:y");
  u.close();
  echo.close();
  uecho.close();
});

Deno.test("the router refuses GOST's :0 placeholder without a chain, at once and naming the fix", async () => {
  const r = new DefaultRouter({ retries: 2 });
  await rejects(r.dial("tcp", CHAIN_PICKS_TARGET), (err: unknown) => {
    ok(err instanceof NoChainError);
    ok(err.message.includes("no forward targets and no chain"), err.message);
    return true;
  });
  // :0 is the placeholder only as a whole: any other port-0 target is still invalid
  await rejects(r.dial("tcp", "127.0.0.1:0"), /port 0/);
});

Deno.test("the relay connector sends :0 over UDP as GOST does: the UDP flag and Addr 0.0.0.0:0", async () => {
  const [a, b] = memConnPair();
  const c = new RelayConnector({ logger: nopLogger });
  await c.init(new Metadata({}));
  const conn = await c.connect(a, "udp", CHAIN_PICKS_TARGET);
  const wrote = conn.write(enc.encode("dgram"));
  const req = await readRequest(new HandshakeReader(b, 512));
  await wrote;
  const facts = requestFacts(req.features);
  ok(req.flags & FLAG_UDP);
  equal(facts.network, NetworkId.Udp);
  equal(facts.host, "0.0.0.0");
  equal(facts.port, 0);
  conn.close();
  b.close();
});
