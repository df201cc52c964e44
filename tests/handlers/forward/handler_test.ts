import { equal, match, ok, rejects } from "node:assert/strict";
import { NoChainError } from "../../../core/errors.ts";
import { memConnPair } from "../../helpers/mem_conn.ts";
import { ForwardHandler } from "../../../handlers/forward/handler.ts";
import { NodeGroup } from "../../../core/routing/node_group.ts";
import { startService } from "../../helpers/service.ts";
import { tcpEcho, udpEcho } from "../../helpers/servers.ts";
import { Metadata } from "../../../core/metadata.ts";
import { DefaultRouter } from "../../../core/routing/router.ts";
import { nopLogger } from "../../../core/log.ts";
import { until } from "../../helpers/wait.ts";

const node = (name: string, addr: string) => ({ name, addr, weight: 1, backup: false });

async function roundTrip(port: number, msg: string): Promise<string> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  await c.write(new TextEncoder().encode(msg));
  await c.closeWrite();
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(1024);
  for (;;) {
    const n = await c.read(buf);
    if (n === null) break;
    chunks.push(buf.slice(0, n));
  }
  c.close();
  return new TextDecoder().decode(new Uint8Array(chunks.flatMap((b) => [...b])));
}

Deno.test("tcp forward handler relays to its target and half-closes", async () => {
  const echo = tcpEcho();
  await using svc = await startService({
    handler: (o) => new ForwardHandler(o, "tcp"),
    forwarder: new NodeGroup([node("target-0", `127.0.0.1:${echo.port}`)]),
    stats: true,
  });
  equal(await roundTrip(svc.port, "ping"), "ping");
  await until(() => svc.service.stats!.currentConns === 0, "the service to close the client conn");
  const st = svc.service.stats!.toJSON();
  equal(st.totalConns, 1);
  equal(st.currentConns, 0);
  equal(st.inputBytes, 4);
  equal(st.outputBytes, 4);
  echo.close();
});

Deno.test("tcp forward handler fails over to the next node when one is dead", async () => {
  const echo = tcpEcho();
  const dead = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadPort = (dead.addr as Deno.NetAddr).port;
  dead.close();
  const group = new NodeGroup([node("target-0", `127.0.0.1:${deadPort}`), node("target-1", `127.0.0.1:${echo.port}`)], {
    strategy: "fifo",
    maxFails: 1,
    failTimeoutMs: 30_000,
  });
  await using svc = await startService({ handler: (o) => new ForwardHandler(o, "tcp"), forwarder: group });
  for (let i = 0; i < 3; i++) equal(await roundTrip(svc.port, `m${i}`), `m${i}`);
  equal(group.isDead(group.nodes[0]), true);
  echo.close();
});

Deno.test("forward handler without targets and without a chain fails each conn naming the fix", async () => {
  const h = new ForwardHandler({ service: "s", logger: nopLogger, router: new DefaultRouter() }, "tcp");
  await h.init(new Metadata());
  const [a, b] = memConnPair();
  const ctx = { sid: "x", service: "s", src: "127.0.0.1:1", signal: new AbortController().signal, logger: nopLogger };
  await rejects(h.handle(a, ctx), (err: unknown) => {
    ok(err instanceof NoChainError, String(err));
    match(err.message, /no forward targets and no chain.*forward\+tls/);
    return true;
  });
  b.close();
});

Deno.test("a forward target without a host (:port) is this host", async () => {
  const echo = tcpEcho();
  await using svc = await startService({
    handler: (o) => new ForwardHandler(o, "tcp"),
    forwarder: new NodeGroup([node("target-0", `:${echo.port}`)]),
  });
  equal(await roundTrip(svc.port, "local"), "local");
  echo.close();
});

Deno.test("udp forward handler relays datagrams both ways over one session", async () => {
  const echo = udpEcho("re:");
  await using svc = await startService({
    listener: "udp",
    handler: (o) => new ForwardHandler(o, "udp"),
    forwarder: new NodeGroup([node("target-0", `127.0.0.1:${echo.port}`)]),
  });
  const client = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const to = { transport: "udp" as const, hostname: "127.0.0.1", port: svc.port };
  for (const msg of ["one", "two", "three"]) {
    await client.send(new TextEncoder().encode(msg), to);
    const [d] = await client.receive();
    equal(new TextDecoder().decode(d), `re:${msg}`);
  }
  client.close();
  echo.close();
});
