/**
 * mtcp in-process: the chain keeps one smux session per multiplexing node (100 concurrent dials ride one TCP conn),
 * opens a new one once the old one died, splits the route at the node (the hops before it carry the session's conn
 * once) and fails the node when it cannot be reached.
 */
import { equal, ok, rejects } from "node:assert/strict";
import { closeQuietly, type Conn, writeFull } from "../../../core/conn.ts";
import type { Connector } from "../../../core/contracts.ts";
import { DialError } from "../../../core/errors.ts";
import { nopLogger } from "../../../core/log.ts";
import { Metadata } from "../../../core/metadata.ts";
import { relay } from "../../../core/relay.ts";
import { Chain, type ChainNode, Hop } from "../../../core/routing/chain.ts";
import { DefaultRouter } from "../../../core/routing/router.ts";
import { MTCP_MUX_DEFAULTS, MtcpDialer } from "../../../listeners/mtcp/dialer.ts";
import { MuxServerListener } from "../../../listeners/mtcp/listener.ts";
import { TcpListener } from "../../../listeners/tcp/listener.ts";
import { deadPort, readAll } from "../../helpers/io.ts";
import { tcpDialer } from "../../helpers/chain.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** An mtcp listener whose streams echo. */
async function echoServer(): Promise<{ ln: MuxServerListener; port: number; done: Promise<void> }> {
  const opts = { addr: "127.0.0.1:0", logger: nopLogger, service: "mtcp-echo", router: new DefaultRouter({}) };
  const ln = new MuxServerListener(new TcpListener(opts), opts, MTCP_MUX_DEFAULTS);
  await ln.init(new Metadata({}));
  const done = (async () => {
    for (;;) {
      let c: Conn;
      try {
        c = await ln.accept();
      } catch {
        return;
      }
      (async () => {
        const got = await readAll(c);
        await writeFull(c, got);
        await c.closeWrite();
      })().catch(() => {}).finally(() => c.close());
    }
  })();
  return { ln, port: (ln.addr as Deno.NetAddr).port, done };
}

/** A TCP forwarder to `port` that counts the conns it took and can cut them all. */
function forwarder(port: number) {
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const live = new Set<Conn>();
  let accepted = 0;
  const done = (async () => {
    for await (const c of ln) {
      accepted++;
      const up = await Deno.connect({ hostname: "127.0.0.1", port });
      live.add(c);
      live.add(up);
      relay(c, up).finally(() => (live.delete(c), live.delete(up)));
    }
  })().catch(() => {});
  return {
    port: (ln.addr as Deno.NetAddr).port,
    get accepted() {
      return accepted;
    },
    cut: () => {
      for (const c of live) closeQuietly(c);
    },
    close: async () => {
      ln.close();
      for (const c of live) closeQuietly(c);
      await done;
    },
  };
}

/** A connector that speaks nothing: the conn is the conn to the target (an echo stream here). */
function passthrough(): Connector & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    init: () => Promise.resolve(),
    connect: (conn: Conn, _network: string, addr: string) => (calls.push(addr), Promise.resolve(conn)),
  };
}

async function mtcpNode(name: string, port: number, connector: Connector): Promise<ChainNode> {
  const dialer = new MtcpDialer({ logger: nopLogger });
  await dialer.init(new Metadata({}));
  return { name, addr: `127.0.0.1:${port}`, weight: 1, backup: false, dialer, connector };
}

async function echoThrough(chain: Chain, text: string): Promise<string> {
  const c = await chain.route("tcp", "target:1").dial("tcp", "target:1");
  try {
    await writeFull(c, enc.encode(text));
    await c.closeWrite();
    return dec.decode(await readAll(c));
  } finally {
    c.close();
  }
}

Deno.test("mtcp: 100 concurrent dials ride one session; a dead session is replaced by a new one", async () => {
  const server = await echoServer();
  const fwd = forwarder(server.port);
  const node = await mtcpNode("node-0", fwd.port, passthrough());
  const chain = new Chain("chain-0", [new Hop("hop-0", [node])]);
  try {
    const got = await Promise.all(Array.from({ length: 100 }, (_, i) => echoThrough(chain, `conn ${i}`)));
    equal(got.filter((g, i) => g === `conn ${i}`).length, 100);
    equal(fwd.accepted, 1, "every dial rode the one TCP conn");
    equal(server.ln.sessions, 1);
    const session = chain.sessions.get(node);
    ok(session);

    fwd.cut(); // the session's TCP conn dies under it
    await session.done;
    equal(chain.sessions.get(node), undefined, "a dead session is forgotten");
    equal(await echoThrough(chain, "after"), "after");
    equal(fwd.accepted, 2, "the next dial opened a new session");
    ok(chain.sessions.get(node) !== session);
  } finally {
    chain.close();
    await fwd.close();
    server.ln.close();
    await server.done;
  }
});

Deno.test("mtcp: the route splits at the multiplexing node: the hop before it carries the session's conn once", async () => {
  const server = await echoServer();
  const fwd = forwarder(server.port); // node A: every conn to it reaches the mtcp node
  const a = passthrough();
  const nodeA: ChainNode = {
    name: "a",
    addr: `127.0.0.1:${fwd.port}`,
    weight: 1,
    backup: false,
    dialer: tcpDialer,
    connector: a,
  };
  const b = passthrough();
  const nodeB = await mtcpNode("b", server.port, b);
  const chain = new Chain("chain-0", [new Hop("hop-0", [nodeA]), new Hop("hop-1", [nodeB])]);
  try {
    const got = await Promise.all(Array.from({ length: 50 }, (_, i) => echoThrough(chain, `c${i}`)));
    equal(got.filter((g, i) => g === `c${i}`).length, 50);
    equal(fwd.accepted, 1, "one conn through node a");
    equal(a.calls.join(), nodeB.addr, "node a's connector asked once, for node b");
    equal(b.calls.length, 50, "node b's connector speaks on each stream");
  } finally {
    chain.close();
    await fwd.close();
    server.ln.close();
    await server.done;
  }
});

Deno.test("mtcp: a node that cannot be reached fails every waiting dial with a DialError naming it", async () => {
  const node = await mtcpNode("node-0", deadPort(), passthrough());
  const chain = new Chain("chain-0", [new Hop("hop-0", [node])]);
  const errors = await Promise.all(
    Array.from({ length: 5 }, () => chain.route("tcp", "t:1").dial("tcp", "t:1").then(() => null, (e) => e)),
  );
  for (const e of errors) {
    ok(e instanceof DialError, String(e));
    equal(e.node, `node-0@${node.addr}`);
  }
  equal(chain.sessions.size, 0);
  chain.close();
  await rejects(chain.route("tcp", "t:1").dial("tcp", "t:1"), /chain closed/);
});
