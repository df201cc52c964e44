/**
 * The `direct` connector and dialer (GOST's virtual node) in-process: a chain of one direct node dials TCP and UDP
 * targets from this host through the router, `action: reject` refuses with a PolicyError, a bad action or a
 * connect without the router's dial fails loudly.
 */
import { equal, ok, rejects } from "node:assert/strict";
import { type Conn, writeFull } from "../../../core/conn.ts";
import { ConfigError, DialError, PolicyError } from "../../../core/errors.ts";
import { nopLogger } from "../../../core/log.ts";
import { Metadata } from "../../../core/metadata.ts";
import { createRegistries } from "../../../core/registries.ts";
import { buildChain } from "../../../core/config/build_chain.ts";
import type { ChainConfig } from "../../../core/config/types.ts";
import { DefaultRouter } from "../../../core/routing/router.ts";
import { registerHandlers } from "../../../handlers/mod.ts";
import { registerListeners } from "../../../listeners/mod.ts";
import { DirectConnector } from "../../../handlers/direct/connector.ts";
import { tcpEcho, udpEcho } from "../../helpers/servers.ts";

const reg = createRegistries();
registerHandlers(reg);
registerListeners(reg);
const enc = new TextEncoder();
const dec = new TextDecoder();

function chainOf(connector: Record<string, unknown>) {
  const cfg: ChainConfig = { name: "c", hops: [{ name: "h", nodes: [{ name: "d", connector }] }] };
  return buildChain(cfg, ["chains", 0], {
    reg,
    logger: nopLogger,
    bypass: () => undefined,
    hops: () => undefined,
    fail: (path, message) => new ConfigError(`${path.join(".")}: ${message}`),
  });
}

async function roundTrip(conn: Conn, text: string): Promise<string> {
  await writeFull(conn, enc.encode(text));
  const buf = new Uint8Array(256);
  const n = await conn.read(buf);
  return dec.decode(buf.subarray(0, n ?? 0));
}

Deno.test("a chain of one direct node dials tcp and udp targets from this host; the node needs no addr", async () => {
  const chain = await chainOf({ type: "direct" });
  const node = chain.hops[0].group.nodes[0];
  equal(node.addr, "");
  const router = new DefaultRouter({ chain: () => chain });
  const echo = tcpEcho();
  const udp = udpEcho("u:");
  try {
    const tcp = await router.dial("tcp", `127.0.0.1:${echo.port}`);
    try {
      equal(await roundTrip(tcp, "hello"), "hello");
    } finally {
      tcp.close();
    }
    const dgram = await router.dial("udp", `127.0.0.1:${udp.port}`);
    try {
      equal(await roundTrip(dgram, "ping"), "u:ping");
    } finally {
      dgram.close();
    }
    ok(!chain.hops[0].group.isDead(node));
  } finally {
    echo.close();
    udp.close();
  }
});

Deno.test("a direct node with action reject refuses with a PolicyError and is not marked failed", async () => {
  const chain = await chainOf({ type: "direct", metadata: { action: "Reject" } });
  const router = new DefaultRouter({ chain: () => chain, retries: 2 });
  const echo = tcpEcho();
  try {
    await rejects(router.dial("tcp", `127.0.0.1:${echo.port}`), PolicyError);
    ok(!chain.hops[0].group.isDead(chain.hops[0].group.nodes[0]));
  } finally {
    echo.close();
  }
});

Deno.test("the direct connector refuses an unknown action and a connect without the router's dial", async () => {
  await rejects(new DirectConnector().init(new Metadata({ action: "drop" })), (e: Error) => {
    ok(e instanceof ConfigError && /"drop".*reject/.test(e.message), e.message);
    return true;
  });
  const c = new DirectConnector();
  await c.init(new Metadata({}));
  const placeholder = await (await reg.dialers.mustGet("direct")({ logger: nopLogger })).dial("");
  equal(await placeholder.read(new Uint8Array(1)), null, "the direct dialer's conn carries nothing");
  await rejects(c.connect(placeholder, "tcp", "127.0.0.1:9"), DialError);
});
