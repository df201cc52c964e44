/**
 * A peer that floods one unread smux stream with one-byte PSH frames (tests/hostile/mux_flood_probe.ts, in a child
 * with `--expose-gc`): the session stops reading at its receive budget, and the memory it holds stays within a small
 * multiple of that budget. When the budget counted payload bytes only, each one-byte payload was its own buffer and
 * 4 MiB of budget held over 800 MiB of heap.
 */
import { ok } from "node:assert/strict";
import { V8_FLAGS } from "../helpers/gost.ts";

const PROBE = new URL("./mux_flood_probe.ts", import.meta.url).pathname;
const BUDGET = 1 << 20;

Deno.test("smux: one-byte PSH frames to a stream nobody reads hold at most 3x the receive budget in memory", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${V8_FLAGS},--expose-gc`, "--quiet", PROBE, String(BUDGET)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  ok(out.code === 0, `probe exited ${out.code}: ${new TextDecoder().decode(out.stderr)}`);
  const r = JSON.parse(text) as { budget: number; buffered: number; grownBytes: number };
  console.log(`1-byte flood: ${r.buffered} B buffered, memory grew ${(r.grownBytes / 2 ** 20).toFixed(2)} MiB`);
  ok(r.buffered <= BUDGET, text);
  ok(r.grownBytes < 3 * BUDGET, `memory grew ${r.grownBytes} B for a ${BUDGET} B budget: ${text}`);
});
