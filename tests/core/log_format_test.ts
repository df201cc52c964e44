import { deepEqual, equal, match } from "node:assert/strict";
import { buildLoggers } from "../../core/loggers.ts";
import { createLogger, Logger, MemorySink } from "../../core/log.ts";
import { goNumber, goQuote, needsQuoting, textLine } from "../../core/log_text.ts";

const TIME = /^time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d) /;

Deno.test("text lines are slog's: time, level, msg first, then the fields in the order they were added", () => {
  const sink = new MemorySink();
  const log = new Logger(sink, "info", "text").child({ kind: "service", service: "s-0" });
  log.child({ sid: "abc", kind: "handler" }).info("127.0.0.1:5000 <> 127.0.0.1:8080", { n: 3 });
  equal(sink.lines.length, 1);
  const line = sink.lines[0];
  match(line, TIME);
  equal(
    line.replace(/^time=\S+ /, ""),
    'level=info msg="127.0.0.1:5000 <> 127.0.0.1:8080" kind=handler service=s-0 sid=abc n=3\n',
  );
});

Deno.test("text values are quoted as Go's strconv.Quote when slog would quote them", () => {
  const line = textLine("T", "warn", "plain", {
    empty: "",
    sp: "a b",
    eq: "a=b",
    dq: 'say "hi"',
    bs: "C:\\dir",
    nl: "one\ntwo\t",
    ctl: "\u0001",
    nbsp: "a\u00a0b",
    uni: "été",
    emoji: "😀",
    zw: "a\u200bb",
    t: true,
    f: 1.5,
    big: 1e21,
    tiny: 1e-7,
    neg0: -0,
    nan: NaN,
    none: null,
    skipped: undefined,
    obj: { b: 2, a: "x y" },
    arr: ["x", 1],
    err: new Error("boom now"),
  });
  equal(
    line,
    "time=T level=warn msg=plain " +
      'empty="" sp="a b" eq="a=b" dq="say \\"hi\\"" bs=C:\\dir nl="one\\ntwo\\t" ctl="\\x01" ' +
      'nbsp="a\\u00a0b" uni=été emoji=😀 zw="a\\u200bb" t=true f=1.5 big=1e+21 tiny=1e-07 neg0=0 nan=NaN ' +
      'none=<nil> obj="map[a:x y b:2]" arr="[x 1]" err="boom now"\n',
  );
});

Deno.test("needsQuoting, goQuote and goNumber follow Go", () => {
  for (const s of ["a", "127.0.0.1:80", "/path?x", "C:\\x", "é", "[::1]:443"]) equal(needsQuoting(s), false, s);
  for (const s of ["", " ", "a=b", '"', "\x7f", "\u2028", "a\u3000b"]) equal(needsQuoting(s), true, JSON.stringify(s));
  equal(goQuote("\x07\b\f\r\v\x00"), '"\\a\\b\\f\\r\\v\\x00"');
  equal(goQuote("\u{e0001}"), '"\\U000e0001"');
  deepEqual([0.1, 100, 123456.5, 1e-5, 2.5e-10, -Infinity].map(goNumber), [
    "0.1",
    "100",
    "123456.5",
    "1e-05",
    "2.5e-10",
    "-Inf",
  ]);
});

Deno.test("JSON lines keep slog's key order: time, level, msg, then the fields", () => {
  const sink = new MemorySink();
  createLogger({ level: "info" }, sink).child({ service: "s" }).info("hi", { dst: "x:1" });
  match(sink.lines[0], /^\{"time":"[^"]+","level":"info","msg":"hi","service":"s","dst":"x:1"\}\n$/);
});

Deno.test("log.format text through buildLoggers writes text lines to a file, json stays the default", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const logs = buildLoggers({
      log: { format: "text", output: `${dir}/root.log` },
      loggers: [{ name: "j", log: { output: `${dir}/j.log` } }],
    });
    logs.root.child({ kind: "service" }).info("service s is running");
    logs.forService({ name: "s", logger: "j" }).info("json line");
    await logs.close();
    const text = await Deno.readTextFile(`${dir}/root.log`);
    match(text, TIME);
    match(text, / level=info msg="service s is running" kind=service\n$/);
    equal(JSON.parse(await Deno.readTextFile(`${dir}/j.log`)).msg, "json line");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("trace lines are written only when trace is on, and the level check is cheap to ask", () => {
  const sink = new MemorySink();
  const info = new Logger(sink, "info", "text");
  equal(info.enabled("trace"), false);
  info.trace("hidden");
  const trace = new Logger(sink, "trace", "text");
  equal(trace.enabled("trace"), true);
  trace.trace("5 1 0 3 example.com:80");
  equal(sink.lines.length, 1);
  match(sink.lines[0], / level=trace msg="5 1 0 3 example.com:80"\n$/);
});
