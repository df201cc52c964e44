/**
 * The dashboard's routes without sockets (`app.request()`): the page and its files from memory, with CSP, ETag
 * and no auth; under a path prefix; the YAML routes with the API's auth; `assets.ts` in step with the files; and
 * the page's pure scripts (formatting, chain node lines).
 */
import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import { createApiApp } from "../../../../core/api/app.ts";
import { ASSETS } from "../../../../core/api/dashboard/assets.ts";
import { DASHBOARD_CSP } from "../../../../core/api/dashboard/routes.ts";
import { ApiError } from "../../../../core/api/errors.ts";
import { nopLogger } from "../../../../core/log.ts";
import { StaticAuthenticator } from "../../../../core/routing/auth.ts";
import { formatBytes, formatDuration, formatRate } from "../../../../core/api/dashboard/format.js";
import { nodeLine, parseNodeLines } from "../../../../core/api/dashboard/nodes.js";

const noTarget = () => {
  throw new ApiError(503, 503, "no target in this test");
};

function app(prefix?: string, auth?: StaticAuthenticator) {
  return createApiApp({ target: noTarget, logger: nopLogger, pathPrefix: prefix, auth });
}

const AUTH = new StaticAuthenticator([{ username: "admin", password: "s3cret" }]);
const BASIC = { Authorization: `Basic ${btoa("admin:s3cret")}` };

Deno.test("dashboard page is served at / and /ui without auth, with a strict CSP, no-cache and an ETag; /config keeps its auth", async () => {
  const a = app(undefined, AUTH);
  let first: string | undefined;
  for (const path of ["/", "/ui", "/ui/"]) {
    const res = await a.request(path);
    equal(res.status, 200, path);
    equal(res.headers.get("content-type"), "text/html; charset=utf-8");
    equal(res.headers.get("content-security-policy"), DASHBOARD_CSP);
    match(DASHBOARD_CSP, /^default-src 'self'; script-src 'self'; style-src 'self'/);
    equal(res.headers.get("cache-control"), "no-cache");
    equal(res.headers.get("x-content-type-options"), "nosniff");
    equal(res.headers.get("x-frame-options"), "DENY");
    const html = await res.text();
    first ??= html;
    equal(html, first, "one page");
    match(html, /<meta name="gost-api-base" content="">/);
    ok(!html.includes("__GOST_API_BASE__"), "every placeholder is filled");
    match(html, /<script type="module" src="\/ui\/app\.js"><\/script>/);
    match(html, /<link rel="stylesheet" href="\/ui\/style\.css">/);
    ok(!/<script>|<script(?![^>]*\bsrc=)[^>]*>|\son\w+=|style="/.test(html), "no inline script, handler or style");
  }
  const cfg = await a.request("/config");
  equal(cfg.status, 401);
  deepEqual(await cfg.json(), { code: 401, msg: "Unauthorized" });
  equal((await a.request("/config", { headers: BASIC })).status, 503, "authenticated, then the (absent) target");
});

Deno.test("dashboard files have their content types, answer 304 to a matching If-None-Match, and load nothing external", async () => {
  const a = app();
  const types: Record<string, string> = {
    js: "text/javascript; charset=utf-8",
    css: "text/css; charset=utf-8",
    svg: "image/svg+xml",
  };
  const names = Object.keys(ASSETS).filter((n) => n !== "index.html");
  ok(names.includes("app.js") && names.includes("style.css") && names.includes("favicon.svg"));
  for (const name of names) {
    const res = await a.request(`/ui/${name}`);
    equal(res.status, 200, name);
    equal(res.headers.get("content-type"), types[name.split(".").pop()!], name);
    equal(res.headers.get("cache-control"), "no-cache");
    equal(await res.text(), ASSETS[name]);
    const etag = res.headers.get("etag")!;
    match(etag, /^"[0-9a-z]+-[0-9a-z]+"$/);
    const again = await a.request(`/ui/${name}`, { headers: { "If-None-Match": `"other", W/${etag}` } });
    equal(again.status, 304, `${name} revalidates`);
    equal(await again.text(), "");
  }
  equal((await a.request("/ui/nothing.js")).status, 404);

  // every local reference (page links, module imports) is served; no URL leaves the origin
  const page = await (await a.request("/")).text();
  const refs = [...page.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
  for (const name of names.filter((n) => n.endsWith(".js"))) {
    for (const m of ASSETS[name].matchAll(/^import .* from "\.\/([^"]+)";$/gm)) refs.push(`/ui/${m[1]}`);
  }
  ok(refs.length >= 10, `found the references: ${refs.join(" ")}`);
  for (const ref of new Set(refs)) equal((await a.request(ref)).status, 200, ref);
  for (const [name, text] of Object.entries(ASSETS)) {
    const external = text.replaceAll("http://www.w3.org/2000/svg", "").match(
      /\b(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/gi,
    );
    equal(external, null, `${name} refers to nothing outside the origin`);
  }
});

Deno.test("dashboard under a path prefix: the page at /api, /api/, /api/ui and /api/ui/ points at /api/ui files; the root has none", async () => {
  const a = app("api/");
  for (const path of ["/api", "/api/", "/api/ui", "/api/ui/"]) {
    const res = await a.request(path);
    equal(res.status, 200, path);
    const html = await res.text();
    match(html, /<meta name="gost-api-base" content="\/api">/);
    match(html, /src="\/api\/ui\/app\.js"/);
  }
  equal((await a.request("/api/ui/app.js")).status, 200);
  for (const path of ["/", "/ui", "/ui/app.js"]) equal((await a.request(path)).status, 404, path);

  // a prefix with markup in it is escaped, not injected
  const odd = await (await app('/a"b<c>').request('/a"b<c>/')).text();
  match(odd, /content="\/a&#34;b&#60;c&#62;"/);
});

Deno.test("dashboard YAML routes parse and write YAML behind the API's auth, with plain 40001 errors", async () => {
  const a = app(undefined, AUTH);
  const post = (path: string, body: string, headers: Record<string, string> = BASIC) =>
    a.request(path, { method: "POST", body, headers });
  const denied = await post("/ui/yaml/parse", "a: 1", {});
  equal(denied.status, 401);
  equal(denied.headers.get("www-authenticate"), "Basic");

  let res = await post(
    "/ui/yaml/parse",
    "name: web\naddr: :8080\nhandler:\n  type: http\nmetadata:\n  enableStats: true\n",
  );
  equal(res.status, 200);
  deepEqual(await res.json(), {
    data: { name: "web", addr: ":8080", handler: { type: "http" }, metadata: { enableStats: true } },
  });
  res = await post("/ui/yaml/parse", "name: web\n  addr: [\n");
  equal(res.status, 400);
  const err = await res.json();
  equal(err.code, 40001);
  match(err.msg, /^YAML at line \d+, column \d+: /);
  res = await post("/ui/yaml/parse", "a: 1\na: 2\n");
  match((await res.json()).msg, /^YAML at line 2, column 1: .*[Uu]nique/);

  res = await post(
    "/ui/yaml/stringify",
    JSON.stringify({ name: "web", status: { state: "ready" }, handler: { type: "http" } }),
  );
  equal(res.status, 200);
  deepEqual(await res.json(), { data: "name: web\nhandler:\n  type: http\n" }, "status is output-only: dropped");
  res = await post("/ui/yaml/stringify", "[1]");
  equal(res.status, 400);
  equal((await res.json()).code, 40001);
});

Deno.test("dashboard assets.ts serves every page file in its folder, as it is on disk", () => {
  const dir = new URL("../../../../core/api/dashboard/", import.meta.url);
  const files = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => !n.endsWith(".ts")).sort();
  deepEqual(Object.keys(ASSETS).sort(), files);
  for (const name of files) equal(ASSETS[name], Deno.readTextFileSync(new URL(name, dir)), name);
});

Deno.test("dashboard formats bytes, rates and durations", () => {
  deepEqual([0, 512, 1024, 1536, 10 * 1024, 150 * 1024 * 1024, 3 * 1024 ** 3].map(formatBytes), [
    "0 B",
    "512 B",
    "1.00 KiB",
    "1.50 KiB",
    "10.0 KiB",
    "150 MiB",
    "3.00 GiB",
  ]);
  equal(formatRate(2048), "2.00 KiB/s");
  deepEqual([5, 65, 3725, 90000].map(formatDuration), ["5s", "1m 5s", "1h 2m", "1d 1h"]);
});

Deno.test("dashboard chain form reads and writes node lines, keeping the other fields of a node", () => {
  const old = [{
    name: "n1",
    addr: "10.0.0.1:443",
    connector: { type: "relay" },
    dialer: { type: "tls", tls: { serverName: "x" } },
  }];
  equal(nodeLine(old[0]), "relay+tls://10.0.0.1:443");
  equal(
    nodeLine({ addr: "h:1080", connector: { type: "socks5", auth: { username: "u@x", password: "p:w" } } }),
    "socks5://u%40x:p%3Aw@h:1080",
  );
  deepEqual(parseNodeLines(["relay+tls://10.0.0.1:443", "socks5://u%40x:p%3Aw@h:1080", "http://n1:8080"], old), [
    {
      name: "n1",
      addr: "10.0.0.1:443",
      connector: { type: "relay" },
      dialer: { type: "tls", tls: { serverName: "x" } },
    },
    {
      name: "node-1",
      addr: "h:1080",
      connector: { type: "socks5", auth: { username: "u@x", password: "p:w" } },
      dialer: { type: "tcp" },
    },
    { name: "node-2", addr: "n1:8080", connector: { type: "http" }, dialer: { type: "tcp" } },
  ]);
  throws(() => parseNodeLines(["10.0.0.1:443"], []), /Node 1: expected connector\[\+dialer\]:\/\//);
  throws(() => parseNodeLines(["socks5://%zz@h:1"], []), /Node 1: bad %-escape/);
});
