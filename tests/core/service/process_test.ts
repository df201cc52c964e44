/**
 * `--` process groups seen from the outside: the children in /proc (command line, `_GOST_ID`), both serving,
 * a chain per group, signals, a crashing child, empty groups, and no orphan or port left in any case.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { createBuiltinRegistries } from "../../../mod.ts";
import { freePort } from "../../helpers/gost.ts";
import { curl } from "../../helpers/run.ts";
import { eventually } from "../../helpers/wait.ts";
import {
  alive,
  childPids,
  MAIN,
  namedOrigin,
  portFree,
  procArgv,
  procEnv,
  spawnGost,
  waitListening,
  waitUntil,
} from "../../helpers/process.ts";

/**
 * How long the SIGHUP test waits for a reload before it sends SIGHUP again (a child drops one that comes before it
 * handles SIGHUP); a reload of an unchanged config takes a few ms, so a second SIGHUP is rare even on a slow machine.
 */
const HUP_RESEND_MS = 1000;

/** Waits until the parent has `n` children and returns their pids in group order (by `_GOST_ID`). */
async function groupChildren(parent: number, n: number): Promise<number[]> {
  await waitUntil(() => childPids(parent).length === n, `${n} children of ${parent}`);
  return childPids(parent).sort((a, b) => Number(procEnv(a)._GOST_ID) - Number(procEnv(b)._GOST_ID));
}

async function noneLeft(pids: number[], ports: number[], timeoutMs = 5000): Promise<void> {
  await waitUntil(() => pids.every((p) => !alive(p)), `processes ${pids.join(", ")} to exit`, timeoutMs);
  for (const p of ports) ok(portFree(p), `port ${p} is free`);
}

Deno.test("-L http -- -L socks5: two child processes in /proc, each serving, SIGTERM leaves nothing and exits 0", async () => {
  const origin = namedOrigin("origin");
  const [a, b] = [freePort(), freePort()];
  const gost = spawnGost(["-L", `http://127.0.0.1:${a}`, "--", "-L", `socks5://127.0.0.1:${b}`]);
  try {
    await waitListening([a, b], gost);
    const kids = await groupChildren(gost.pid, 2);
    for (const [i, pid] of kids.entries()) {
      const argv = procArgv(pid);
      equal(argv[0], Deno.execPath(), "the same deno");
      deepEqual(argv.slice(1, 4), ["run", "-A", "--unstable-net"], "the parent's own flags");
      equal(argv[4], new URL(`file://${MAIN}`).href, "the same main module");
      deepEqual(argv.slice(5), i === 0 ? ["-L", `http://127.0.0.1:${a}`] : ["-L", `socks5://127.0.0.1:${b}`]);
      const env = procEnv(pid);
      equal(env._GOST_ID, String(i));
      equal(env._GOST_PARENT_PID, String(gost.pid));
    }
    const viaHttp = await curl("-sS", "-x", `http://127.0.0.1:${a}`, `http://127.0.0.1:${origin.port}/`);
    equal(viaHttp.stdout, "origin", viaHttp.stderr);
    const viaSocks = await curl("-sS", "--socks5", `127.0.0.1:${b}`, `http://127.0.0.1:${origin.port}/`);
    equal(viaSocks.stdout, "origin", viaSocks.stderr);
    const st = await gost.stop("SIGTERM");
    equal(st.code, 0, gost.lines.join("\n"));
    await noneLeft(kids, [a, b]);
    ok(gost.lines.some((l) => /received SIGTERM, passing it on to 2 processes/.test(l)), gost.lines.join("\n"));
    // both children closed gracefully (their own shutdown lines)
    equal(gost.lines.filter((l) => /all services closed/.test(l)).length, 2, gost.lines.join("\n"));
  } finally {
    await gost.stop("SIGKILL");
    await origin.close();
  }
});

const chainsReady = ["tcp"].every((d) => createBuiltinRegistries().dialers.get(d)) &&
  Boolean(createBuiltinRegistries().connectors.get("forward"));

Deno.test({
  name: "each group has its own -F chain: only the second group's service dials through it",
  ignore: !chainsReady,
  fn: async () => {
    const direct = namedOrigin("direct");
    const chained = namedOrigin("through the chain"); // a forward node: every connection lands here
    const [a, b] = [freePort(), freePort()];
    const gost = spawnGost([
      "-L",
      `http://127.0.0.1:${a}`,
      "--",
      "-L",
      `socks5://127.0.0.1:${b}`,
      "-F",
      `forward://127.0.0.1:${chained.port}`,
    ]);
    try {
      await waitListening([a, b], gost);
      const kids = await groupChildren(gost.pid, 2);
      const url = `http://127.0.0.1:${direct.port}/`;
      equal((await curl("-sS", "-x", `http://127.0.0.1:${a}`, url)).stdout, "direct");
      equal((await curl("-sS", "--socks5", `127.0.0.1:${b}`, url)).stdout, "through the chain");
      equal((await gost.stop("SIGTERM")).code, 0);
      await noneLeft(kids, [a, b]);
    } finally {
      await gost.stop("SIGKILL");
      await direct.close();
      await chained.close();
    }
  },
});
if (!chainsReady) console.log("skipped the per-group chain test: no tcp dialer or forward connector registered yet");

Deno.test("SIGKILL to the parent: the children notice within 2 s, close and free their ports", async () => {
  const [a, b] = [freePort(), freePort()];
  const gost = spawnGost(["-L", `http://127.0.0.1:${a}`, "--", "-L", `http://127.0.0.1:${b}`]);
  try {
    await waitListening([a, b], gost);
    const kids = await groupChildren(gost.pid, 2);
    await gost.stop("SIGKILL");
    const t0 = Date.now();
    await noneLeft(kids, [a, b], 2000);
    ok(Date.now() - t0 < 2000);
    equal(gost.lines.filter((l) => /received parent exit, shutting down/.test(l)).length, 2, gost.lines.join("\n"));
  } finally {
    await gost.stop("SIGKILL");
  }
});

Deno.test("SIGHUP is passed on (each child reloads) and SIGINT stops every child, exit 0", async () => {
  const [a, b, c] = [freePort(), freePort(), freePort()];
  // two services in the second group: its reload line says "2 kept", the first child's "1 kept"
  const gost = spawnGost([
    "-L",
    `http://127.0.0.1:${a}`,
    "--",
    "-L",
    `http://127.0.0.1:${b}`,
    "-L",
    `http://127.0.0.1:${c}`,
  ]);
  try {
    await waitListening([a, b, c], gost);
    const kids = await groupChildren(gost.pid, 2);
    // A child listens a little before it handles SIGHUP (main.ts adds that listener once App.start is done) and
    // drops a SIGHUP that comes in between: no log line tells that moment, so SIGHUP is sent again until each
    // child logged a reload.
    const reloads = (kept: number) => gost.lines.filter((l) => l.includes(`config reloaded: ${kept} kept`)).length;
    const both = () => reloads(1) > 0 && reloads(2) > 0;
    let sent = 0;
    const deadline = Date.now() + 20_000;
    while (!both()) {
      if (Date.now() > deadline) {
        throw new Error(`no reload in each child after ${sent} SIGHUPs:\n${gost.lines.join("\n")}`);
      }
      gost.child.kill("SIGHUP");
      sent++;
      await eventually(both, HUP_RESEND_MS);
    }
    await waitUntil(
      () => gost.lines.filter((l) => /received SIGHUP, passing it on to 2 processes/.test(l)).length === sent,
      `the parent to log each of the ${sent} SIGHUPs`,
    );
    ok(reloads(1) <= sent && reloads(2) <= sent, `at most one reload per SIGHUP: ${reloads(1)}, ${reloads(2)}`);
    deepEqual(childPids(gost.pid), kids, "the same children: a reload restarts nothing");
    equal((await gost.stop("SIGINT")).code, 0, gost.lines.join("\n"));
    await noneLeft(kids, [a, b, c]);
  } finally {
    await gost.stop("SIGKILL");
  }
});

Deno.test("a child that fails at start stops the others; the parent exits with its code", async () => {
  const [a, busy] = [freePort(), Deno.listen({ hostname: "127.0.0.1", port: 0 })];
  const b = (busy.addr as Deno.NetAddr).port;
  const gost = spawnGost(["-L", `http://127.0.0.1:${a}`, "--", "-L", `http://127.0.0.1:${b}`]);
  try {
    const st = await gost.stop("SIGCONT"); // harmless: just wait for the exit
    equal(st.code, 1, gost.lines.join("\n"));
    const out = gost.lines.join("\n");
    match(out, /address already in use|Address already in use/i);
    match(out, /process 1 exited with code 1; stopping the others/);
    await waitUntil(() => portFree(a), `port ${a} to be free`, 5000);
  } finally {
    busy.close();
    await gost.stop("SIGKILL");
  }
});

Deno.test("-- with an empty group is refused before anything starts", async () => {
  for (
    const args of [
      ["-L", "http://127.0.0.1:1", "--"],
      ["--", "-L", "http://127.0.0.1:1"],
      ["-L", "http://127.0.0.1:1", "--", "--", "-L", "http://127.0.0.1:2"],
    ]
  ) {
    const gost = spawnGost(args);
    const st = await gost.stop("SIGCONT");
    equal(st.code, 2, args.join(" "));
    equal(gost.lines.filter((l) => l.trim()).length, 1, gost.lines.join("\n"));
    match(gost.lines[0], /^gost: process group \d is empty: put flags between each --$/);
  }
});

Deno.test("SIGTERM while the children start: logged, passed on, nothing left, exit 0", async () => {
  const [a, b] = [freePort(), freePort()];
  const gost = spawnGost(["-L", `http://127.0.0.1:${a}`, "--", "-L", `http://127.0.0.1:${b}`]);
  try {
    await gost.waitLine(/started process 1/);
    const kids = childPids(gost.pid);
    const st = await gost.stop("SIGTERM");
    equal(st.code, 0, gost.lines.join("\n"));
    match(gost.lines.join("\n"), /received SIGTERM, passing it on to 2 processes/);
    await noneLeft(kids, [a, b]);
  } finally {
    await gost.stop("SIGKILL");
  }
});

Deno.test("children get the parent's narrow permissions, plus reading _GOST_ID, and still watch the parent", async () => {
  const dir = await Deno.makeTempDir();
  const [a, b] = [freePort(), freePort()];
  try {
    for (const [i, port] of [a, b].entries()) {
      await Deno.writeTextFile(
        `${dir}/g${i}.json`,
        JSON.stringify({ services: [{ name: `g${i}`, addr: `127.0.0.1:${port}`, handler: { type: "http" } }] }),
      );
    }
    // the variables the config loader reads today (see docs/permissions.md)
    const env = "--allow-env=GOST_API,GOST_METRICS,GOST_LOGGER_LEVEL,LOG_TOKENS,LOG_STREAM";
    const flags = ["--allow-net", `--allow-read=${dir}`, "--allow-run", env];
    const gost = spawnGost(["-C", `${dir}/g0.json`, "--", "-C", `${dir}/g1.json`], { flags });
    try {
      await waitListening([a, b], gost);
      const kids = await groupChildren(gost.pid, 2);
      const argv = procArgv(kids[1]);
      deepEqual(argv.slice(1, 7), ["run", ...flags, "--allow-env=_GOST_ID,_GOST_PARENT_PID"]);
      await gost.stop("SIGKILL");
      await noneLeft(kids, [a, b], 2000);
    } finally {
      await gost.stop("SIGKILL");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
