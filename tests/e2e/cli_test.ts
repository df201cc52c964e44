import { equal, match, ok } from "node:assert/strict";
import { freePort, runGost, startGost } from "../helpers/gost.ts";
import { tcpEcho } from "../helpers/servers.ts";
import { curl } from "../helpers/run.ts";
import { httpOrigin } from "../helpers/servers.ts";

async function echoThrough(port: number, msg: string): Promise<string> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  await c.write(new TextEncoder().encode(msg));
  await c.closeWrite();
  let out = "";
  const buf = new Uint8Array(1024);
  for (;;) {
    const n = await c.read(buf);
    if (n === null) break;
    out += new TextDecoder().decode(buf.subarray(0, n));
  }
  c.close();
  return out;
}

Deno.test("-V prints the version line and exits 0", async () => {
  const r = await runGost(["-V"]);
  equal(r.code, 0);
  match(r.stdout, /^gost\.ts \d+\.\d+\.\d+ \(deno \S+ \w+\/\w+\)\n$/);
});

Deno.test("an unknown flag exits 2 with Go's message", async () => {
  const r = await runGost(["-x"]);
  equal(r.code, 2);
  match(r.stderr, /^flag provided but not defined: -x\n/);
});

Deno.test("a bad -L URL exits non-zero with one clear message", async () => {
  for (const bad of ["tcp://:70000/x:1", "icmp://:8080", "tcp://:9000-8000/x:1"]) {
    const r = await runGost(["-L", bad]);
    equal(r.code, 1, bad);
    equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    match(r.stderr, /^gost: /);
  }
});

Deno.test("a bad config file exits 1 naming the path and line", async () => {
  const file = await Deno.makeTempFile({ suffix: ".yaml" });
  await Deno.writeTextFile(file, "services:\n  - name: a\n    addr: :1\n    handler:\n      type: nope\n");
  const r = await runGost(["-C", file]);
  equal(r.code, 1);
  match(r.stderr, /services\[0\]\.handler\.type at line 5: unknown handler type "nope"/);
  await Deno.remove(file);
});

for (const format of ["yaml", "json"] as const) {
  Deno.test(`-C with a ${format} file runs its services`, async () => {
    const echo = tcpEcho();
    const port = freePort();
    const cfg = {
      services: [{
        name: "fwd",
        addr: `127.0.0.1:${port}`,
        handler: { type: "tcp" },
        listener: { type: "tcp" },
        forwarder: { nodes: [{ name: "t", addr: `127.0.0.1:${echo.port}` }] },
      }],
    };
    const file = await Deno.makeTempFile({ suffix: `.${format}` });
    await Deno.writeTextFile(
      file,
      format === "json"
        ? JSON.stringify(cfg)
        : `services:\n  - name: fwd\n    addr: 127.0.0.1:${port}\n    handler: {type: tcp}\n    forwarder:\n      nodes:\n        - {name: t, addr: "127.0.0.1:${echo.port}"}\n`,
    );
    await using gost = await startGost(["-C", file]);
    equal(await echoThrough(port, `hello ${format}`), `hello ${format}`);
    equal((await gost.stop()).code, 0);
    echo.close();
    await Deno.remove(file);
  });
}

Deno.test("-C - reads the config from stdin", async () => {
  const r = await runGost(["-C", "-", "-O", "json"], '{"services":[{"name":"x","addr":":1"}]}');
  equal(r.code, 0);
  equal(JSON.parse(r.stdout).services[0].name, "x");
});

Deno.test("-O yaml round-trips through -C and serves the same", async () => {
  const origin = httpOrigin();
  const port = freePort();
  const args = ["-L", `http://u:p@127.0.0.1:${port}?readTimeout=5s`];
  const out = await runGost([...args, "-O", "yaml"]);
  equal(out.code, 0);
  match(out.stdout, /name: service-0/);
  const file = await Deno.makeTempFile({ suffix: ".yaml" });
  await Deno.writeTextFile(file, out.stdout);
  const again = await runGost(["-C", file, "-O", "yaml"]);
  equal(again.stdout, out.stdout);
  await using gost = await startGost(["-C", file]);
  const r = await curl("-x", `http://127.0.0.1:${port}`, "--proxy-user", "u:p", `http://127.0.0.1:${origin.port}/rt`);
  equal(r.stdout, "hello /rt");
  await gost.stop();
  await origin.close();
  await Deno.remove(file);
});

Deno.test("SIGTERM closes every service, drops open connections and exits 0", async () => {
  const echo = tcpEcho();
  const port = freePort();
  const gost = await startGost(["-L", `tcp://127.0.0.1:${port}/127.0.0.1:${echo.port}`]);
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  await c.write(new Uint8Array([1, 2, 3]));
  const buf = new Uint8Array(3);
  equal(await c.read(buf), 3);
  const st = await gost.stop("SIGTERM");
  equal(st.code, 0);
  equal(await c.read(buf).catch(() => null), null);
  c.close();
  ok(gost.lines.some((l) => l.includes("all services closed")));
  echo.close();
});

Deno.test("with no arguments and no config file, the embedded default proxy runs and says so first", async () => {
  const home = await Deno.makeTempDir();
  let gost;
  try {
    gost = await startGost([], { cwd: home, env: { HOME: home } });
  } catch (err) {
    if (/address already in use|AddrInUse/i.test(String(err))) {
      console.log("port 8080 is busy on this machine; embedded default not started");
      return;
    }
    throw err;
  }
  match(gost.lines[0], /embedded default/);
  const origin = httpOrigin();
  const r = await curl("-x", "http://127.0.0.1:8080", `http://127.0.0.1:${origin.port}/d`);
  equal(r.stdout, "hello /d");
  equal((await gost.stop()).code, 0);
  await origin.close();
  await Deno.remove(home, { recursive: true });
});

Deno.test("a proxy without auth on a non-loopback address logs a warning; with auth or on loopback it does not", async () => {
  const [open, authed, local] = [freePort(), freePort(), freePort()];
  await using gost = await startGost([
    "-L",
    `http://0.0.0.0:${open}`,
    "-L",
    `http://u:p@0.0.0.0:${authed}`,
    "-L",
    `http://127.0.0.1:${local}`,
  ], { listening: 3 });
  const warnings = gost.lines.filter((l) => l.includes("open proxy"));
  equal(warnings.length, 1, warnings.join("\n"));
  match(warnings[0], new RegExp(`"level":"warn".*0\\.0\\.0\\.0:${open}`));
});
