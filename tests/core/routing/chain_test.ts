/**
 * The chain's blame rules (core/routing/chain.ts, node_group.ts) with fake dialers and connectors over in-memory
 * conns: which node is marked failed for a refused dial, a hang (the router's timeout), garbage, refused credentials
 * or an unreachable target; a cancelled dial (the client went away) marks nothing; maxFails and failTimeout decide
 * when a marked node is skipped; half-built conns are closed.
 * @module
 */
import { equal, ok, rejects } from "node:assert/strict";
import type { Conn, Network } from "../../../core/conn.ts";
import type { Connector, Dialer } from "../../../core/contracts.ts";
import { AuthError, DialError, HandshakeError, TimeoutError } from "../../../core/errors.ts";
import { Chain, type ChainNode, Hop } from "../../../core/routing/chain.ts";
import type { SelectorOptions } from "../../../core/routing/node_group.ts";
import { type MemConn, memConnPair } from "../../helpers/mem_conn.ts";

const TARGET = "10.9.9.9:80";

/** A dialer that opens in-memory conns (kept in `opened`) or fails every dial with `fail`. */
function fakeDialer(fail?: () => Promise<never>): Dialer & { opened: MemConn[] } {
  const opened: MemConn[] = [];
  return {
    opened,
    init: () => Promise.resolve(),
    dial() {
      if (fail) return fail();
      const [near] = memConnPair();
      opened.push(near);
      return Promise.resolve(near);
    },
  };
}

/** What a fake connector does when asked to connect onward. */
type Behaviour = "pass" | "refuse-auth" | "garbage" | "unreachable" | "hang" | "eof";

/** A connector acting out `behaviour` (recording the addresses it was asked for). */
function fakeConnector(behaviour: Behaviour): Connector & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    init: () => Promise.resolve(),
    connect(conn: Conn, _network: Network, addr: string): Promise<Conn> {
      asked.push(addr);
      switch (behaviour) {
        case "pass":
          return Promise.resolve(conn);
        case "refuse-auth":
          return Promise.reject(new AuthError("credentials refused"));
        case "garbage":
          return Promise.reject(new HandshakeError("malformed reply"));
        case "unreachable":
          return Promise.reject(new DialError(addr, `cannot reach ${addr}`));
        case "eof":
          return Promise.reject(new Deno.errors.UnexpectedEof("EOF in the reply"));
        case "hang":
          return new Promise<Conn>(() => {});
      }
    },
  };
}

const refused = () => Promise.reject(new Deno.errors.ConnectionRefused("connection refused"));

function node(name: string, dialer: Dialer, connector: Connector): ChainNode {
  return { name, addr: `${name}.test:1080`, weight: 1, backup: false, dialer, connector };
}

const SELECTOR: SelectorOptions = { strategy: "fifo", maxFails: 1, failTimeoutMs: 10_000 };

/** A chain of one hop per node, each hop with that one node. */
function chainOf(...nodes: ChainNode[]): { chain: Chain; hops: Hop[] } {
  const hops = nodes.map((n, i) => new Hop(`hop-${i}`, [n], SELECTOR));
  return { chain: new Chain("chain-0", hops), hops };
}

function dial(chain: Chain, signal?: AbortSignal): Promise<Conn> {
  return chain.route("tcp", TARGET).dial("tcp", TARGET, { signal });
}

/** The DialError a dial failed with. */
async function failure(p: Promise<Conn>): Promise<DialError> {
  let caught: unknown;
  await p.then((c) => c.close(), (e) => (caught = e));
  ok(caught instanceof DialError, `expected a DialError, got ${caught}`);
  return caught;
}

const dead = (hop: Hop, n: ChainNode) => hop.group.isDead(n);

Deno.test("chain: a refused dial of the first node marks it and names it", async () => {
  const a = node("a", fakeDialer(refused), fakeConnector("pass"));
  const b = node("b", fakeDialer(), fakeConnector("pass"));
  const { chain, hops } = chainOf(a, b);
  const err = await failure(dial(chain));
  equal(err.node, "a@a.test:1080");
  ok(dead(hops[0], a), "a is marked");
  ok(!dead(hops[1], b), "b is not");
});

Deno.test("chain: the first node unable to reach the second (a DialError from its connector) marks the second", async () => {
  const a = node("a", fakeDialer(), fakeConnector("unreachable"));
  const b = node("b", fakeDialer(), fakeConnector("pass"));
  const { chain, hops } = chainOf(a, b);
  const err = await failure(dial(chain));
  equal(err.node, "b@b.test:1080");
  ok(!dead(hops[0], a) && dead(hops[1], b));
  ok((a.dialer as ReturnType<typeof fakeDialer>).opened[0].closed, "the half-built conn to a is closed");
});

Deno.test("chain: a node refusing our credentials or answering garbage on the way to the next is itself blamed", async () => {
  for (const behaviour of ["refuse-auth", "garbage"] as const) {
    const a = node("a", fakeDialer(), fakeConnector(behaviour));
    const b = node("b", fakeDialer(), fakeConnector("pass"));
    const { chain, hops } = chainOf(a, b);
    const err = await failure(dial(chain));
    equal(err.node, "a@a.test:1080", behaviour);
    ok(dead(hops[0], a) && !dead(hops[1], b), behaviour);
    ok(err.cause instanceof (behaviour === "garbage" ? HandshakeError : AuthError), behaviour);
  }
});

Deno.test("chain: the last node failing (auth, garbage, EOF) is marked; its refusal to reach the target is not", async () => {
  for (const behaviour of ["refuse-auth", "garbage", "eof"] as const) {
    const a = node("a", fakeDialer(), fakeConnector("pass"));
    const b = node("b", fakeDialer(), fakeConnector(behaviour));
    const { chain, hops } = chainOf(a, b);
    const err = await failure(dial(chain));
    equal(err.node, "b@b.test:1080", behaviour);
    ok(!dead(hops[0], a) && dead(hops[1], b), behaviour);
  }
  const a = node("a", fakeDialer(), fakeConnector("pass"));
  const b = node("b", fakeDialer(), fakeConnector("unreachable"));
  const { chain, hops } = chainOf(a, b);
  const err = await failure(dial(chain));
  equal(err.node, undefined, "the target failed, not a node");
  equal(err.target, TARGET);
  ok(!dead(hops[0], a) && !dead(hops[1], b), "nothing marked");
  ok((a.dialer as ReturnType<typeof fakeDialer>).opened[0].closed, "the conn through the chain is closed");
});

Deno.test("chain: a hang ended by the router's timeout marks the hung node", async () => {
  const a = node("a", fakeDialer(), fakeConnector("pass"));
  const b = node("b", fakeDialer(), fakeConnector("hang"));
  const { chain, hops } = chainOf(a, b);
  const ac = new AbortController();
  const dialing = failure(dial(chain, ac.signal));
  await until(() => (b.connector as ReturnType<typeof fakeConnector>).asked.length === 1);
  ac.abort(new TimeoutError("dial timed out"));
  const err = await dialing;
  equal(err.node, "b@b.test:1080");
  ok(dead(hops[1], b) && !dead(hops[0], a));
  ok((a.dialer as ReturnType<typeof fakeDialer>).opened[0].closed, "the hung conn is closed");
});

Deno.test("chain: a cancelled dial (the client went away) marks nothing and names no node", async () => {
  const a = node("a", fakeDialer(), fakeConnector("pass"));
  const b = node("b", fakeDialer(), fakeConnector("hang"));
  const { chain, hops } = chainOf(a, b);
  const ac = new AbortController();
  const dialing = failure(dial(chain, ac.signal));
  await until(() => (b.connector as ReturnType<typeof fakeConnector>).asked.length === 1);
  ac.abort(); // an AbortError: the client or the service, not a timeout
  const err = await dialing;
  equal(err.node, undefined);
  ok(!dead(hops[0], a) && !dead(hops[1], b), "nothing marked");
  ok((a.dialer as ReturnType<typeof fakeDialer>).opened[0].closed, "the half-built conn is closed");

  // already aborted before the dial: nothing is dialed or marked
  const pre = new AbortController();
  pre.abort();
  const c = node("c", fakeDialer(), fakeConnector("pass"));
  const { chain: chain2, hops: hops2 } = chainOf(c);
  const err2 = await failure(dial(chain2, pre.signal));
  equal(err2.node, undefined);
  ok(!dead(hops2[0], c));
});

Deno.test("chain: a success clears the marks of the nodes it went through", async () => {
  let fail = true;
  const connector: Connector = {
    init: () => Promise.resolve(),
    connect: (conn) => fail ? Promise.reject(new HandshakeError("garbage")) : Promise.resolve(conn),
  };
  const a = node("a", fakeDialer(), connector);
  const { chain, hops } = chainOf(a);
  await failure(dial(chain));
  ok(dead(hops[0], a));
  fail = false;
  (await dial(chain)).close(); // a hop of one node still offers it: the last resort
  ok(!dead(hops[0], a), "marks cleared");
});

Deno.test("node group: maxFails failures make a node dead until failTimeout; a hop then selects another node", async () => {
  const a = node("a", fakeDialer(refused), fakeConnector("pass"));
  const b = node("b", fakeDialer(), fakeConnector("pass"));
  const hop = new Hop("hop-0", [a, b], { strategy: "fifo", maxFails: 2, failTimeoutMs: 5_000 });
  const chain = new Chain("chain-0", [hop]);
  await failure(dial(chain));
  ok(!hop.group.isDead(a), "one failure of maxFails 2 is not dead");
  equal(hop.select("tcp", TARGET), a, "fifo still picks a");
  await failure(dial(chain));
  ok(hop.group.isDead(a), "two failures are");
  equal(hop.select("tcp", TARGET), b, "the hop skips a");
  (await dial(chain)).close();
  const now = Date.now();
  ok(hop.group.isDead(a, now + 4_000), "still dead within failTimeout");
  ok(!hop.group.isDead(a, now + 5_001), "alive again after failTimeout");

  const never = new Hop("hop-1", [a], { strategy: "fifo", maxFails: 0, failTimeoutMs: 5_000 });
  never.group.markFailed(a);
  never.group.markFailed(a);
  ok(!never.group.isDead(a), "maxFails 0: never dead");
  await rejects(dial(new Chain("c", [new Hop("h", [a], SELECTOR)])), DialError);
});

/** Waits for `cond` (bounded: 200 turns of the event loop). */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 0));
  ok(cond(), "condition not reached");
}
