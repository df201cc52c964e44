import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import { ConfigError } from "../../core/errors.ts";
import { createLogger, Logger, MemorySink } from "../../core/log.ts";
import { buildLoggers } from "../../core/loggers.ts";
import { tempDir } from "../helpers/process.ts";

const readLines = async (path: string) => (await Deno.readTextFile(path)).trimEnd().split("\n");

Deno.test("a service picks its logger by name; without one it logs to the root logger", async () => {
  await tempDir(async (dir) => {
    const logs = buildLoggers({
      log: { level: "info", output: `${dir}/root.log` },
      loggers: [{ name: "svc", log: { level: "debug", format: "text", output: `${dir}/svc.log` } }],
    });
    logs.forService({ name: "a", logger: "svc" }).child({ service: "a" }).debug("to svc");
    logs.forService({ name: "b" }).child({ service: "b" }).info("to root");
    await logs.close();
    const svc = await readLines(`${dir}/svc.log`);
    equal(svc.length, 1);
    match(svc[0], /^time=\S+ level=debug msg="to svc" service=a$/);
    const root = await readLines(`${dir}/root.log`);
    equal(root.length, 1);
    deepEqual({ ...JSON.parse(root[0]), time: 0 }, { level: "info", msg: "to root", time: 0, service: "b" });
  });
});

Deno.test("a service with loggers: every logger receives every line at its own level and format", async () => {
  await tempDir(async (dir) => {
    const logs = buildLoggers({
      loggers: [
        { name: "all", log: { level: "trace", format: "json", output: `${dir}/all.log` } },
        { name: "warnings", log: { level: "warn", format: "text", output: `${dir}/warn.log` } },
      ],
    });
    const log = logs.forService({ name: "s", logger: "all", loggers: ["warnings", "all"] }).child({ sid: "x1" });
    ok(log.enabled("trace"));
    log.trace("t");
    log.info("i");
    log.warn("w", { dst: "example.com:80" });
    await logs.close();
    deepEqual((await readLines(`${dir}/all.log`)).map((l) => JSON.parse(l).msg), ["t", "i", "w"]);
    const warn = await readLines(`${dir}/warn.log`);
    equal(warn.length, 1);
    match(warn[0], / level=warn msg=w sid=x1 dst=example\.com:80$/);
  });
});

Deno.test("loggers naming the same file share one sink: lines interleave in one rotated set", async () => {
  await tempDir(async (dir) => {
    const log = { output: `${dir}/one.log`, rotation: { maxSize: 0.001, maxBackups: 100 } };
    const logs = buildLoggers({ log, loggers: [{ name: "x", log }] });
    for (let i = 0; i < 50; i++) {
      logs.root.info(`root ${i}`);
      logs.forService({ name: "s", logger: "x" }).info(`svc ${i}`);
    }
    await logs.close();
    const names: string[] = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    ok(names.length > 3, names.join(" "));
    let all: string[] = [];
    for (const n of names.filter((n) => n !== "one.log").sort().concat("one.log")) {
      all = all.concat(await readLines(`${dir}/${n}`));
    }
    equal(all.length, 100);
    equal(JSON.parse(all[1]).msg, "svc 0");
    equal(JSON.parse(all[99]).msg, "svc 49");
  });
});

Deno.test("bad logger configs are refused, naming the path", () => {
  throws(
    () => buildLoggers({ log: { level: "loud" } }),
    (e) => e instanceof ConfigError && /^log: .*"loud"/.test(e.message),
  );
  throws(
    () => buildLoggers({ loggers: [{ name: "a", log: { output: "none" } }, { name: "a" }] }),
    /loggers\[1\]\.name: duplicate logger name "a"/,
  );
  throws(
    () => buildLoggers({ loggers: [{ name: "a", log: { format: "xml", output: "none" } }] }),
    /loggers\[0\]\.log: Unknown log format "xml"/,
  );
  throws(
    () => buildLoggers({ log: { output: "/nonexistent/a.log", rotation: { maxSize: -5 } } }),
    /rotation\.maxSize/,
  );
  const logs = buildLoggers({ log: { output: "none" } });
  throws(() => logs.forService({ name: "s", loggers: ["nope"] }), /service s: unknown logger "nope"/);
});

Deno.test("Logger.group writes each line once per member and close() settles", async () => {
  const a = new MemorySink();
  const b = new MemorySink();
  const g = Logger.group([createLogger({ level: "error" }, a), createLogger({ level: "info", format: "text" }, b)]);
  equal(g.level, "info");
  g.info("hello");
  g.error("bad");
  await g.close();
  deepEqual(a.lines.map((l) => JSON.parse(l).msg), ["bad"]);
  equal(b.lines.length, 2);
});

Deno.test("a rotation failure is reported once through the root logger and logging goes on", async () => {
  await tempDir(async (dir) => {
    const logs = buildLoggers({
      log: { output: `${dir}/root.log` },
      loggers: [{ name: "f", log: { output: `${dir}/sub/f.log`, rotation: { maxSize: 0.0002 } } }],
    });
    const f = logs.forService({ name: "s", logger: "f" });
    f.info("first line, long enough to fill the tiny file ".padEnd(120, "."));
    await Deno.remove(`${dir}/sub`, { recursive: true }); // the next rotation cannot rename the file
    f.info("second line");
    f.info("third line");
    await logs.close();
    const warnings = (await readLines(`${dir}/root.log`)).map((l) => JSON.parse(l));
    equal(warnings.length, 1, JSON.stringify(warnings));
    equal(warnings[0].level, "warn");
    match(warnings[0].msg, /^rotating log file .*f\.log: /);
    // the directory was made again and the later lines are there
    deepEqual((await readLines(`${dir}/sub/f.log`)).map((l) => JSON.parse(l).msg), ["second line", "third line"]);
  });
});
