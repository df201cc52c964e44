/**
 * What an idle smux stream costs on each end of a real mwss session between two processes (tests/bench/mux_idle.ts:
 * our mwss listener and dialer, heap plus ArrayBuffer memory after full GCs, growth over 2,000 streams each with a
 * pending read): under 8 KiB per stream on both ends. A stream that reserved a receive buffer (the 1 MiB window GOST's
 * tunnel allows per stream, or even 8 KiB) would fail it.
 */
import { ok } from "node:assert/strict";
import { measureIdleStreams } from "../../bench/mux_idle.ts";

const LIMIT = 8 * 1024;

Deno.test("mwss: 2,000 idle streams on one session cost under 8 KiB each on both ends", async () => {
  const m = await measureIdleStreams(2000);
  const figures = `client ${m.clientBytes.toFixed(0)} B, server ${m.serverBytes.toFixed(0)} B per stream`;
  console.log(`idle mwss stream: ${figures}`);
  ok(m.clientBytes > 0 && m.serverBytes > 0, `the streams were measured: ${figures}`);
  ok(m.clientBytes < LIMIT, `client end: ${figures}`);
  ok(m.serverBytes < LIMIT, `server end: ${figures}`);
});
