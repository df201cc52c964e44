import { deepEqual, equal, ok } from "node:assert/strict";
import { LINE_BURST, LINE_WINDOW_MS, LineLimiter } from "../../core/log_limit.ts";
import { Logger, MemorySink } from "../../core/log.ts";

Deno.test("line limiter: a message gets LINE_BURST lines per window, then one summary with the count left out", () => {
  let now = 1_000_000;
  const limit = new LineLimiter(() => now);
  const summaries: number[] = [];
  let written = 0;
  for (let i = 0; i < 100; i++) {
    if (limit.admit(4, "Bad version 0x04")) written++;
    else limit.onSummary(4, "Bad version 0x04", (n) => summaries.push(n));
  }
  equal(written, LINE_BURST);
  deepEqual(summaries, [], "no summary before the window ends");
  // Another text, and the same text at another level, have their own budgets.
  ok(limit.admit(4, "Unknown address type 0x09"));
  ok(limit.admit(3, "Bad version 0x04"));
  now += LINE_WINDOW_MS;
  ok(limit.admit(4, "Bad version 0x04"), "a new window writes again");
  deepEqual(summaries, [100 - LINE_BURST], "the summary of the window came first");
  limit.flush();
  deepEqual(summaries, [100 - LINE_BURST], "nothing left out since");
});

Deno.test("line limiter: flush writes the summaries of open windows (at exit)", () => {
  const limit = new LineLimiter(() => 0);
  const summaries: number[] = [];
  for (let i = 0; i < LINE_BURST + 3; i++) {
    if (!limit.admit(2, "x")) limit.onSummary(2, "x", (n) => summaries.push(n));
  }
  limit.flush(false);
  deepEqual(summaries, [], "the window is still open");
  limit.flush();
  deepEqual(summaries, [3]);
});

Deno.test("logger: identical info/warn/error lines are limited across a logger's children; the summary keeps the fields", async () => {
  const sink = new MemorySink();
  const log = new Logger(sink, "trace", "json", { service: "svc" });
  for (let i = 0; i < 50; i++) log.child({ sid: `s${i}` }).info("SOCKS5 greeting offers no methods");
  for (let i = 0; i < 50; i++) log.child({ sid: `d${i}` }).debug("debug lines are never limited");
  for (let i = 0; i < 50; i++) log.info(`127.0.0.1:${1000 + i} <> 127.0.0.1:1080`); // all different
  await log.close(); // writes the open window's summary
  const lines = sink.lines.map((l) => JSON.parse(l));
  const bad = lines.filter((l) => l.msg === "SOCKS5 greeting offers no methods");
  equal(bad.length, LINE_BURST + 1);
  const summary = bad.at(-1);
  equal(summary.suppressed, 50 - LINE_BURST);
  equal(summary.service, "svc");
  equal(summary.sid, "s49", "the summary is written through the last left-out line's logger");
  equal(bad.slice(0, -1).filter((l) => "suppressed" in l).length, 0);
  equal(lines.filter((l) => l.level === "debug").length, 50);
  equal(lines.filter((l) => / <> /.test(l.msg)).length, 50);
});
