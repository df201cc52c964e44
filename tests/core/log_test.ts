import { deepEqual, equal, match } from "node:assert/strict";
import { flushLogs, Logger, MemorySink, StreamSink } from "../../core/log.ts";

Deno.test("json lines carry time, level, msg (slog's order), then the logger's and the call's fields; a call field overrides", () => {
  const sink = new MemorySink();
  const log = new Logger(sink, "debug", "json").child({ service: "s", sid: 'x"1', n: 2, skip: undefined });
  log.info('a "quoted" msg', { dst: "h:1" });
  log.debug("over", { sid: "y" });
  const [a, b] = sink.lines.map((l) => JSON.parse(l));
  equal(Object.keys(a).slice(0, 3).join(), "time,level,msg");
  deepEqual({ ...a, time: 0 }, {
    level: "info",
    msg: 'a "quoted" msg',
    time: 0,
    service: "s",
    sid: 'x"1',
    n: 2,
    dst: "h:1",
  });
  deepEqual({ ...b, time: 0 }, { level: "debug", msg: "over", time: 0, service: "s", sid: "y", n: 2 });
  equal(sink.lines.every((l) => l.endsWith("}\n")), true);
});

Deno.test("a stream sink writes the lines of one microtask run in one write, and flushLogs writes them at once", async () => {
  const writes: string[] = [];
  const w = {
    writeSync(p: Uint8Array) {
      writes.push(new TextDecoder().decode(p));
      return p.length;
    },
  };
  const log = new Logger(new StreamSink(w), "info", "text");
  log.info("one");
  log.info("two");
  equal(writes.length, 0, "held until the microtask run ends");
  await Promise.resolve();
  equal(writes.length, 1);
  match(writes[0], /level=info msg=one\n.*level=info msg=two\n$/);
  log.info("three");
  flushLogs();
  equal(writes.length, 2);
  match(writes[1], /level=info msg=three\n$/);
  await Promise.resolve();
  equal(writes.length, 2, "nothing left to write");
});

Deno.test("a child logger's JSON fields follow its parent's, escaped as JSON.stringify escapes them", () => {
  const sink = new MemorySink();
  const parent = new Logger(sink, "info", "json").child({ service: "s" });
  parent.info("warm"); // the parent's fields text is cached now
  parent.child({ sid: 'q"\\\u0001é', n: -0, big: 1e21, nan: NaN }).info("x", { d: "1.5s" });
  const line = sink.lines[1];
  deepEqual(JSON.parse(line), {
    level: "info",
    msg: "x",
    time: JSON.parse(line).time,
    service: "s",
    sid: 'q"\\\u0001é',
    n: 0,
    big: 1e21,
    nan: null,
    d: "1.5s",
  });
});
