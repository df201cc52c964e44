/**
 * The ways to ship and run gost.ts: `-V`, the bundle offline (also with `--` groups), `deno run <URL>/main.ts`
 * with an empty Deno cache and no import map, and the compiled binary where its runtime can be downloaded.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { VERSION, versionLine } from "../../core/version.ts";
import { freePort, runGost } from "../helpers/gost.ts";
import { curl } from "../helpers/run.ts";
import {
  alive,
  childPids,
  namedOrigin,
  portFree,
  procArgv,
  ROOT,
  spawnProc,
  tempDir,
  waitListening,
  waitUntil,
} from "../helpers/process.ts";
import { buildBundle, runTaskTo, staticServer } from "./util.ts";

const VERSION_LINE =
  /^gost\.ts (\d+\.\d+\.\d+\S*) \(deno \d+\.\d+\.\d+\S* (linux|darwin|windows|\w+)\/(x86_64|aarch64)\)$/;

/** Starts a gost command that serves HTTP proxy on `port`, checks a request through it, stops it with SIGTERM. */
async function servesAndStops(cmd: string, args: string[], port: number, env: Record<string, string>, cwd: string) {
  const origin = namedOrigin("through gost");
  const gost = spawnProc(cmd, args, { env, cwd });
  try {
    await waitListening([port], gost, 60_000);
    const r = await curl("-sS", "-x", `http://127.0.0.1:${port}`, `http://127.0.0.1:${origin.port}/`);
    equal(r.stdout, "through gost", r.stderr);
    equal((await gost.stop("SIGTERM")).code, 0, gost.lines.join("\n"));
    ok(portFree(port));
  } finally {
    await gost.stop("SIGKILL");
    await origin.close();
  }
}

Deno.test("-V prints the version, the Deno version and os/arch, like GOST's -V", async () => {
  const r = await runGost(["-V"]);
  equal(r.code, 0);
  const m = VERSION_LINE.exec(r.stdout.trim());
  ok(m, r.stdout);
  equal(m[1], VERSION);
  equal(r.stdout.trim(), versionLine());
  match(r.stdout, new RegExp(`deno ${Deno.version.deno.replace(/\./g, "\\.")} ${Deno.build.os}/${Deno.build.arch}`));
  equal(VERSION, JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).version, "version.ts matches deno.json");
});

Deno.test("deno task bundle: gost.js and its chunks run offline with an empty Deno cache, -- groups included", async () => {
  await tempDir(async (dir) => {
    const bundle = await buildBundle(dir);
    await Deno.mkdir(`${dir}/deno-dir`);
    await Deno.mkdir(`${dir}/cwd`); // no deno.json around: the bundle stands alone
    const env = { DENO_DIR: `${dir}/deno-dir`, DENO_NO_UPDATE_CHECK: "1" };
    const flags = ["run", "--cached-only", "-A", "--unstable-net", bundle];
    const v = await new Deno.Command(Deno.execPath(), { args: [...flags, "-V"], env, cwd: `${dir}/cwd` }).output();
    equal(new TextDecoder().decode(v.stdout).trim(), versionLine(), new TextDecoder().decode(v.stderr));

    const port = freePort();
    await servesAndStops(Deno.execPath(), [...flags, "-L", `http://127.0.0.1:${port}`], port, env, `${dir}/cwd`);

    // -- from the bundle: the children run the bundle with the parent's flags
    const [a, b] = [freePort(), freePort()];
    const gost = spawnProc(Deno.execPath(), [
      ...flags,
      "-L",
      `http://127.0.0.1:${a}`,
      "--",
      "-L",
      `http://127.0.0.1:${b}`,
    ], {
      env,
      cwd: `${dir}/cwd`,
    });
    try {
      await waitListening([a, b], gost);
      const kids = childPids(gost.pid);
      equal(kids.length, 2);
      for (const k of kids) deepEqual(procArgv(k).slice(1, 6), flags.slice(0, 4).concat(`file://${bundle}`));
      equal((await gost.stop("SIGTERM")).code, 0);
      await waitUntil(() => kids.every((k) => !alive(k)), "children to exit", 5000);
      ok(portFree(a) && portFree(b));
    } finally {
      await gost.stop("SIGKILL");
    }
  });
});

Deno.test("the bundle loads its chunks on demand with --allow-net alone: a socks5 service, the Web API, its dashboard", async () => {
  await tempDir(async (dir) => {
    const bundle = await buildBundle(dir);
    const chunks = [...Deno.readDirSync(`${dir}/chunks`)].map((e) => e.name);
    ok(chunks.length > 10 && chunks.every((n) => n.endsWith(".js")), chunks.join(" "));
    const entry = await Deno.readTextFile(bundle);
    ok(!entry.includes("node:module"), "nothing loads node:module at start-up");
    const [port, api] = [freePort(), freePort()];
    const origin = namedOrigin("lazily loaded");
    const gost = spawnProc(Deno.execPath(), [
      "run",
      "--cached-only",
      "--unstable-net",
      "--allow-net",
      bundle,
      "-L",
      `socks5://127.0.0.1:${port}`,
      "-api",
      `127.0.0.1:${api}`,
    ], { cwd: dir });
    try {
      await waitListening([port, api], gost);
      const r = await curl("-sS", "--socks5-hostname", `127.0.0.1:${port}`, `http://127.0.0.1:${origin.port}/`);
      equal(r.stdout, "lazily loaded", r.stderr);
      const cfg = await curl("-sS", `http://127.0.0.1:${api}/config`);
      equal(JSON.parse(cfg.stdout).services[0].handler.type, "socks5", cfg.stderr);
      const page = await curl("-sS", "-o", "/dev/null", "-w", "%{http_code}", `http://127.0.0.1:${api}/`);
      equal(page.stdout, "200", page.stderr);
      equal((await gost.stop("SIGTERM")).code, 0, gost.lines.join("\n"));
    } finally {
      await gost.stop("SIGKILL");
      await origin.close();
    }
  });
});

Deno.test("deno run <URL>/main.ts works with an empty DENO_DIR and no deno.json (no import map), -- groups included", async () => {
  await tempDir(async (dir) => {
    const server = staticServer(ROOT.replace(/\/$/, ""));
    try {
      await Deno.mkdir(`${dir}/deno-dir`);
      const env = { DENO_DIR: `${dir}/deno-dir`, DENO_NO_UPDATE_CHECK: "1" };
      const main = `${server.url}/main.ts`;
      const v = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--unstable-net", main, "-V"],
        env,
        cwd: dir,
      }).output();
      const err = new TextDecoder().decode(v.stderr);
      equal(v.code, 0, err);
      equal(new TextDecoder().decode(v.stdout).trim(), versionLine(), err);
      ok(server.requests() > 10, "the modules came from the URL");
      const port = freePort();
      await servesAndStops(
        Deno.execPath(),
        ["run", "-A", "--unstable-net", main, "-L", `http://127.0.0.1:${port}`],
        port,
        env,
        dir,
      );
      // -- from the URL: the children run the same URL with the parent's flags
      const [a, b] = [freePort(), freePort()];
      const args = [
        "run",
        "-A",
        "--unstable-net",
        main,
        "-L",
        `http://127.0.0.1:${a}`,
        "--",
        "-L",
        `http://127.0.0.1:${b}`,
      ];
      const gost = spawnProc(Deno.execPath(), args, { env, cwd: dir });
      try {
        await waitListening([a, b], gost);
        const kids = childPids(gost.pid);
        equal(kids.length, 2);
        for (const k of kids) deepEqual(procArgv(k).slice(1, 5), args.slice(0, 4));
        equal((await gost.stop("SIGTERM")).code, 0);
        await waitUntil(() => kids.every((k) => !alive(k)), "children to exit", 5000);
      } finally {
        await gost.stop("SIGKILL");
      }
    } finally {
      await server.close();
    }
  });
});

Deno.test("deno task compile: a single binary (skipped with the reason when Deno's runtime cannot be downloaded)", async () => {
  await tempDir(async (dir) => {
    const bin = `${dir}/gost`;
    const r = await runTaskTo("compile", "dist/gost", bin);
    if (r.code !== 0) {
      const reason = /dl\.deno\.land|denort|error sending request|dns error|Connect/i.test(r.output);
      ok(reason, `compile failed for another reason than the runtime download:\n${r.output}`);
      const line = r.output.split("\n").find((l) => /error sending request|dns error/.test(l)) ?? "download failed";
      console.log(`skipped: deno compile cannot download its runtime here (${line.trim()})`);
      return;
    }
    const v = await new Deno.Command(bin, { args: ["-V"] }).output();
    equal(new TextDecoder().decode(v.stdout).trim(), versionLine());
    const port = freePort();
    await servesAndStops(bin, ["-L", `http://127.0.0.1:${port}`], port, {}, dir);
    const [a, b] = [freePort(), freePort()];
    const gost = spawnProc(bin, ["-L", `http://127.0.0.1:${a}`, "--", "-L", `http://127.0.0.1:${b}`], { cwd: dir });
    try {
      await waitListening([a, b], gost);
      for (const k of childPids(gost.pid)) deepEqual(procArgv(k)[0], bin);
      equal((await gost.stop("SIGTERM")).code, 0);
    } finally {
      await gost.stop("SIGKILL");
    }
  });
});
