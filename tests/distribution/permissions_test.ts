/**
 * Least privilege (docs/permissions.md): the narrowest `deno run` flags of each common setup are enough, and a
 * missing one stops gost.ts with one line naming the flag to add: no stack trace.
 */
import { equal, match, ok } from "node:assert/strict";
import { missingPermission, permissionMessage } from "../../core/permissions.ts";
import { freePort } from "../helpers/gost.ts";
import { curl } from "../helpers/run.ts";
import {
  namedOrigin,
  pendingWiring,
  portFree,
  spawnGost,
  tempDir,
  waitListening,
  waitUntil,
  whenWired,
} from "../helpers/process.ts";

/** What gost.ts reads from the environment today: GOST's overrides, and the YAML parser's debug switches. */
const ENV = "--allow-env=GOST_API,GOST_METRICS,GOST_LOGGER_LEVEL";
const ENV_CONFIG = `${ENV},LOG_TOKENS,LOG_STREAM`;

/** Runs gost.ts with exactly `flags` and checks that it serves a proxied request, then stops with 0. */
async function serves(flags: string[], args: string[], port: number): Promise<string[]> {
  const origin = namedOrigin("allowed");
  const gost = spawnGost(args, { flags });
  try {
    await waitListening([port], gost);
    const r = await curl("-sS", "-x", `http://127.0.0.1:${port}`, `http://127.0.0.1:${origin.port}/`);
    equal(r.stdout, "allowed", r.stderr);
    equal((await gost.stop("SIGTERM")).code, 0, gost.lines.join("\n"));
    ok(portFree(port));
    return gost.lines;
  } finally {
    await gost.stop("SIGKILL");
    await origin.close();
  }
}

/** Runs gost.ts with `flags`, expecting exit 1 with one line that names `flag`. */
async function refused(flags: string[], args: string[], flag: RegExp): Promise<string> {
  const gost = spawnGost(args, { flags });
  const st = await gost.stop("SIGCONT"); // just wait
  const lines = gost.lines.filter((l) => l.trim());
  equal(st.code, 1, lines.join("\n"));
  const last = lines.at(-1) ?? "";
  match(last, /^gost: /);
  match(last, flag);
  ok(!lines.some((l) => /^\s+at /.test(l)), `no stack trace:\n${lines.join("\n")}`);
  // the only other lines allowed are log lines from before the failure
  ok(lines.slice(0, -1).every((l) => l.startsWith("{")), lines.join("\n"));
  return last;
}

Deno.test("a proxy from -L flags runs with --allow-net and GOST's environment variables only", async () => {
  const port = freePort();
  await serves(["--allow-net", ENV], ["-L", `http://127.0.0.1:${port}`], port);
});

Deno.test({
  ...whenWired(pendingWiring.optionalEnv, "a proxy needs --allow-net only; a config file adds --allow-read only"),
  fn: async () => {
    const port = freePort();
    await serves(["--allow-net"], ["-L", `http://127.0.0.1:${port}`], port);
    await tempDir(async (dir) => {
      await Deno.writeTextFile(
        `${dir}/gost.yaml`,
        `services: [{name: w, addr: "127.0.0.1:${port}", handler: {type: http}}]\n`,
      );
      await serves(["--allow-net", `--allow-read=${dir}`], ["-C", `${dir}/gost.yaml`], port);
    });
  },
});

Deno.test("a config file needs --allow-read on its directory; a rotated log file --allow-write and --allow-read on its", async () => {
  await tempDir(async (dir) => {
    const port = freePort();
    await Deno.mkdir(`${dir}/etc`);
    const log = `${dir}/log`;
    await Deno.writeTextFile(
      `${dir}/etc/gost.yaml`,
      `services: [{name: web, addr: "127.0.0.1:${port}", handler: {type: http}}]\n` +
        `log: {output: ${log}/gost.log, rotation: {maxSize: 1, maxBackups: 2}}\n`,
    );
    const flags = ["--allow-net", ENV_CONFIG, `--allow-read=${dir}/etc,${log}`, `--allow-write=${log}`];
    await serves(flags, ["-C", `${dir}/etc/gost.yaml`], port);
    const text = await Deno.readTextFile(`${log}/gost.log`);
    match(text, /"msg":"service web is listening on/);
    match(text.trimEnd().split("\n").at(-1)!, /all services closed/, "the last line is in the file");
  });
});

Deno.test("hooks need --allow-run; without it they are skipped with a warning naming the flag", async () => {
  await tempDir(async (dir) => {
    const port = freePort();
    const cfg = (run: boolean) =>
      JSON.stringify({
        services: [{
          name: "h",
          addr: `127.0.0.1:${port}`,
          handler: { type: "http" },
          metadata: { postUp: [`touch ${dir}/${run ? "ran" : "not"}`] },
        }],
      });
    await Deno.writeTextFile(`${dir}/with.json`, cfg(true));
    await Deno.writeTextFile(`${dir}/without.json`, cfg(false));
    const base = ["--allow-net", ENV_CONFIG, `--allow-read=${dir}`];
    await serves([...base, "--allow-run=touch"], ["-C", `${dir}/with.json`], port);
    await Deno.stat(`${dir}/ran`);
    const lines = await serves(base, ["-C", `${dir}/without.json`], port);
    const warn = lines.find((l) => /\[post-up\]/.test(l) && /not run/.test(l));
    ok(warn, lines.join("\n"));
    match(JSON.parse(warn).msg, /hooks need deno's --allow-run permission$/);
    equal(JSON.parse(warn).level, "warn");
  });
});

Deno.test("a missing permission stops gost.ts with one line naming the flag, never a stack trace", async (t) => {
  await tempDir(async (dir) => {
    const port = freePort();
    const L = ["-L", `http://127.0.0.1:${port}`];
    await Deno.writeTextFile(
      `${dir}/gost.yaml`,
      `services: [{name: w, addr: "127.0.0.1:${port}", handler: {type: http}}]\n`,
    );
    await t.step("no permissions at all", async () => {
      await refused([], L, /run deno with --allow-(env|net)/);
    });
    await t.step("listening needs --allow-net", async () => {
      await refused([ENV], L, /--allow-net/);
    });
    await t.step("-C needs --allow-read", async () => {
      await refused(["--allow-net", ENV_CONFIG], ["-C", `${dir}/gost.yaml`], /--allow-read/);
    });
    await t.step("-- groups need --allow-run", async () => {
      await refused(["--allow-net", ENV], [...L, "--", "-L", `http://127.0.0.1:${freePort()}`], /--allow-run/);
    });
    await t.step("a log file needs --allow-write", async () => {
      const cfg = JSON.stringify({ log: { output: `${dir}/logs/gost.log` } });
      await refused(["--allow-net", ENV_CONFIG], [...L, "-C", cfg], /--allow-write/);
    });
    await t.step("a rotated log file also needs --allow-read", async () => {
      const cfg = JSON.stringify({ log: { output: `${dir}/rot/gost.log`, rotation: { maxSize: 1 } } });
      await refused(["--allow-net", ENV_CONFIG, `--allow-write=${dir}/rot`], [...L, "-C", cfg], /--allow-read/);
    });
    await waitUntil(() => portFree(port), "the port to be free", 2000);
  });
});

Deno.test("permission messages name the flag, and its narrow form when the target is known", () => {
  const net = new Deno.errors.NotCapable(
    'Requires net access to "0.0.0.0:8080", run again with the --allow-net flag',
  );
  equal(
    permissionMessage(net),
    'gost: missing permission: net access to "0.0.0.0:8080"; run deno with --allow-net (or --allow-net=0.0.0.0:8080)',
  );
  const wrapped = new Error("Cannot read config: x", { cause: new Error('Requires read access to "/etc/gost/a b"') });
  equal(
    permissionMessage(wrapped),
    'gost: missing permission: read access to "/etc/gost/a b"; run deno with --allow-read',
  );
  equal(missingPermission(new Error("Requires run access"))?.name, "run");
  equal(permissionMessage(new Error("connection refused")), undefined);
});
