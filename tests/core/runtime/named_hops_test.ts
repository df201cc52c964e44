/**
 * A chain that names a top-level hop follows it: replacing the hop (PUT /config/hops/h) rebuilds the chains that
 * name it, a replacement a chain cannot be built on is refused with the old hop and chains kept, and a hop a chain
 * names cannot be removed from under it.
 */
import { equal, match, rejects } from "node:assert/strict";
import { parseConfig } from "../../../core/config/load.ts";
import { nopLogger } from "../../../core/log.ts";
import { Runtime } from "../../../core/runtime/runtime.ts";
import { createBuiltinRegistries } from "../../../mod.ts";

function firstNodeAddr(rt: Runtime, chain: string, hop = 0): string {
  return rt.reg.chains.get(chain)!.hops[hop].group.nodes[0].addr;
}

Deno.test("replacing a named hop reaches the chains that name it; removing it from under them is refused", async () => {
  const { config } = await parseConfig(
    JSON.stringify({
      hops: [{ name: "h", nodes: [{ name: "a", addr: "127.0.0.1:1111" }] }],
      chains: [
        { name: "c", hops: [{ name: "h" }] },
        { name: "d", hops: [{ name: "x", nodes: [{ name: "x", addr: "127.0.0.1:3333" }] }, { name: "h" }] },
        { name: "e", hops: [{ name: "own", nodes: [{ name: "o", addr: "127.0.0.1:4444" }] }] },
      ],
    }),
    "hops.json",
  );
  const rt = await Runtime.start(config, { reg: createBuiltinRegistries(), logger: nopLogger });
  try {
    equal(firstNodeAddr(rt, "c"), "127.0.0.1:1111");
    const untouched = rt.reg.chains.get("e");
    await rt.replace("hops", "h", { nodes: [{ name: "b", addr: "127.0.0.1:2222" }] });
    equal(firstNodeAddr(rt, "c"), "127.0.0.1:2222");
    equal(firstNodeAddr(rt, "d", 1), "127.0.0.1:2222");
    equal(rt.reg.chains.get("e"), untouched, "a chain that does not name the hop is not rebuilt");

    // chain d has h as its second hop, where parallel is refused: the whole replacement is refused
    await rejects(
      rt.replace("hops", "h", { selector: { strategy: "parallel" }, nodes: [{ name: "p", addr: "127.0.0.1:5555" }] }),
      /parallel/,
    );
    equal(firstNodeAddr(rt, "c"), "127.0.0.1:2222", "chain c keeps the hop it had");
    equal(firstNodeAddr(rt, "d", 1), "127.0.0.1:2222");
    equal(rt.reg.hops.get("h")!.group.nodes[0].addr, "127.0.0.1:2222", "the registered hop is the old one");

    await rejects(rt.remove("hops", "h"), (err: Error) => {
      match(err.message, /hops\.h: chain c, d names this hop/);
      return true;
    });
    equal(rt.reg.hops.has("h"), true);
  } finally {
    await rt.close();
  }
});
