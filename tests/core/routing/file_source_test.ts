/**
 * The `file` + `reload` data source (core/routing/file_source.ts) and the kinds that read it: bypasses, admissions
 * and hosts (core/routing/file_lists.ts) and a hop's JSON node file (core/config/node_file.ts), built through the
 * live object table as a config or the API builds them.
 */
import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { FileSource, MIN_RELOAD_MS, parseLines, sourceLines } from "../../../core/routing/file_source.ts";
import { FileAdmission, FileBypass, FileHosts, parseHostsLine } from "../../../core/routing/file_lists.ts";
import { elementLines, parseNodeList } from "../../../core/config/node_file.ts";
import { Logger, MemorySink, nopLogger } from "../../../core/log.ts";
import { installObject, readsFiles, uninstallObject } from "../../../core/runtime/objects.ts";
import { ConfigError } from "../../../core/errors.ts";
import { createBuiltinRegistries } from "../../../mod.ts";
import type { Hop } from "../../../core/routing/chain.ts";
import { Runtime } from "../../../core/runtime/runtime.ts";
import { until } from "../../helpers/wait.ts";
import { tempDir } from "../../helpers/process.ts";

function memLogger(): { logger: Logger; lines: () => string[] } {
  const mem = new MemorySink();
  return { logger: new Logger(mem, "info"), lines: () => mem.lines.map((l) => String(JSON.parse(l).msg)) };
}

Deno.test("GOST's line format: one entry a line, # comments anywhere (or only leading), blank lines skipped", async () => {
  deepEqual(sourceLines("# lan\n10.0.0.0/8  # office\r\n\n\t.example.com\t\n  #x\n"), [
    { line: 2, text: "10.0.0.0/8" },
    { line: 4, text: ".example.com" },
  ]);
  deepEqual(sourceLines("alice pa#ss\n # c\n", false), [{ line: 1, text: "alice pa#ss" }]);
  deepEqual(
    await parseLines("a\nbad\nc", (t) => {
      if (t === "bad") throw new Error("no");
      return t;
    }),
    { entries: ["a", "c"], problems: [{ line: 2, message: "no" }] },
  );
});

Deno.test("a file bypass: listed targets bypassed, edits picked up, bad lines warned as file:line, deletion keeps the set", async () => {
  await tempDir(async (dir) => {
    const path = `${dir}/bypass.txt`;
    await Deno.writeTextFile(path, "# blocked\nblocked.test\n10.0.0.0/8\n");
    const { logger, lines } = memLogger();
    const b = await FileBypass.open({ name: "b", path, reloadMs: 0, logger }, { matchers: ["inline.test"] });
    try {
      equal(b.contains("tcp", "blocked.test:80"), true);
      equal(b.contains("tcp", "10.1.2.3:443"), true);
      equal(b.contains("tcp", "inline.test:80"), true, "inline matchers are merged");
      equal(b.contains("tcp", "other.test:80"), false);
      equal(b.size, 3);
      equal(await b.reload(), false, "unchanged: nothing to do");

      await Deno.writeTextFile(path, "other.test\nbad pattern here\n*.wild.test\n");
      equal(await b.reload(), true);
      equal(b.contains("tcp", "blocked.test:80"), false, "a removed line no longer acts");
      equal(b.contains("tcp", "other.test:80"), true);
      equal(b.contains("tcp", "a.wild.test:80"), true);
      equal(b.contains("tcp", "inline.test:80"), true);
      ok(
        lines().some((l) => l.startsWith(`bypass b: bypass file ${path}:2: Invalid matcher "bad pattern here"`)),
        lines().join("\n"),
      );
      ok(lines().some((l) => l === `bypass b: reloaded ${path}: 3 matcher(s)`), lines().join("\n"));

      await Deno.remove(path);
      equal(await b.reload(), false);
      equal(await b.reload(), false);
      equal(b.contains("tcp", "other.test:80"), true, "the last good set stays");
      const unreadable = lines().filter((l) => l.startsWith(`bypass b: reload ${path}:`));
      equal(unreadable.length, 1, "warned once, not at every period");
      match(unreadable[0], /keeping the last 3 matcher\(s\)/);
    } finally {
      b.close();
    }
  });
});

Deno.test("a whitelist file bypass with a network keeps both; the period re-reads the file by itself (at least 1 s)", async () => {
  await tempDir(async (dir) => {
    const path = `${dir}/bypass.txt`;
    await Deno.writeTextFile(path, "allowed.test\n");
    const b = await FileBypass.open({ name: "w", path, reloadMs: 10, logger: nopLogger }, {
      whitelist: true,
      network: "tcp",
      matchers: [],
    });
    try {
      equal(b.whitelist, true);
      equal(b.network, "tcp");
      equal(b.contains("tcp", "allowed.test:80"), false);
      equal(b.contains("tcp", "later.test:80"), true);
      equal(b.contains("udp", "later.test:80"), false, "another network is never bypassed");
      await Deno.writeTextFile(path, "allowed.test\nlater.test\n");
      await until(() => !b.contains("tcp", "later.test:80"), "the periodic reload", 5_000);
    } finally {
      b.close();
    }
  });
});

Deno.test("the reload period is at least 1 s and a source that fails to open names the problem", async () => {
  await tempDir(async (dir) => {
    const path = `${dir}/f`;
    await Deno.writeTextFile(path, "x\n");
    const src = FileSource.openSync({
      owner: "t",
      kind: "t",
      path,
      unit: "x",
      reloadMs: 5,
      logger: nopLogger,
      parse: (text) => ({ value: text, count: 1, problems: [] }),
    });
    equal(src.periodMs, MIN_RELOAD_MS);
    src.close();
    await rejects(
      () => FileBypass.open({ name: "b", path: `${dir}/none`, reloadMs: 0, logger: nopLogger }, { matchers: [] }),
      /No such file|not found/i,
    );
  });
});

Deno.test("a file admission: IPs, CIDRs and host names (resolved at each change); a name that does not resolve is a bad line", async () => {
  await tempDir(async (dir) => {
    const path = `${dir}/clients.txt`;
    await Deno.writeTextFile(path, "10.0.0.0/8\ngw.test\nnowhere.test\n");
    const { logger, lines } = memLogger();
    const names: Record<string, string[]> = { "gw.test": ["192.168.1.1"] };
    const resolve = (h: string) => names[h] ? Promise.resolve(names[h]) : Promise.reject(new Error("NXDOMAIN"));
    const a = await FileAdmission.open({ name: "a", path, reloadMs: 0, logger }, { matchers: ["172.16.0.1"], resolve });
    try {
      equal(a.admit("10.1.2.3:4000"), false, "a blacklist denies a listed client");
      equal(a.admit("192.168.1.1:4000"), false, "a host name matches the IPs it resolves to");
      equal(a.admit("172.16.0.1:4000"), false, "inline matchers are merged");
      equal(a.admit("127.0.0.1:4000"), true);
      ok(
        lines().some((l) =>
          l.startsWith(`admission a: admission file ${path}:3: Cannot resolve admission matcher "nowhere.test"`)
        ),
        lines().join("\n"),
      );
      names["gw.test"] = ["192.168.1.2"];
      await Deno.writeTextFile(path, "gw.test\nexample.test:80\n");
      equal(await a.reload(), true);
      equal(a.admit("192.168.1.1:4000"), true);
      equal(a.admit("192.168.1.2:4000"), false, "re-resolved at the change");
      equal(a.admit("10.1.2.3:4000"), true);
      ok(
        lines().some((l) => l.startsWith(`admission a: admission file ${path}:2: Invalid admission matcher`)),
        lines().join("\n"),
      );
    } finally {
      a.close();
    }
  });
});

Deno.test("a file hosts table: IP hostname [aliases...] lines, merged with inline mappings", async () => {
  deepEqual(parseHostsLine("127.0.0.1 origin.test  www.origin.test"), {
    ip: "127.0.0.1",
    hostname: "origin.test",
    aliases: ["www.origin.test"],
  });
  await tempDir(async (dir) => {
    const path = `${dir}/hosts`;
    await Deno.writeTextFile(
      path,
      "127.0.0.1\torigin.test www.origin.test # local\n::1 six.test\nnot-an-ip x.test\nlonely\n",
    );
    const { logger, lines } = memLogger();
    const h = await FileHosts.open({ name: "h", path, reloadMs: 0, logger }, [{
      ip: "10.0.0.9",
      hostname: "inline.test",
    }]);
    try {
      deepEqual(h.lookup("ip", "www.origin.test"), ["127.0.0.1"]);
      deepEqual(h.lookup("ip6", "six.test"), ["::1"]);
      deepEqual(h.lookup("ip", "inline.test"), ["10.0.0.9"]);
      deepEqual(h.lookup("ip", "x.test"), []);
      ok(lines().some((l) => l === `hosts h: hosts file ${path}:3: invalid IP "not-an-ip"`), lines().join("\n"));
      ok(lines().some((l) => l.startsWith(`hosts h: hosts file ${path}:4: expected "IP hostname [aliases...]"`)));
      await Deno.writeTextFile(path, "127.0.0.2 origin.test\n");
      equal(await h.reload(), true);
      deepEqual(h.lookup("ip", "origin.test"), ["127.0.0.2"]);
      deepEqual(h.lookup("ip", "www.origin.test"), []);
    } finally {
      h.close();
    }
  });
});

Deno.test("a node file is a JSON list of node configs; each element's line is known for warnings", () => {
  deepEqual(elementLines('[\n {"addr": ":1", "x": "[,]"},\n\n  {"addr": ":2"}, null\n]'), [2, 4, 4]);
  deepEqual(elementLines("[]"), []);
  const { entries, problems } = parseNodeList('[\n{"name": "a", "addr": "127.0.0.1:1"},\n{"name": "b"},\n5\n]');
  deepEqual(entries.map((e) => [e.cfg.name, e.line]), [["a", 2]]);
  deepEqual(problems, [
    { line: 3, message: "node 1: addr is required" },
    { line: 4, message: "node 2: expected a node config object, got 5" },
  ]);
});

Deno.test("live objects: file + reload build reloading bypasses, admissions, hosts and hops; they are closed when removed", async () => {
  await tempDir(async (dir) => {
    const reg = createBuiltinRegistries();
    const fail = (p: readonly (string | number)[], m: string) => new ConfigError(`${p.join(".")}: ${m}`);
    const ctx = { reg, logger: nopLogger, hopConfig: () => undefined, fail };
    await Deno.writeTextFile(`${dir}/b`, "blocked.test\n");
    await Deno.writeTextFile(`${dir}/h`, "127.0.0.1 origin.test\n");
    await Deno.writeTextFile(`${dir}/n.json`, '[{"name": "fn", "addr": "127.0.0.1:1", "connector": {"type": "http"}}]');
    await installObject("bypasses", { name: "b", file: { path: `${dir}/b` }, reload: "1s" }, ctx);
    await installObject("admissions", { name: "a", file: { path: `${dir}/b` } }, ctx);
    await installObject("hosts", { name: "h", file: { path: `${dir}/h` }, reload: 1 }, ctx);
    await installObject("hops", { name: "hp", file: { path: `${dir}/n.json` }, reload: "1s" }, ctx);
    const bypass = reg.bypasses.get("b") as FileBypass;
    try {
      equal(bypass.contains("tcp", "blocked.test:80"), true);
      deepEqual(reg.hosts.get("h")!.lookup("ip", "origin.test"), ["127.0.0.1"]);
      const hop = reg.hops.get("hp") as Hop;
      deepEqual(hop.group.nodes.map((n) => n.name), ["fn"]);
      ok(readsFiles("bypasses", { name: "b", file: { path: "x" } }));
      ok(readsFiles("hops", { name: "h", file: { path: "x" } }));
      ok(!readsFiles("bypasses", { name: "b", matchers: [] }));
      await rejects(
        () => installObject("bypasses", { name: "x", file: { path: `${dir}/none` } }, ctx),
        /bypasses\.x\.file\.path: cannot read the file/,
      );
      await rejects(() => installObject("bypasses", { name: "x", file: {} }, ctx), /bypasses\.x\.file\.path: the path/);
      await rejects(
        () => installObject("hosts", { name: "x", file: { path: `${dir}/h` }, reload: "10x" }, ctx),
        /hosts\.x\.reload: Cannot parse/,
      );
      await rejects(
        () => installObject("bypasses", { name: "x", redis: { addr: "127.0.0.1:6379" } }, ctx),
        /the redis source of bypasses is not supported/,
      );
      await rejects(() => installObject("hops", { name: "x", file: { path: `${dir}/b` } }, ctx), /not a JSON list/);
    } finally {
      for (const [k, n] of [["bypasses", "b"], ["admissions", "a"], ["hosts", "h"], ["hops", "hp"]] as const) {
        uninstallObject(k, n, reg);
      }
    }
    await Deno.writeTextFile(`${dir}/b`, "other.test\n");
    equal(await bypass.reload(), false, "removing the object closed its source");
  });
});

Deno.test("a 100,000-entry bypass file reloads (time printed) and its lookups stay fast", async () => {
  await tempDir(async (dir) => {
    const path = `${dir}/big.txt`;
    const gen = (tag: string) =>
      Array.from(
        { length: 100_000 },
        (_, i) => i % 2 ? `host${i}.${tag}.test` : `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      )
        .join("\n");
    await Deno.writeTextFile(path, gen("a"));
    const t0 = performance.now();
    const b = await FileBypass.open({ name: "big", path, reloadMs: 0, logger: nopLogger }, { matchers: [] });
    const openMs = performance.now() - t0;
    try {
      equal(b.size, 100_000);
      await Deno.writeTextFile(path, gen("b"));
      const t1 = performance.now();
      equal(await b.reload(), true);
      const reloadMs = performance.now() - t1;
      console.log(`100k-entry bypass file: open ${openMs.toFixed(0)} ms, reload ${reloadMs.toFixed(0)} ms`);
      equal(b.contains("tcp", "host99999.b.test:443"), true);
      equal(b.contains("tcp", "host99999.a.test:443"), false);
      equal(b.contains("tcp", "10.1.134.158:80"), true);
    } finally {
      b.close();
    }
  });
});

Deno.test("a reload of a large file (parsed and built in turns) answers from the old set until the new one is swapped in", async () => {
  await tempDir(async (dir) => {
    const n = 60_000;
    const lines = (f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i)).join("\n") + "\n";
    const ip = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    const opts = (name: string) => ({ name, path: `${dir}/${name}.txt`, reloadMs: 0, logger: nopLogger });
    const cases: {
      name: string;
      text: (tag: string) => string;
      open: () => Promise<{ reload(): Promise<boolean>; close(): void }>;
      sees: (tag: string) => boolean;
    }[] = [];
    const b = { current: undefined as FileBypass | undefined };
    const a = { current: undefined as FileAdmission | undefined };
    const h = { current: undefined as FileHosts | undefined };
    cases.push({
      name: "bypass",
      text: (tag) => lines((i) => `host${i}.${tag}.test`),
      open: async () => b.current = await FileBypass.open(opts("bypass"), { matchers: [] }),
      sees: (tag) => b.current!.contains("tcp", `host${n - 1}.${tag}.test:443`),
    });
    cases.push({
      name: "admission",
      // the old file lists 10.x addresses, the new one 11.x: a blacklist denies the listed ones
      text: (tag) => lines((i) => tag === "a" ? ip(i) : ip(i).replace(/^10\./, "11.")),
      open: async () => a.current = await FileAdmission.open(opts("admission"), { matchers: [] }),
      sees: (tag) => !a.current!.admit(`${tag === "a" ? "10" : "11"}.0.0.1:40000`),
    });
    cases.push({
      name: "hosts",
      text: (tag) => lines((i) => `${ip(i)} host${i}.${tag}.test`),
      open: async () => h.current = await FileHosts.open(opts("hosts"), []),
      sees: (tag) => h.current!.lookup("ip", `host${n - 1}.${tag}.test`).length === 1,
    });
    for (const c of cases) {
      await Deno.writeTextFile(`${dir}/${c.name}.txt`, c.text("a"));
      const src = await c.open();
      try {
        ok(c.sees("a") && !c.sees("b"), `${c.name}: the first file is the set`);
        await Deno.writeTextFile(`${dir}/${c.name}.txt`, c.text("b"));
        let done = false, between = 0, old = 0;
        const reloading = src.reload().finally(() => done = true);
        // a second reload while one runs shares it: the file is read and built once
        equal(src.reload(), src.reload());
        // lookups made while the reload yields to the event loop: every one sees the old set, none a partial one
        for (let i = 0; i < 10_000 && !done; i++) {
          await new Promise((r) => setTimeout(r, 0));
          if (done) break;
          between++;
          if (c.sees("a") && !c.sees("b")) old++;
        }
        equal(await reloading, true);
        ok(between > 0, `${c.name}: the reload let the event loop run`);
        equal(old, between, `${c.name}: ${between - old} lookup(s) during the reload did not see the old set`);
        ok(c.sees("b") && !c.sees("a"), `${c.name}: the new set is swapped in once the reload resolves`);
      } finally {
        src.close();
      }
    }
  });
});

Deno.test("a config reload re-reads a hop's node file, for the hop and for the chains that name it", async () => {
  await tempDir(async (dir) => {
    const nodes = `${dir}/nodes.json`;
    const node = (name: string) => JSON.stringify([{ name, addr: "127.0.0.1:1", connector: { type: "http" } }]);
    await Deno.writeTextFile(nodes, node("n1"));
    const config = {
      chains: [{ name: "c", hops: [{ name: "h" }] }],
      hops: [{ name: "h", file: { path: nodes } }],
    };
    const reg = createBuiltinRegistries();
    const rt = await Runtime.start(config, { reg, logger: nopLogger, configFile: `${dir}/gost.yaml` });
    const names = () => ({
      hop: (reg.hops.get("h") as Hop).group.nodes.map((n) => n.name),
      chain: reg.chains.get("c")!.hops[0].group.nodes.map((n) => n.name),
    });
    try {
      deepEqual(names(), { hop: ["n1"], chain: ["n1"] });
      await Deno.writeTextFile(nodes, node("n2"));
      await rt.reload(config);
      deepEqual(names(), { hop: ["n2"], chain: ["n2"] }, "no reload period: the config reload re-reads the file");
    } finally {
      await rt.close();
    }
  });
});

Deno.test("a chain's own hop may read a node file (merged after its inline nodes); closing the chain stops the timer", async () => {
  await tempDir(async (dir) => {
    const path = `${dir}/nodes.json`;
    await Deno.writeTextFile(path, '[{"name": "f1", "addr": "127.0.0.1:2"}]');
    const reg = createBuiltinRegistries();
    const fail = (p: readonly (string | number)[], m: string) => new ConfigError(`${p.join(".")}: ${m}`);
    const ctx = { reg, logger: nopLogger, hopConfig: () => undefined, fail };
    const hop = { name: "own", nodes: [{ name: "i1", addr: "127.0.0.1:1" }], file: { path }, reload: "1s" };
    await installObject("chains", { name: "c", hops: [hop] }, ctx);
    try {
      const chain = reg.chains.get("c")!;
      deepEqual(chain.hops[0].group.nodes.map((n) => n.name), ["i1", "f1"]);
      equal(chain.fixedPath, undefined, "a hop whose nodes may change has no fixed path");
      ok(readsFiles("chains", { name: "c", hops: [hop] }));
      const source = chain.hops[0].source as FileSource<unknown>;
      await Deno.writeTextFile(path, '[{"name": "f2", "addr": "127.0.0.1:3"}]');
      equal(await source.reload(), true);
      deepEqual(chain.hops[0].group.nodes.map((n) => n.name), ["i1", "f2"]);
      uninstallObject("chains", "c", reg);
      await Deno.writeTextFile(path, '[{"name": "f3", "addr": "127.0.0.1:4"}]');
      equal(await source.reload(), false, "closed with the chain");
    } finally {
      uninstallObject("chains", "c", reg);
    }
  });
});
