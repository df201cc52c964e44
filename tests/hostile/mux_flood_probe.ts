/**
 * The probe of tests/hostile/mux_flood_test.ts (run with `--v8-flags=--expose-gc`): an smux server session over
 * loopback TCP with `maxReceiveBuffer` = argv[0] bytes, whose one stream is never read, while the peer sends
 * one-byte PSH frames until that stream holds 90% of the budget. Prints
 * `{"budget":…,"buffered":…,"grownBytes":…}`: the heap plus external memory the session grew by (after full GCs).
 * @module
 */
import { Cmd, encodeFrame } from "../../core/mux/frame.ts";
import { MuxSession } from "../../core/mux/session.ts";
import { tcpPair, writeAll } from "../helpers/mux_pair.ts";

const budget = Number(Deno.args[0] ?? 1 << 20);
const gc = (globalThis as unknown as { gc?: () => void }).gc;
if (!gc) throw new Error("mux_flood_probe.ts needs --v8-flags=--expose-gc");
async function heap(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    gc!();
    await new Promise((r) => setTimeout(r, 5));
  }
  const m = Deno.memoryUsage();
  return m.heapUsed + m.external;
}

const [a, raw] = await tcpPair();
const session = MuxSession.server(a, { maxReceiveBuffer: budget, keepAliveDisabled: true });
await writeAll(raw, encodeFrame(1, Cmd.SYN, 3));
const stream = await session.acceptStream();
const frame = encodeFrame(1, Cmd.PSH, 3, Uint8Array.of(0x61));
const batch = new Uint8Array(frame.length * 8192);
for (let i = 0; i < 8192; i++) batch.set(frame, i * frame.length);
const before = await heap();
const flooding = (async () => {
  for (;;) await writeAll(raw, batch);
})().catch(() => {});
while (stream.buffered < budget * 0.9) await new Promise((r) => setTimeout(r, 10));
const grownBytes = (await heap()) - before;
console.log(JSON.stringify({ budget, buffered: stream.buffered, grownBytes }));
session.close();
raw.close();
await flooding;
Deno.exit(0);
