import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import { ConfigError } from "../../core/errors.ts";
import { backupTime, parseRotation, RotatingFileSink } from "../../core/log_rotate.ts";
import { gunzip, readSet } from "../helpers/logging.ts";

const MB = 1024 * 1024;

/** Lines `prefix-0000 xxxx…` of `size` bytes each, newline included. */
function lines(n: number, size: number, prefix = "line"): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(5, "0")} `.padEnd(size - 1, "x") + "\n");
}

Deno.test("rotating file keeps every line once, in order, in files no bigger than maxSize", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const sink = new RotatingFileSink(`${dir}/gost.log`, { maxSize: 0.01 }); // 10485 bytes
    const all = lines(500, 100);
    for (const l of all) sink.write(l);
    await sink.close();
    const { files: names, text } = await readSet(dir, "gost.log");
    equal(text, all.join(""));
    equal(names.length, 5); // 50,000 bytes in files of at most 104 lines
    for (const n of names) {
      ok((await Deno.stat(`${dir}/${n}`)).size <= 0.01 * MB, n);
      if (n !== "gost.log") match(n, /^gost-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}\.log$/);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rotation keeps maxBackups newest backups and gzips them when compress is set", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const sink = new RotatingFileSink(`${dir}/app.log`, { maxSize: 0.01, maxBackups: 2, compress: true });
    const all = lines(1000, 100);
    for (const l of all) sink.write(l);
    await sink.close(); // waits for the background compression
    const { files: names, text } = await readSet(dir, "app.log");
    equal(names.length, 3, names.join(" "));
    ok(names.slice(0, 2).every((n) => n.endsWith(".log.gz")), names.join(" "));
    ok(all.join("").endsWith(text), "the kept files are the newest lines");
    equal(text.split("\n").length - 1, (await Deno.readTextFile(`${dir}/app.log`)).split("\n").length - 1 + 208);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rotations within one millisecond keep the newest backups, named in order", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const frozen = Date.UTC(2026, 0, 2, 3, 4, 5, 6);
    const sink = new RotatingFileSink(`${dir}/app.log`, { maxSize: 0.001, maxBackups: 3 }, () => {}, () => frozen);
    const all = lines(100, 100); // 10 lines a file: 9 rotations, all at the same clock reading
    for (const l of all) sink.write(l);
    await sink.close();
    const { files: names, text } = await readSet(dir, "app.log");
    deepEqual(names, [
      `app-${backupTime(new Date(frozen + 6), false)}.log`,
      `app-${backupTime(new Date(frozen + 7), false)}.log`,
      `app-${backupTime(new Date(frozen + 8), false)}.log`,
      "app.log",
    ]);
    equal(text, all.slice(60).join(""), "the kept files are the newest lines, in order");
    // a restart in the same millisecond names its first backup after the newest one already there
    const again = new RotatingFileSink(`${dir}/app.log`, { maxSize: 0.001, maxBackups: 3 }, () => {}, () => frozen);
    for (const l of lines(10, 100, "more")) again.write(l);
    await again.close();
    ok((await readSet(dir, "app.log")).files.includes(`app-${backupTime(new Date(frozen + 9), false)}.log`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rotation removes backups older than maxAge days by the time in their names", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const day = 24 * 60 * 60 * 1000;
    const old = `gost-${backupTime(new Date(Date.now() - 10 * day), false)}.log`;
    const oldGz = `gost-${backupTime(new Date(Date.now() - 9 * day), false)}.log.gz`;
    const recent = `gost-${backupTime(new Date(Date.now() - 2 * day), false)}.log`;
    const other = "gost-notes.log"; // not a backup name: never touched
    for (const n of [old, oldGz, recent, other]) await Deno.writeTextFile(`${dir}/${n}`, "x\n");
    const sink = new RotatingFileSink(`${dir}/gost.log`, { maxAge: 7 }); // cleans up on open
    await sink.close();
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    deepEqual(names.sort(), ["gost-notes.log", recent, "gost.log"].sort());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a compression cut short by an exit is redone on the next start, nothing lost", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const name = `gost-${backupTime(new Date(), false)}.log`;
    await Deno.writeTextFile(`${dir}/${name}`, "kept line\n");
    await Deno.writeTextFile(`${dir}/${name}.gz.tmp`, "half a gzip");
    const sink = new RotatingFileSink(`${dir}/gost.log`, { compress: true });
    await sink.close();
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    deepEqual(names.sort(), [`${name}.gz`, "gost.log"].sort());
    equal(await gunzip(`${dir}/${name}.gz`), "kept line\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rotation appends to an existing file and rotates it first when the next line would not fit", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/a`, "x".repeat(10_000) + "\n");
    const sink = new RotatingFileSink(`${dir}/a`, { maxSize: 0.01, localTime: true });
    sink.write("y".repeat(600) + "\n");
    await sink.close();
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    equal(names.length, 2);
    const backup = names.find((n) => n !== "a")!;
    match(backup, /^a-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}$/); // no extension: the time is the suffix
    equal(await Deno.readTextFile(`${dir}/a`), "y".repeat(600) + "\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rotation settings are checked, naming the key and value", () => {
  throws(
    () => parseRotation({ maxSize: -1 }),
    (e) => e instanceof ConfigError && /rotation\.maxSize.*-1/.test(e.message),
  );
  throws(() => parseRotation({ maxBackups: 1.5 }), /rotation\.maxBackups/);
  throws(() => parseRotation({ maxAge: "soon" as unknown as number }), /rotation\.maxAge.*soon/);
  deepEqual(parseRotation({}), {
    maxBytes: 100 * MB,
    maxAgeMs: 0,
    maxBackups: 0,
    localTime: false,
    compress: false,
  });
  equal(parseRotation({ maxSize: "2" as unknown as number }).maxBytes, 2 * MB);
});

Deno.test("backup names use UTC unless localTime", () => {
  const d = new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6));
  equal(backupTime(d, false), "2024-01-02T03-04-05.006");
  const local = backupTime(d, true);
  equal(local.slice(-6), "05.006");
});
