/**
 * Logging of a real gost.ts process: a rotated, compressed log file set with every line kept up to the last one
 * written at shutdown; and services writing to their own `logger` / `loggers`.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { freePort } from "../helpers/gost.ts";
import { curl } from "../helpers/run.ts";
import { namedOrigin, pendingWiring, spawnGost, tempDir, waitListening, whenWired } from "../helpers/process.ts";
import { readSet } from "../helpers/logging.ts";

async function requests(port: number, n: number): Promise<void> {
  const origin = namedOrigin("x");
  try {
    for (let i = 0; i < n; i++) {
      const r = await curl("-sS", "-x", `http://127.0.0.1:${port}`, `http://127.0.0.1:${origin.port}/${i}`);
      equal(r.stdout, "x", r.stderr);
    }
  } finally {
    await origin.close();
  }
}

Deno.test("a process logging to a file with rotation leaves a rotated, gzipped set with every line to the last", async () => {
  await tempDir(async (dir) => {
    const port = freePort();
    const config = {
      services: [{ name: "web", addr: `127.0.0.1:${port}`, handler: { type: "http" } }],
      log: {
        level: "debug",
        output: `${dir}/logs/gost.log`,
        rotation: { maxSize: 0.004, maxBackups: 3, compress: true }, // ~4 KB files
      },
    };
    await Deno.writeTextFile(`${dir}/gost.json`, JSON.stringify(config));
    const gost = spawnGost(["-C", `${dir}/gost.json`]);
    try {
      await waitListening([port], gost);
      await requests(port, 30);
      equal((await gost.stop("SIGTERM")).code, 0, gost.lines.join("\n"));
    } finally {
      await gost.stop("SIGKILL");
    }
    const { files, text } = await readSet(`${dir}/logs`, "gost.log");
    const lines = text.trimEnd().split("\n");
    equal(files.length, 4, files.join(" ")); // 3 backups + the current file
    for (const f of files.slice(0, 3)) match(f, /^gost-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}\.log\.gz$/);
    const msgs = lines.map((l) => JSON.parse(l).msg as string);
    equal(msgs.at(-1), "all services closed", "the last line written at shutdown is there");
    // the newest files are kept whole: the closing lines of the last requests are all there, in order
    const closes = msgs.filter((m) => / >< 127\.0\.0\.1:/.test(m));
    ok(closes.length >= 5, `${closes.length} close lines`);
    for (const f of files) ok((await Deno.stat(`${dir}/logs/${f}`)).size < 4500 || f === "gost.log", f);
  });
});

Deno.test({
  ...whenWired(
    pendingWiring.serviceLoggers,
    "services write to their logger or loggers (a group: each line to every member at its own level)",
  ),
  fn: async () => {
    await tempDir(async (dir) => {
      const [a, b, c] = [freePort(), freePort(), freePort()];
      const config = {
        loggers: [
          { name: "file-a", log: { level: "info", format: "json", output: `${dir}/a.log` } },
          { name: "errors", log: { level: "warn", format: "text", output: `${dir}/errors.log` } },
        ],
        services: [
          { name: "svc-a", addr: `127.0.0.1:${a}`, handler: { type: "http" }, logger: "file-a" },
          { name: "svc-b", addr: `127.0.0.1:${b}`, handler: { type: "http" }, loggers: ["file-a", "errors"] },
          { name: "svc-c", addr: `127.0.0.1:${c}`, handler: { type: "http" } },
        ],
      };
      await Deno.writeTextFile(`${dir}/gost.json`, JSON.stringify(config));
      const gost = spawnGost(["-C", `${dir}/gost.json`]);
      try {
        await waitListening([a, b, c], gost);
        await requests(a, 1);
        await requests(b, 1);
        await requests(c, 1);
        // a request to a closed port fails to dial: svc-b logs an error line (a client's malformed request would
        // be an info line: client errors are not the server's)
        await curl("-sS", "-x", `http://127.0.0.1:${b}`, `http://127.0.0.1:${freePort()}/`);
        equal((await gost.stop("SIGTERM")).code, 0);
      } finally {
        await gost.stop("SIGKILL");
      }
      const fileA = (await Deno.readTextFile(`${dir}/a.log`)).trimEnd().split("\n").map((l) => JSON.parse(l));
      deepEqual([...new Set(fileA.map((l) => l.service))].sort(), ["svc-a", "svc-b"]);
      ok(fileA.some((l) => l.service === "svc-a" && / <> /.test(l.msg)));
      const errors = (await Deno.readTextFile(`${dir}/errors.log`)).trimEnd().split("\n");
      ok(errors.length >= 1 && errors.every((l) => / level=(warn|error) .*service=svc-b/.test(l)), errors.join("\n"));
      // svc-c has no logger: its connection lines go to the root logger (stderr), not to the files
      const stderr = gost.lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
      ok(stderr.some((l) => l.service === "svc-c" && / <> /.test(l.msg)));
      ok(!stderr.some((l) => l.kind === "service" && (l.service === "svc-a" || l.service === "svc-b")));
    });
  },
});

Deno.test({
  ...whenWired(pendingWiring.serviceLoggers, "a service naming an unknown logger is refused with the path and name"),
  fn: async () => {
    const config = JSON.stringify({
      services: [{ name: "s", addr: `127.0.0.1:${freePort()}`, handler: { type: "http" }, logger: "nope" }],
    });
    const gost = spawnGost(["-C", config]);
    const st = await gost.stop("SIGCONT");
    equal(st.code, 1);
    match(gost.lines.join("\n"), /services\[0\]\.logger.*unknown logger "nope"/);
  },
});
