/**
 * Service hooks at GOST's moments, seen through marker files with timestamps: on start and graceful shutdown of
 * a real process, on SIGHUP reload, on replace and delete (the Runtime calls the Web API makes), and with bad
 * hooks (missing program, exit 1, 10 MB of output, hanging) that are logged while the service keeps serving.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import type { ServiceConfig } from "../../../core/config/types.ts";
import { nopLogger } from "../../../core/log.ts";
import { Runtime } from "../../../core/runtime/runtime.ts";
import { createBuiltinRegistries } from "../../../mod.ts";
import { freePort } from "../../helpers/gost.ts";
import { curl } from "../../helpers/run.ts";
import { namedOrigin, portFree, spawnGost, waitListening, waitUntil } from "../../helpers/process.ts";

/** A hook that appends `<name> <ns timestamp> <open|closed>` (the service port's state) to the marker file. */
const MARK = `#!/bin/bash
state=closed
(exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && state=open
echo "$1 $(date +%s%N) $state" >> "$3"
`;

interface Marker {
  name: string;
  ns: bigint;
  port: "open" | "closed";
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/mark.sh`, MARK);
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function markers(dir: string): Promise<Marker[]> {
  let text = "";
  try {
    text = await Deno.readTextFile(`${dir}/markers`);
  } catch {
    return [];
  }
  return text.trim().split("\n").filter(Boolean).map((l) => {
    const [name, ns, port] = l.split(" ");
    return { name, ns: BigInt(ns), port: port as Marker["port"] };
  });
}

function hooks(dir: string, port: number, tag = ""): Record<string, string[]> {
  const h = (phase: string) => [`bash ${dir}/mark.sh ${tag}${phase} ${port} ${dir}/markers`];
  return { preUp: h("pre-up"), postUp: h("post-up"), preDown: h("pre-down"), postDown: h("post-down") };
}

function service(name: string, dir: string, port: number, tag = "", extra: Record<string, unknown> = {}) {
  return {
    name,
    addr: `127.0.0.1:${port}`,
    handler: { type: "http" },
    listener: { type: "tcp" },
    metadata: { ...hooks(dir, port, tag), ...extra },
  } as ServiceConfig;
}

function assertAscending(ms: Marker[]): void {
  for (let i = 1; i < ms.length; i++) ok(ms[i - 1].ns <= ms[i].ns, `${ms[i - 1].name} before ${ms[i].name}`);
}

Deno.test("hooks run in GOST's order on start and graceful shutdown: preDown while serving, postDown after close", async () => {
  await withDir(async (dir) => {
    const port = freePort();
    const origin = namedOrigin("ok");
    await Deno.writeTextFile(`${dir}/gost.json`, JSON.stringify({ services: [service("hooked", dir, port)] }));
    const gost = spawnGost(["-C", `${dir}/gost.json`]);
    try {
      await gost.waitLine(/service hooked is listening on/);
      await waitUntil(async () => (await markers(dir)).length === 2, "the post-up marker");
      const served = await curl("-sS", "-x", `http://127.0.0.1:${port}`, `http://127.0.0.1:${origin.port}/`);
      equal(served.stdout, "ok", served.stderr);
      equal((await gost.stop("SIGTERM")).code, 0, gost.lines.join("\n"));
      const ms = await markers(dir);
      deepEqual(ms.map((m) => m.name), ["pre-up", "post-up", "pre-down", "post-down"]);
      assertAscending(ms);
      equal(ms[1].port, "open", "post-up: the listener is bound");
      equal(ms[2].port, "open", "pre-down: still listening");
      equal(ms[3].port, "closed", "post-down: the listener is closed");
      ok(portFree(port));
      const out = gost.lines.join("\n");
      for (const phase of ["pre-up", "post-up", "pre-down", "post-down"]) {
        match(out, new RegExp(`\\[${phase}\\] bash \\S+ ${phase} .*: exit 0`));
      }
    } finally {
      await gost.stop("SIGKILL");
      await origin.close();
    }
  });
});

Deno.test("SIGHUP reload of a changed service: old preDown, postDown, then new preUp, postUp", async () => {
  await withDir(async (dir) => {
    const port = freePort();
    const write = (tag: string) =>
      Deno.writeTextFile(`${dir}/gost.json`, JSON.stringify({ services: [service("s", dir, port, tag)] }));
    await write("old-");
    const gost = spawnGost(["-C", `${dir}/gost.json`]);
    try {
      await gost.waitLine(/service s is listening on/);
      await waitUntil(async () => (await markers(dir)).length === 2, "old post-up");
      await write("new-");
      gost.child.kill("SIGHUP");
      await waitUntil(async () => (await markers(dir)).length === 6, "new post-up");
      equal((await gost.stop("SIGTERM")).code, 0);
      const ms = await markers(dir);
      deepEqual(ms.map((m) => m.name), [
        "old-pre-up",
        "old-post-up",
        "old-pre-down",
        "old-post-down",
        "new-pre-up",
        "new-post-up",
        "new-pre-down",
        "new-post-down",
      ]);
      assertAscending(ms);
    } finally {
      await gost.stop("SIGKILL");
    }
  });
});

Deno.test("replace (API PUT) runs the old service's down hooks then the new one's up hooks; delete runs down hooks", async () => {
  await withDir(async (dir) => {
    const port = freePort();
    const rt = await Runtime.start({ services: [service("s", dir, port, "old-")] }, {
      reg: createBuiltinRegistries(),
      logger: nopLogger,
    });
    try {
      await waitUntil(async () => (await markers(dir)).length === 2, "old post-up");
      await rt.replace("services", "s", service("s", dir, port, "new-"));
      await waitUntil(async () => (await markers(dir)).length === 6, "new post-up");
      await waitListening([port]);
      await rt.remove("services", "s");
      const ms = await markers(dir);
      deepEqual(ms.map((m) => `${m.name}:${m.port}`), [
        "old-pre-up:open",
        "old-post-up:open",
        "old-pre-down:open",
        "old-post-down:closed",
        "new-pre-up:open",
        "new-post-up:open",
        "new-pre-down:open",
        "new-post-down:closed",
      ]);
      assertAscending(ms);
      ok(portFree(port));
    } finally {
      await rt.close();
    }
  });
});

Deno.test("bad hooks (missing program, exit 1, 10 MB of output, hanging) are logged and the service serves", async () => {
  await withDir(async (dir) => {
    const port = freePort();
    const origin = namedOrigin("still serving");
    const svc = {
      name: "bad",
      addr: `127.0.0.1:${port}`,
      handler: { type: "http" },
      metadata: {
        preUp: ["/nonexistent/hook --flag", "sh -c 'echo failing >&2; exit 1'", "head -c 10485760 /dev/zero"],
        postUp: ["sleep 30"],
        hookTimeout: "500ms",
      },
    };
    await Deno.writeTextFile(`${dir}/gost.json`, JSON.stringify({ services: [svc] }));
    const gost = spawnGost(["-C", `${dir}/gost.json`]);
    try {
      await gost.waitLine(/service bad is listening on/);
      await gost.waitLine(/\[post-up\] sleep 30: killed after 0\.5s/);
      const r = await curl("-sS", "-x", `http://127.0.0.1:${port}`, `http://127.0.0.1:${origin.port}/`);
      equal(r.stdout, "still serving", r.stderr);
      equal((await gost.stop("SIGTERM")).code, 0);
      const logs = gost.lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
      const find = (re: RegExp) => logs.find((l) => re.test(l.msg));
      equal(find(/nonexistent\/hook --flag: not run: command not found/)?.level, "warn");
      const failing = find(/echo failing.*: exit 1$/);
      equal(failing?.level, "warn");
      equal(failing?.stderr, "failing");
      equal(failing?.exitCode, 1);
      match(find(/head -c 10485760 \/dev\/zero: exit 0/)?.stdout, /\(10485760 bytes in all\)$/);
      equal(find(/sleep 30: killed after/)?.level, "warn");
      ok(portFree(port));
    } finally {
      await gost.stop("SIGKILL");
      await origin.close();
    }
  });
});
