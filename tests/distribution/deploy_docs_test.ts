/**
 * The deployment recipes in docs/, tried: the systemd unit is verified by `systemd-analyze verify` and its
 * ExecStart/ExecReload/KillSignal are run for real; the launchd plist is parsed as a plist and its
 * ProgramArguments/EnvironmentVariables run for real; the cron line is run for real, twice, as cron would. Install
 * paths are mapped to temporary ones; nothing else in the files is changed.
 */
import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import { freePort } from "../helpers/gost.ts";
import { curl, has } from "../helpers/run.ts";
import {
  alive,
  findProcesses,
  namedOrigin,
  portFree,
  procArgv,
  ROOT,
  spawnProc,
  waitListening,
  waitUntil,
} from "../helpers/process.ts";
import { buildBundle, parsePlist } from "./util.ts";

const DOCS = `${ROOT}docs`;

interface Setup {
  dir: string;
  bundle: string;
  etc: string;
  port: number;
}

/** A temporary install: the bundle, a config dir with gost.yaml serving an HTTP proxy, a log dir and a cache. */
async function withInstall(fn: (s: Setup) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  const origin = namedOrigin("deployed");
  try {
    const bundle = await buildBundle(dir);
    const etc = `${dir}/etc`;
    for (const d of [etc, `${dir}/log`, `${dir}/cache`]) await Deno.mkdir(d);
    const port = freePort();
    await Deno.writeTextFile(
      `${etc}/gost.yaml`,
      `services:\n  - name: web\n    addr: 127.0.0.1:${port}\n    handler: {type: http}\n`,
    );
    await fn({ dir, bundle, etc, port });
    const r = await curl(
      "-sS",
      "--max-time",
      "2",
      "-x",
      `http://127.0.0.1:${port}`,
      `http://127.0.0.1:${origin.port}/`,
    );
    ok(r.code !== 0, "stopped: nothing serves anymore");
  } finally {
    await origin.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function proxied(port: number): Promise<void> {
  const origin = namedOrigin("deployed");
  try {
    const r = await curl("-sS", "-x", `http://127.0.0.1:${port}`, `http://127.0.0.1:${origin.port}/`);
    equal(r.stdout, "deployed", r.stderr);
  } finally {
    await origin.close();
  }
}

/** Replaces install paths, longest first. */
function mapPaths(s: string, map: Record<string, string>): string {
  for (const k of Object.keys(map).sort((a, b) => b.length - a.length)) s = s.replaceAll(k, map[k]);
  return s;
}

/** Live processes with `needle` in their command line. */
const processesWith = (needle: string) => findProcesses((argv) => argv.some((a) => a.includes(needle)));

Deno.test("docs/gost.service passes systemd-analyze verify; its ExecStart serves, ExecReload reloads, KillSignal stops with 0", async () => {
  const unit = await Deno.readTextFile(`${DOCS}/gost.service`);
  await withInstall(async ({ dir, bundle, etc, port }) => {
    const mapped = mapPaths(unit, {
      "/usr/local/bin/deno": Deno.execPath(),
      "/opt/gost/gost.js": bundle,
      "/etc/gost": etc,
      "/var/cache/gost": `${dir}/cache`,
    });
    if (has("systemd-analyze")) {
      await Deno.writeTextFile(`${dir}/gost.service`, mapped);
      const v = await new Deno.Command("systemd-analyze", { args: ["verify", `${dir}/gost.service`] }).output();
      const said = new TextDecoder().decode(v.stdout) + new TextDecoder().decode(v.stderr);
      equal(v.code, 0, said);
      equal(said.trim(), "", "no warnings");
    } else {
      console.log("systemd-analyze is not installed: the unit's syntax is not verified, its commands still run");
    }
    const service: Record<string, string> = {};
    let section = "";
    for (const line of mapped.split("\n")) {
      const s = /^\[(\w+)\]$/.exec(line.trim());
      if (s) section = s[1];
      const kv = /^(\w+)=(.*)$/.exec(line);
      if (kv && section === "Service") service[kv[1]] = kv[2];
    }
    const env = Object.fromEntries(service.Environment.split(" ").map((kv) => kv.split("=", 2)));
    equal(service.KillSignal, "SIGTERM");
    const [cmd, ...args] = service.ExecStart.split(" ");
    const gost = spawnProc(cmd, args, { env, cwd: dir, clearEnv: true });
    try {
      await waitListening([port], gost);
      await proxied(port);
      const [killCmd, ...killArgs] = service.ExecReload.replace("$MAINPID", String(gost.pid)).split(" ");
      equal((await new Deno.Command(killCmd, { args: killArgs }).output()).code, 0);
      await gost.waitLine(/config reloaded/);
      equal((await gost.stop(service.KillSignal as Deno.Signal)).code, 0, gost.lines.join("\n"));
      ok(portFree(port));
    } finally {
      await gost.stop("SIGKILL");
    }
  });
});

/** The launchd keys the plist uses. */
interface Launchd {
  Label: string;
  ProgramArguments: string[];
  EnvironmentVariables: Record<string, string>;
  WorkingDirectory: string;
  RunAtLoad: boolean;
  KeepAlive: { SuccessfulExit: boolean };
  ExitTimeOut: number;
  StandardOutPath: string;
  StandardErrorPath: string;
}

Deno.test("docs/run.gost.plist is a launchd plist whose program serves, reloads on HUP and stops with 0", async () => {
  const xml = await Deno.readTextFile(`${DOCS}/run.gost.plist`);
  const plist = parsePlist(xml) as unknown as Launchd;
  if (has("python3")) {
    // a second, independent reader: Python's plistlib, strict XML
    const py = `import json, plistlib, sys\nprint(json.dumps(plistlib.load(open(sys.argv[1], "rb"))))`;
    const parsed = await new Deno.Command("python3", { args: ["-c", py, `${DOCS}/run.gost.plist`] }).output();
    equal(parsed.code, 0, new TextDecoder().decode(parsed.stderr));
    deepEqual(JSON.parse(new TextDecoder().decode(parsed.stdout)), plist);
  }
  const known = [
    "Label",
    "ProgramArguments",
    "EnvironmentVariables",
    "WorkingDirectory",
    "RunAtLoad",
    "KeepAlive",
    "ThrottleInterval",
    "ExitTimeOut",
    "StandardOutPath",
    "StandardErrorPath",
    "SoftResourceLimits",
  ];
  deepEqual(Object.keys(plist).filter((k) => !known.includes(k)), [], "only launchd keys this test knows");
  equal(plist.Label, "run.gost", "the label matches the file name");
  ok(Array.isArray(plist.ProgramArguments) && plist.ProgramArguments.every((a: unknown) => typeof a === "string"));
  equal(plist.RunAtLoad, true);
  deepEqual(plist.KeepAlive, { SuccessfulExit: false });
  equal(typeof plist.ExitTimeOut, "number");
  match(xml, /<!DOCTYPE plist PUBLIC "-\/\/Apple\/\/DTD PLIST 1\.0\/\/EN"/);
  await withInstall(async ({ dir, bundle, etc, port }) => {
    const map = {
      "/usr/local/bin/deno": Deno.execPath(),
      "/usr/local/opt/gost/gost.js": bundle,
      "/usr/local/etc/gost": etc,
      "/usr/local/var/cache/gost": `${dir}/cache`,
      "/usr/local/var/log/gost": `${dir}/log`,
    };
    const [cmd, ...args] = plist.ProgramArguments.map((a: string) => mapPaths(a, map));
    const env = Object.fromEntries(
      Object.entries(plist.EnvironmentVariables as Record<string, string>).map(([k, v]) => [k, mapPaths(v, map)]),
    );
    const log = mapPaths(plist.StandardErrorPath, map);
    equal(log, mapPaths(plist.StandardOutPath, map));
    // launchd runs the program with its output appended to the log files
    const sh = spawnProc("sh", ["-c", `exec "$@" >>'${log}' 2>&1`, "sh", cmd, ...args], {
      env,
      cwd: mapPaths(plist.WorkingDirectory, map),
      clearEnv: true,
    });
    try {
      await waitListening([port], sh);
      await proxied(port);
      sh.child.kill("SIGHUP"); // launchctl kill HUP
      await waitUntil(async () => /config reloaded/.test(await Deno.readTextFile(log)), "the reload line");
      equal((await sh.stop("SIGTERM")).code, 0); // launchctl bootout
      match(await Deno.readTextFile(log), /all services closed/);
    } finally {
      await sh.stop("SIGKILL");
    }
  });
});

Deno.test("the plist reader refuses what launchd would: bad comments, lone keys, unclosed or unknown elements", () => {
  const doc = (body: string) => `<?xml version="1.0"?>\n<plist version="1.0">${body}</plist>`;
  deepEqual(parsePlist(doc("<dict><key>A</key><array><string>x</string><integer>2</integer></array></dict>")), {
    A: ["x", 2],
  });
  for (
    const bad of [
      `<!-- a -- b -->${doc("<dict/>")}`,
      doc("<dict><key>A</key></dict>"),
      doc("<dict><key>A</key><string>x</dict>"),
      doc("<dict><key>A</key><date>x</date></dict>"),
      doc("<dict><key>A</key><true/><key>A</key><true/></dict>"),
      "<plist><dict></dict></plist>",
    ]
  ) throws(() => parsePlist(bad), Error, bad);
});

Deno.test("docs/gost.cron: its line starts gost.ts, a second run finds it running and exits 0, SIGTERM stops it", async () => {
  if (!has("flock")) {
    console.log("skipped: flock (util-linux) is not installed");
    return;
  }
  const lines = (await Deno.readTextFile(`${DOCS}/gost.cron`)).split("\n").filter((l) =>
    l.trim() && !l.startsWith("#")
  );
  const env: Record<string, string> = {};
  const jobs: string[] = [];
  for (const l of lines) {
    const kv = /^([A-Z_]+)=(.*)$/.exec(l);
    if (kv) env[kv[1]] = kv[2];
    else jobs.push(l);
  }
  equal(jobs.length, 1, "one job line");
  const fields = jobs[0].split(/\s+/);
  deepEqual(fields.slice(0, 5), ["*", "*", "*", "*", "*"], "every minute");
  const command = fields.slice(5).join(" ");
  ok(!command.includes("%"), "no % (cron turns it into a newline)");
  equal(env.SHELL, "/bin/sh");
  await withInstall(async ({ dir, bundle, etc, port }) => {
    const denoDir = Deno.execPath().replace(/\/[^/]+$/, "");
    const cronEnv = {
      ...env,
      PATH: `${denoDir}:${env.PATH}`,
      GOST_JS: bundle,
      GOST_DIR: etc,
      GOST_LOG: `${dir}/log/gost.log`,
      DENO_DIR: `${dir}/cache`,
      HOME: dir,
      LOGNAME: "gost",
    };
    const first = spawnProc(env.SHELL, ["-c", command], { env: cronEnv, cwd: dir, clearEnv: true });
    try {
      await waitListening([port], first);
      await proxied(port);
      // the next minute: the lock is held, nothing new starts, and cron sees success
      const t0 = Date.now();
      const second = await new Deno.Command(env.SHELL, {
        args: ["-c", command],
        env: cronEnv,
        clearEnv: true,
        cwd: dir,
      })
        .output();
      equal(second.code, 0);
      ok(Date.now() - t0 < 3000, "returned at once");
      const running = processesWith(bundle).filter((p) => procArgv(p)[1] === "run"); // not sh or flock
      equal(running.length, 1, "one gost.ts process");
      Deno.kill(running[0], "SIGTERM");
      equal((await first.stop("SIGCONT")).code, 0);
      match(await Deno.readTextFile(`${dir}/log/gost.log`), /all services closed/);
      await waitUntil(() => !alive(running[0]), "gost.ts to exit", 5000);
    } finally {
      for (const p of processesWith(bundle)) Deno.kill(p, "SIGKILL");
      await first.stop("SIGKILL");
    }
  });
});
