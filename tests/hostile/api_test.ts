/**
 * The Web API as an attacker meets it, against real gost.ts processes: a web page on another origin (in Chromium)
 * and forged Origin and Host headers (curl) cannot reconfigure an API without auth, while its own dashboard origin
 * and the allowed origins can; an identical PUT cuts no open transfer; a bad save path is a 400 and a killed save's
 * temporary files are cleaned; an API or metrics open beyond loopback is warned about.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
// test-only: the browser driver stays out of core/deps/ and the product
// deno-lint-ignore no-import-prefix
import { chromium } from "npm:playwright-core@1.65.1";
import { freePort } from "../helpers/gost.ts";
import { curl } from "../helpers/run.ts";
import { until } from "../helpers/wait.ts";
import { call, startApi } from "../helpers/api.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();

/** A header of a `curl -i` answer, or undefined. */
function header(raw: string, name: string): string | undefined {
  const head = raw.slice(0, raw.indexOf("\r\n\r\n"));
  const m = new RegExp(`\\r\\n${name}: ([^\\r]*)`, "i").exec(head);
  return m?.[1];
}

function status(raw: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1]);
}

const svc = (name: string, port: number) =>
  JSON.stringify({ name, addr: `127.0.0.1:${port}`, handler: { type: "http" } });

Deno.test("api without auth: forged Origin and Host headers: cross-origin writes and preflights refused 403 without CORS, reads get no CORS, rebound host names refused; own origin, allowed origins and plain clients work", async () => {
  const apiPort = freePort();
  const allowed = "http://ui.example:8000";
  await using g = await startApi(["-api", `127.0.0.1:${apiPort}?allowOrigins=${allowed}`], { apiPort });
  const base = g.base;
  const evil = "http://evil.example";

  // a cross-origin write: 403, GOST's body, no CORS headers, nothing created
  for (
    const [method, path] of [["POST", "/config/services"], ["PUT", "/config/services/x"], [
      "DELETE",
      "/config/services/x",
    ], ["POST", "/config/reload"]]
  ) {
    const r = await curl(
      "-i",
      "-X",
      method,
      "-H",
      `Origin: ${evil}`,
      "-H",
      "Content-Type: text/plain",
      "-d",
      svc("x", freePort()),
      `${base}${path}`,
    );
    equal(status(r.stdout), 403, `${method} ${path}`);
    equal(header(r.stdout, "access-control-allow-origin"), undefined);
    equal(header(r.stdout, "access-control-allow-private-network"), undefined);
    const body = JSON.parse(r.stdout.slice(r.stdout.indexOf("\r\n\r\n") + 4));
    equal(body.code, 403);
    match(body.msg, /^cross-origin request from "http:\/\/evil\.example" refused: the API has no auth; set api\.auth/);
  }
  equal((await call("GET", `${base}/config/services`)).body.data.count, 0, "nothing was created");
  // its preflight: refused, no allow headers
  const pre = await curl(
    "-i",
    "-X",
    "OPTIONS",
    "-H",
    `Origin: ${evil}`,
    "-H",
    "Access-Control-Request-Method: PUT",
    "-H",
    "Access-Control-Request-Headers: content-type",
    `${base}/config/services/x`,
  );
  equal(status(pre.stdout), 403);
  for (const h of ["allow-origin", "allow-methods", "allow-headers", "allow-private-network"]) {
    equal(header(pre.stdout, `access-control-${h}`), undefined, h);
  }
  // a cross-origin read: answered, but without CORS headers (the browser keeps it from the page)
  const read = await curl("-i", "-H", `Origin: ${evil}`, `${base}/config`);
  equal(status(read.stdout), 200);
  equal(header(read.stdout, "access-control-allow-origin"), undefined);
  match(header(read.stdout, "vary") ?? "", /Origin/);

  // the API's own origin (the dashboard) and an allowed origin: CORS with their origin echoed, writes work
  for (const origin of [`http://127.0.0.1:${apiPort}`, allowed]) {
    const port = freePort();
    const r = await curl("-i", "-H", `Origin: ${origin}`, "-d", svc(`s${port}`, port), `${base}/config/services`);
    equal(status(r.stdout), 200, `${origin}: ${r.stdout}`);
    equal(header(r.stdout, "access-control-allow-origin"), origin);
    match(header(r.stdout, "vary") ?? "", /Origin/);
    const p = await curl(
      "-i",
      "-X",
      "OPTIONS",
      "-H",
      `Origin: ${origin}`,
      "-H",
      "Access-Control-Request-Method: PUT",
      `${base}/config/services/s${port}`,
    );
    equal(status(p.stdout), 204);
    equal(header(p.stdout, "access-control-allow-origin"), origin);
    equal(header(p.stdout, "access-control-allow-private-network"), "true");
    match(header(p.stdout, "access-control-allow-methods") ?? "", /PUT/);
  }
  // a plain client (no Origin) as before: GOST's CORS headers
  const plain = await curl("-i", `${base}/config/services`);
  equal(status(plain.stdout), 200);
  equal(header(plain.stdout, "access-control-allow-origin"), "*");
  equal(JSON.parse(plain.stdout.slice(plain.stdout.indexOf("\r\n\r\n") + 4)).data.count, 2);

  // DNS rebinding: a page whose name now resolves to 127.0.0.1 is same-origin by its own Origin; its Host gives it away
  for (const host of ["attacker.example", `attacker.example:${apiPort}`, "127.0.0.1.nip.io"]) {
    const r = await curl(
      "-i",
      "-H",
      `Host: ${host}`,
      "-H",
      `Origin: http://${host}`,
      "-d",
      svc("r", freePort()),
      `${base}/config/services`,
    );
    equal(status(r.stdout), 403, host);
    match(
      r.stdout,
      /"msg":"Host \\"[^"]+\\" refused: without auth the API answers only requests to an IP address or localhost/,
    );
    equal((await curl("-i", "-H", `Host: ${host}`, `${base}/config`)).stdout.match(/^HTTP\/1\.1 (\d+)/)?.[1], "403");
  }
  for (const host of [`localhost:${apiPort}`, `app.localhost:${apiPort}`, `[::1]:${apiPort}`, "ui.example:8000"]) {
    equal(status((await curl("-i", "-H", `Host: ${host}`, `${base}/config`)).stdout), 200, host);
  }
  equal((await call("GET", `${base}/config/services`)).body.data.count, 2, "only the two allowed writes took effect");
});

Deno.test("api with auth: CORS for any origin as GOST (gost-ui), Host names accepted", async () => {
  const apiPort = freePort();
  await using g = await startApi(["-api", `u:p@127.0.0.1:${apiPort}`], { apiPort });
  const pre = await curl(
    "-i",
    "-X",
    "OPTIONS",
    "-H",
    "Origin: http://ui.example",
    "-H",
    "Access-Control-Request-Method: PUT",
    `${g.base}/config/services/x`,
  );
  equal(status(pre.stdout), 204);
  equal(header(pre.stdout, "access-control-allow-origin"), "*");
  equal(header(pre.stdout, "access-control-allow-private-network"), "true");
  const r = await curl(
    "-i",
    "-u",
    "u:p",
    "-H",
    "Origin: http://ui.example",
    "-H",
    "Host: gost.example",
    `${g.base}/config`,
  );
  equal(status(r.stdout), 200);
  equal(header(r.stdout, "access-control-allow-origin"), "*");
  equal(
    status((await curl("-i", "-H", "Origin: http://ui.example", "-X", "POST", `${g.base}/config/services`)).stdout),
    401,
  );
});

Deno.test({
  name:
    "api without auth: a web page on another origin cannot create a service through it (Chromium, no-cors POST); an allowed origin can read and write with CORS",
  ignore: !hasChromium,
  fn: async () => {
    const apiPort = freePort();
    const page = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      () => new Response("<!doctype html><title>page</title>", { headers: { "Content-Type": "text/html" } }),
    );
    const pageOrigin = `http://127.0.0.1:${page.addr.port}`;
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu"],
      timeout: 15_000,
    });
    try {
      for (const allow of [false, true]) {
        await using g = await startApi(["-api", `127.0.0.1:${apiPort}${allow ? `?allowOrigins=${pageOrigin}` : ""}`], {
          apiPort,
        });
        const tab = await browser.newPage();
        await tab.goto(`${pageOrigin}/`);
        const port = freePort();
        const body = svc("from-page", port);
        // the attack: a "simple" request, sent without a preflight; the page cannot read the answer anyway
        await tab.evaluate(
          ([url, b]) => fetch(url, { method: "POST", mode: "no-cors", body: b }).then(() => {}, () => {}),
          [`${g.base}/config/services`, body],
        );
        // and a CORS read
        const read = await tab.evaluate(
          (url) => fetch(url).then(async (r) => `${r.status} ${(await r.json()).data.count}`, (e) => `error ${e}`),
          `${g.base}/config/services`,
        );
        const list = (await call("GET", `${g.base}/config/services`)).body.data.list;
        if (allow) {
          deepEqual(list.map((s: { name: string }) => s.name), ["from-page"], "an allowed origin may write");
          equal(read, "200 1");
        } else {
          deepEqual(list, [], "the page created nothing");
          match(read, /^error TypeError/, "and read nothing");
        }
        await tab.close();
      }
    } finally {
      await browser.close();
      await page.shutdown();
    }
  },
});

Deno.test("an API or metrics without auth beyond loopback logs a warning naming it; with auth or on loopback it does not", async () => {
  const [a1, m1, s1, a2, m2, s2] = [freePort(), freePort(), freePort(), freePort(), freePort(), freePort()];
  {
    await using g = await startApi(["-api", `0.0.0.0:${a1}`, "-metrics", `:${m1}`, "-L", `api://0.0.0.0:${s1}`], {
      apiPort: a1,
      listening: 1,
    });
    const warns = g.lines.filter((l) => /"level":"warn"/.test(l) && /without authentication|no authentication/.test(l));
    equal(warns.length, 3, warns.join("\n"));
    ok(warns.some((l) => l.includes(`service service-0 serves the Web API on 0.0.0.0:${s1} without authentication`)));
    match(
      warns.find((l) => l.includes('"kind":"api"'))!,
      new RegExp(`api server on 0\\.0\\.0\\.0:${a1} has no authentication`),
    );
    match(
      warns.find((l) => l.includes('"kind":"metrics"'))!,
      new RegExp(`metrics server on 0\\.0\\.0\\.0:${m1} has no authentication`),
    );
  }
  for (
    const args of [
      ["-api", `u:p@0.0.0.0:${a2}`, "-metrics", `u:p@0.0.0.0:${m2}`, "-L", `api://u:p@0.0.0.0:${s2}`],
      ["-api", `127.0.0.1:${a2}`, "-metrics", `127.0.0.1:${m2}`, "-L", `api://127.0.0.1:${s2}`],
    ]
  ) {
    await using g = await startApi(args, { apiPort: a2, listening: 1 });
    deepEqual(g.lines.filter((l) => /without authentication|no authentication/.test(l)), [], args.join(" "));
  }
});

/** An origin whose responses send 64 KiB, then wait for `release()` before the rest: transfers held open. */
function slowOrigin(total: number) {
  let release!: () => void;
  const released = new Promise<void>((r) => release = r);
  let started = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    started++;
    const first = 64 * 1024;
    const body = new ReadableStream<Uint8Array>({
      async start(ctl) {
        ctl.enqueue(new Uint8Array(first).fill(97));
        await released;
        ctl.enqueue(new Uint8Array(total - first).fill(98));
        ctl.close();
      },
    });
    return new Response(body, { headers: { "Content-Length": String(total) } });
  });
  return {
    port: server.addr.port,
    get started() {
      return started;
    },
    release,
    close: () => server.shutdown(),
  };
}

Deno.test("an API PUT with an identical body (and a reload that changes nothing) cuts none of 25 open transfers; a real change still takes effect", async () => {
  const total = 1 << 20;
  const origin = slowOrigin(total);
  const dir = await Deno.makeTempDir({ prefix: "gost-api-put-" });
  const file = `${dir}/gost.yaml`;
  const [apiPort, port] = [freePort(), freePort()];
  await Deno.writeTextFile(
    file,
    `services:\n  - name: px\n    addr: 127.0.0.1:${port}\n    handler: {type: http}\n    metadata: {enableStats: true}\nchains:\n  - name: c1\n    hops: [{name: h1, nodes: [{name: n1, addr: "127.0.0.1:1"}]}]\n`,
  );
  await using g = await startApi(["-C", file, "-api", `127.0.0.1:${apiPort}`], { apiPort, listening: 1 });
  const url = `http://127.0.0.1:${origin.port}/big`;
  const transfers = Array.from(
    { length: 25 },
    () => curl("-o", "/dev/null", "-w", "%{http_code} %{size_download}", "-x", `http://127.0.0.1:${port}`, url),
  );
  try {
    await until(() => origin.started === 25, "25 transfers to start", 10_000);
    const current = (await call("GET", `${g.base}/config/services/px`)).body.data;
    delete current.status;
    deepEqual((await call("PUT", `${g.base}/config/services/px`, current)).body, { msg: "OK" });
    // the same object with its keys in another order is the same object
    const reordered = Object.fromEntries(Object.entries(current).reverse());
    deepEqual((await call("PUT", `${g.base}/config/services/px`, reordered)).body, { msg: "OK" });
    const chain = (await call("GET", `${g.base}/config/chains/c1`)).body.data;
    deepEqual((await call("PUT", `${g.base}/config/chains/c1`, chain)).body, { msg: "OK" });
    deepEqual((await call("POST", `${g.base}/config/reload`)).body, { msg: "OK" });
    origin.release();
    for (const t of transfers) {
      const r = await t;
      equal(r.code, 0, r.stderr);
      equal(r.stdout, `200 ${total}`);
    }
    ok(g.lines.some((l) => /config reloaded: 1 kept, 0 restarted/.test(l)));
    equal((await call("GET", `${g.base}/config/services/px`)).body.data.status.stats.totalConns, 25, "never restarted");
    // a real change restarts it and takes effect
    const changed = { ...current, handler: { type: "http", auth: { username: "u", password: "p" } } };
    deepEqual((await call("PUT", `${g.base}/config/services/px`, changed)).body, { msg: "OK" });
    const after = await curl("-o", "/dev/null", "-w", "%{http_code}", "-x", `http://127.0.0.1:${port}`, url);
    equal(after.stdout, "407");
  } finally {
    origin.release();
    await Promise.allSettled(transfers);
    await origin.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("POST /config to an over-long file name or a directory is 400/40001; a killed save's temporary files are removed at the next start and the next save", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gost-api-save-" });
  const file = `${dir}/gost.yaml`;
  const apiPort = freePort();
  await Deno.writeTextFile(file, "services: []\n");
  const stale = [`${dir}/.gost.yaml.0badf00d.tmp`, `${dir}/.gost.yaml.12345678.tmp`];
  const other = `${dir}/.other.yaml.0badf00d.tmp`;
  const mine = `${dir}/notes.tmp`;
  const old = new Date(Date.now() - 60_000);
  for (const p of [...stale, other, mine]) {
    await Deno.writeFile(p, new Uint8Array(2 << 20));
    await Deno.utime(p, old, old);
  }
  try {
    {
      await using g = await startApi(["-C", file, "-api", `127.0.0.1:${apiPort}`], { apiPort, cwd: dir });
      const names = () => [...Deno.readDirSync(dir)].map((e) => e.name).sort();
      deepEqual(
        names(),
        [".other.yaml.0badf00d.tmp", "gost.yaml", "notes.tmp"],
        "the config file's stale temporaries are gone",
      );
      ok(g.lines.some((l) => /removed 2 temporary file\(s\) of an unfinished save/.test(l)));
      for (
        const [path, msg] of [
          ["a".repeat(300) + ".yaml", /the file name is 305 bytes long: at most 255/],
          ["é".repeat(126) + ".yaml", /the file name is 257 bytes long: at most 255/],
          [".", /outside the config directory/],
          ["sub", /cannot be a config file: Is a directory/],
        ] as const
      ) {
        if (path === "sub") await Deno.mkdir(`${dir}/sub`);
        const r = await call("POST", `${g.base}/config?path=${encodeURIComponent(path)}`);
        equal(r.status, 400, `${path.slice(0, 20)}: ${r.text}`);
        equal(r.body.code, 40001);
        match(r.body.msg, msg);
      }
      deepEqual(names(), [".other.yaml.0badf00d.tmp", "gost.yaml", "notes.tmp", "sub"], "no temporary file left");
      // the longest name saves (its temporary file's name is cut to fit)
      const longest = "c".repeat(250) + ".yaml";
      equal((await call("POST", `${g.base}/config?path=${longest}`)).body.msg, "OK");
      await Deno.remove(`${dir}/${longest}`);
      // the next save of other.yaml removes its stale temporary
      equal((await call("POST", `${g.base}/config?path=other.yaml`)).body.msg, "OK");
      deepEqual(names(), ["gost.yaml", "notes.tmp", "other.yaml", "sub"]);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
