import { deepEqual, equal } from "node:assert/strict";
import { Logger, MemorySink } from "../../core/log.ts";

Deno.test("json lines carry level, msg, time, then the logger's and the call's fields; a call field overrides", () => {
  const sink = new MemorySink();
  const log = new Logger(sink, "debug", "json").child({ service: "s", sid: 'x"1', n: 2, skip: undefined });
  log.info('a "quoted" msg', { dst: "h:1" });
  log.debug("over", { sid: "y" });
  const [a, b] = sink.lines.map((l) => JSON.parse(l));
  equal(Object.keys(a).slice(0, 3).join(), "level,msg,time");
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
