/**
 * Where chains record their node steps (core/routing/chain.ts, chain_metrics.ts, packet_route.ts): the recorder a
 * chain is given (`ChainOptions.recorder`) gets every step, a success with its time, a failure of the node it blames;
 * a chain built from config records into `Registries.process.chainRecorder` of that moment (docs/architecture.md,
 * "Module state"), and into nothing once the slot is cleared.
 * @module
 */
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import type { Connector, Dialer } from "../../../core/contracts.ts";
import { buildChain } from "../../../core/config/build_chain.ts";
import { ConfigError, DialError, HandshakeError } from "../../../core/errors.ts";
import { nopLogger } from "../../../core/log.ts";
import { Chain, type ChainNode, type ChainNodeRecorder, Hop } from "../../../core/routing/chain.ts";
import { slotRecorder } from "../../../core/routing/chain_metrics.ts";
import { openPacketRoute } from "../../../core/routing/packet_route.ts";
import { createBuiltinRegistries } from "../../../mod.ts";
import { memConnPair } from "../../helpers/mem_conn.ts";

const TARGET = "10.9.9.9:80";

/** One recorded step. */
interface Step {
  chain: string;
  node: string;
  seconds: number;
  ok: boolean;
}

/** A recorder keeping what it was told. */
function steps(): ChainNodeRecorder & { seen: Step[] } {
  const seen: Step[] = [];
  return { seen, recordChainNode: (chain, node, seconds, ok) => seen.push({ chain, node, seconds, ok }) };
}

/** A dialer of in-memory conns, or one refusing every dial. */
function dialer(refuse = false): Dialer {
  return {
    init: () => Promise.resolve(),
    dial: (addr) => refuse ? Promise.reject(new DialError(addr, "refused")) : Promise.resolve(memConnPair()[0]),
  };
}

/** A connector that passes (the conn it was given is the conn onward), or answers garbage to a packet request. */
function connector(): Connector {
  return {
    init: () => Promise.resolve(),
    connect: (conn) => Promise.resolve(conn),
    canConnectPacket: () => true,
    connectPacket: (conn) => {
      conn.close();
      return Promise.reject(new HandshakeError("garbage"));
    },
  };
}

function node(name: string, refuse = false): ChainNode {
  return { name, addr: `${name}.test:1`, weight: 1, backup: false, dialer: dialer(refuse), connector: connector() };
}

function chain(nodes: ChainNode[], recorder?: ChainNodeRecorder): Chain {
  return new Chain("chain-r", nodes.map((n, i) => new Hop(`hop-${i}`, [n])), { recorder });
}

Deno.test("chain recorder: each node step of a dial is recorded, a failure against the node blamed", async () => {
  const rec = steps();
  const conn = await chain([node("a"), node("b")], rec).route("tcp", TARGET).dial("tcp", TARGET);
  conn.close();
  deepEqual(rec.seen.map((s) => [s.chain, s.node, s.ok]), [["chain-r", "a", true], ["chain-r", "b", true]]);
  ok(rec.seen.every((s) => s.seconds >= 0 && s.seconds < 60), JSON.stringify(rec.seen));

  const failed = steps();
  await rejects(chain([node("x", true)], failed).route("tcp", TARGET).dial("tcp", TARGET), DialError);
  deepEqual(failed.seen.map((s) => [s.node, s.ok]), [["x", false]]);

  // without a recorder a chain records nowhere and dials as before
  (await chain([node("a")]).route("tcp", TARGET).dial("tcp", TARGET)).close();
});

Deno.test("chain recorder: a packet route whose last node fails the association records the failure", async () => {
  const rec = steps();
  const route = chain([node("p")], rec).route("udp", "");
  equal(route.recorder, rec, "the route carries its chain's recorder");
  await rejects(openPacketRoute(route, {}), DialError);
  deepEqual(rec.seen.map((s) => [s.node, s.ok]), [["p", true], ["p", false]]);
});

Deno.test("chain recorder: a chain built from config records into the registries' slot of that moment", async () => {
  const reg = createBuiltinRegistries();
  const dead = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (dead.addr as Deno.NetAddr).port;
  dead.close();
  const built = await buildChain(
    { name: "chain-cfg", hops: [{ name: "hop-0", nodes: [{ name: "node-0", addr: `127.0.0.1:${port}` }] }] },
    ["chains", "chain-cfg"],
    {
      reg,
      logger: nopLogger,
      bypass: () => undefined,
      hops: () => undefined,
      fail: (path, message) => new ConfigError(`${path.join(".")}: ${message}`),
    },
  );
  const dial = () => rejects(built.route("tcp", TARGET).dial("tcp", TARGET), DialError);
  await dial(); // no metrics yet: recorded nowhere
  const rec = steps();
  reg.process.chainRecorder = rec;
  await dial();
  deepEqual(rec.seen.map((s) => [s.chain, s.node, s.ok]), [["chain-cfg", "node-0", false]]);
  delete reg.process.chainRecorder;
  await dial();
  equal(rec.seen.length, 1, "metrics closed: the chain records into nothing");
  built.close();
});

Deno.test("slotRecorder passes each step to the slot's recorder at that moment", () => {
  const slots: { chainRecorder?: ChainNodeRecorder } = {};
  const r = slotRecorder(slots);
  r.recordChainNode("c", "n", 1, true);
  const rec = steps();
  slots.chainRecorder = rec;
  r.recordChainNode("c", "n", 2, false);
  delete slots.chainRecorder;
  r.recordChainNode("c", "n", 3, true);
  deepEqual(rec.seen, [{ chain: "c", node: "n", seconds: 2, ok: false }]);
});
