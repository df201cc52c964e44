/** The Web API app without sockets (`app.request()`) over a real Runtime: every endpoint and error code. */
import { deepEqual, equal, match, notEqual, ok, throws } from "node:assert/strict";
import { createApiApp, normalizePrefix } from "../../../core/api/app.ts";
import { parseAllowOrigins } from "../../../core/api/cors.ts";
import { apiAuthenticator } from "../../../core/api/auth.ts";
import { MAX_BODY_BYTES } from "../../../core/api/body.ts";
import { type ApiTarget, fixedTarget } from "../../../core/api/target.ts";
import { parseConfig } from "../../../core/config/load.ts";
import { parseDocument } from "../../../core/deps/yaml.ts";
import type { Config } from "../../../core/config/types.ts";
import { Logger, MemorySink, nopLogger } from "../../../core/log.ts";
import { StaticAuthenticator } from "../../../core/routing/auth.ts";
import { OBJECT_KINDS, type ObjectKind } from "../../../core/runtime/objects.ts";
import { Runtime } from "../../../core/runtime/runtime.ts";
import { createBuiltinRegistries } from "../../../mod.ts";
import { REFUSED_KINDS } from "../../../core/config/refused.ts";

/** The kinds gost.ts builds or stores (the others are refused, core/config/refused.ts). */
const BUILT_KINDS = OBJECT_KINDS.filter((k) => !(k in REFUSED_KINDS));

interface Fixture extends AsyncDisposable {
  app: ReturnType<typeof createApiApp>;
  rt: Runtime;
  dir: string;
  /** The config the next reload applies. */
  next: { config: Config };
  req(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  // deno-lint-ignore no-explicit-any
  json(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<[number, any]>;
  configText(): Promise<string>;
}

async function fixture(
  yaml = "",
  opts: {
    prefix?: string;
    auth?: StaticAuthenticator;
    logger?: Logger;
    configFile?: string;
    allowOrigins?: string[];
  } = {},
): Promise<Fixture> {
  const dir = await Deno.makeTempDir({ prefix: "gost-api-" });
  const { config } = await parseConfig(yaml || "{}", "inline");
  const reg = createBuiltinRegistries();
  // chain nodes need a dialer; until tcp's is registered, a stand-in (never dialed here)
  if (!reg.dialers.has("tcp")) {
    reg.dialers.register("tcp", () => ({ init: () => Promise.resolve(), dial: () => Promise.reject(new Error("x")) }));
  }
  const rt = await Runtime.start(config, {
    reg,
    logger: nopLogger,
    configFile: opts.configFile ?? `${dir}/gost.yaml`,
  });
  const next = { config };
  const target: ApiTarget = { runtime: rt, reload: async () => void (await rt.reload(next.config)) };
  const app = createApiApp({
    target: fixedTarget(target),
    logger: opts.logger ?? nopLogger,
    pathPrefix: opts.prefix,
    accessLog: Boolean(opts.logger),
    auth: opts.auth,
    allowOrigins: opts.allowOrigins,
  });
  const p = normalizePrefix(opts.prefix);
  const req = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    Promise.resolve(app.request(`${p}${path}`, {
      method,
      headers: { "Content-Type": "application/json", ...headers },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    }));
  return {
    app,
    rt,
    dir,
    next,
    req,
    async json(method, path, body, headers) {
      const res = await req(method, path, body, headers);
      const text = await res.text();
      return [res.status, text ? JSON.parse(text) : undefined];
    },
    async configText() {
      return await (await req("GET", "/config")).text();
    },
    async [Symbol.asyncDispose]() {
      await rt.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** A valid object of each kind, and a changed copy for PUT. */
function sample(kind: ObjectKind, name: string): [Record<string, unknown>, Record<string, unknown>] {
  switch (kind) {
    case "services":
      return [
        { name, addr: "127.0.0.1:0", handler: { type: "http" } },
        { name, addr: "127.0.0.1:0", handler: { type: "socks5" } },
      ];
    case "chains":
      return [
        { name, hops: [{ name: "h0", nodes: [{ name: "n0", addr: "127.0.0.1:1" }] }] },
        { name, hops: [{ name: "h0", nodes: [{ name: "n0", addr: "127.0.0.1:2" }] }] },
      ];
    case "hops":
      return [{ name, nodes: [{ name: "n0", addr: "127.0.0.1:1" }] }, {
        name,
        nodes: [{ name: "n1", addr: "127.0.0.1:2" }],
      }];
    case "authers":
      return [{ name, auths: [{ username: "u", password: "p" }] }, { name, auths: [{ username: "v", password: "q" }] }];
    case "admissions":
    case "bypasses":
      return [{ name, matchers: ["127.0.0.1"] }, { name, whitelist: true, matchers: ["10.0.0.0/8"] }];
    case "resolvers":
      return [{ name, nameservers: [{ addr: "127.0.0.1:53" }] }, { name, nameservers: [{ addr: "127.0.0.2:53" }] }];
    case "hosts":
      return [
        { name, mappings: [{ ip: "127.0.0.1", hostname: "a.test" }] },
        { name, mappings: [{ ip: "127.0.0.2", hostname: "b.test" }] },
      ];
    case "ingresses":
      return [
        { name, rules: [{ hostname: "a.test", endpoint: "4d21094e-b74c-4916-86c1-d9fa36ea677b" }] },
        { name, rules: [{ hostname: ".b.test", endpoint: "$4d21094e-b74c-4916-86c1-d9fa36ea677b" }] },
      ];
    case "limiters":
    case "climiters":
    case "rlimiters":
      return [{ name, limits: ["$ 100"] }, { name, limits: ["$ 200"] }];
    default:
      return [{ name, plugin: { type: "http", addr: "127.0.0.1:1" } }, { name, plugin: { addr: "127.0.0.1:2" } }];
  }
}

Deno.test("api: create, list, get, replace and delete work for every kind, with GOST's envelopes", async () => {
  await using f = await fixture();
  for (const kind of BUILT_KINDS) {
    const [obj, changed] = sample(kind, `${kind}-a`);
    deepEqual(await f.json("POST", `/config/${kind}`, obj), [200, { msg: "OK" }], kind);
    const [st, list] = await f.json("GET", `/config/${kind}`);
    equal(st, 200);
    equal(list.data.count, 1, kind);
    equal(list.data.list[0].name, `${kind}-a`);
    const [st2, one] = await f.json("GET", `/config/${kind}/${kind}-a`);
    equal(st2, 200);
    const { status: _s, ...got } = one.data;
    deepEqual(got, obj, kind);
    // the name in the URL wins over the body's
    deepEqual(await f.json("PUT", `/config/${kind}/${kind}-a`, { ...changed, name: "other" }), [200, { msg: "OK" }]);
    const [, after] = await f.json("GET", `/config/${kind}/${kind}-a`);
    const { status: _t, ...gotChanged } = after.data;
    deepEqual(gotChanged, changed, kind);
    deepEqual(await f.json("DELETE", `/config/${kind}/${kind}-a`), [200, { msg: "OK" }]);
    const [st3, gone] = await f.json("GET", `/config/${kind}/${kind}-a`);
    equal(st3, 404, kind);
    equal(gone.code, 40004);
    deepEqual((await f.json("GET", `/config/${kind}`))[1], { data: { count: 0, list: [] } });
  }
});

Deno.test("api: a missing object answers 404/40004 for GET, PUT, DELETE; an unknown kind and path 404", async () => {
  await using f = await fixture();
  for (const [m, body] of [["GET"], ["PUT", { addr: ":1" }], ["DELETE"]] as const) {
    const [st, b] = await f.json(m, "/config/services/nope", body);
    equal(st, 404, m);
    deepEqual(b, { code: 40004, msg: 'services "nope" not found' });
  }
  const [st, b] = await f.json("GET", "/config/widgets");
  equal(st, 404);
  equal(b.code, 40004);
  match(b.msg, /unknown object kind "widgets"/);
  equal((await f.req("GET", "/nothing")).status, 404);
});

Deno.test("api: GET /config is raw JSON or YAML with live status; a bad format is 400/40001", async () => {
  await using f = await fixture(`services:
  - name: s1
    addr: 127.0.0.1:0
    handler: {type: http}
`);
  const res = await f.req("GET", "/config");
  equal(res.headers.get("content-type"), "application/json");
  const cfg = await res.json();
  equal(cfg.services[0].name, "s1");
  equal(cfg.services[0].status.state, "ready");
  const y = await f.req("GET", "/config?format=yaml");
  equal(y.headers.get("content-type"), "text/x-yaml");
  match(await y.text(), /^services:\n {2}- name: s1\n/);
  const [st, b] = await f.json("GET", "/config?format=xml");
  equal(st, 400);
  deepEqual(b, { code: 40001, msg: 'format: expected json or yaml, got "xml"' });
});

Deno.test("api: invalid bodies are 400/40001 naming the field, duplicates 400/40002, config untouched", async () => {
  await using f = await fixture(`services:
  - name: s1
    addr: 127.0.0.1:0
    handler: {type: http}
`);
  const before = await f.configText();
  const cases: [unknown, RegExp][] = [
    ["{", /request body is not valid JSON/],
    ["[]", /must be a JSON object, got an array/],
    ["", /request body is empty/],
    [{ name: "x", addr: 5 }, /services\.addr: /],
    [{ name: "x", addr: "127.0.0.1:0", handler: { type: "nope" } }, /handler\.type: unknown handler type "nope"/],
    [{ name: "x", addr: "127.0.0.1:0", listener: { type: "nope" } }, /listener\.type: unknown listener type "nope"/],
    [{ name: "a/b", addr: "127.0.0.1:0" }, /services\.name: invalid name "a\/b"/],
    [{ name: "..", addr: "127.0.0.1:0" }, /services\.name: invalid name/],
    [{ addr: "127.0.0.1:0" }, /services\.name: /],
  ];
  for (const [body, re] of cases) {
    const [st, b] = await f.json("POST", "/config/services", body);
    equal(st, 400, JSON.stringify(body));
    equal(b.code, 40001, JSON.stringify(body));
    match(b.msg, re);
  }
  const [st, b] = await f.json("POST", "/config/services", { name: "s1", addr: "127.0.0.1:0" });
  equal(st, 400);
  equal(b.code, 40002);
  match(b.msg, /^services\.name: services "s1" already exists$/);
  equal(await f.configText(), before);
});

Deno.test("api: a valid service whose port is taken is 500/40003 and leaves the config untouched", async () => {
  await using f = await fixture(`services:
  - name: s1
    addr: 127.0.0.1:0
    handler: {type: http}
`);
  using held = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const before = await f.configText();
  const [st, b] = await f.json("POST", "/config/services", {
    name: "busy",
    addr: `127.0.0.1:${held.addr.port}`,
    handler: { type: "http" },
  });
  equal(st, 500);
  equal(b.code, 40003);
  match(b.msg, /listen .*Address already in use|in use/i);
  equal(await f.configText(), before);
});

Deno.test("api: a body over 1 MiB is refused with 413/40001 before it is parsed", async () => {
  await using f = await fixture();
  const big = `{"name":"x","pad":"${"a".repeat(MAX_BODY_BYTES)}"}`;
  const [st, b] = await f.json("POST", "/config/services", big);
  equal(st, 413);
  deepEqual(b, { code: 40001, msg: `request body: larger than ${MAX_BODY_BYTES} bytes` });
  // streamed (no Content-Length)
  const stream = new ReadableStream({
    start(c) {
      for (let i = 0; i < 20; i++) c.enqueue(new Uint8Array(100_000));
      c.close();
    },
  });
  const res = await f.app.request("/config/chains", { method: "POST", body: stream, duplex: "half" } as RequestInit);
  equal(res.status, 413);
  equal((await res.json()).code, 40001);
});

Deno.test("api: status and gost-ui's _x_ keys in a body are dropped; other unknown keys are kept", async () => {
  await using f = await fixture();
  const body = {
    name: "c1",
    hops: [{ name: "h", nodes: [{ name: "n", addr: "127.0.0.1:1" }] }],
    status: { state: "ready" },
    _id_: 7,
    _key_: "k",
    _type_: "chains",
    futureKey: 1,
  };
  deepEqual(await f.json("POST", "/config/chains", body), [200, { msg: "OK" }]);
  deepEqual((await f.json("GET", "/config/chains/c1"))[1], {
    data: { name: "c1", hops: [{ name: "h", nodes: [{ name: "n", addr: "127.0.0.1:1" }] }], futureKey: 1 },
  });
});

Deno.test("api: Basic auth on /config: 401 with WWW-Authenticate and CORS; preflight and /docs open", async () => {
  await using f = await fixture("", { auth: new StaticAuthenticator([{ username: "admin", password: "s3cret" }]) });
  const good = { Authorization: `Basic ${btoa("admin:s3cret")}` };
  const bad: Record<string, string>[] = [{}, { Authorization: "Basic Og==" }, {
    Authorization: `Basic ${btoa("admin:wrong")}`,
  }];
  for (const headers of bad) {
    const res = await f.req("GET", "/config", undefined, headers);
    equal(res.status, 401);
    equal(res.headers.get("www-authenticate"), "Basic");
    equal(res.headers.get("access-control-allow-origin"), "*");
    deepEqual(await res.json(), { code: 401, msg: "Unauthorized" });
  }
  equal((await f.req("GET", "/config/services", undefined, {})).status, 401);
  equal((await f.req("GET", "/config", undefined, good)).status, 200);
  deepEqual((await f.json("GET", "/config/services", undefined, good))[1], { data: { count: 0, list: [] } });
  const pre = await f.req("OPTIONS", "/config/services", undefined, {
    Authorization: "Basic Og==",
    Origin: "http://ui.example",
    "Access-Control-Request-Method": "PUT",
    "Access-Control-Request-Headers": "authorization,content-type",
  });
  equal(pre.status, 204);
  equal(pre.headers.get("access-control-allow-origin"), "*");
  match(pre.headers.get("access-control-allow-methods")!, /PUT/);
  match(pre.headers.get("access-control-allow-headers")!, /Authorization/);
  equal(pre.headers.get("access-control-allow-private-network"), "true");
  equal((await f.req("GET", "/docs/openapi.json")).status, 200);
  equal((await f.req("GET", "/docs/swagger.yaml")).status, 200);
});

Deno.test("api: without auth the Authorization header is ignored; every answer has CORS headers", async () => {
  await using f = await fixture();
  for (const [m, p] of [["GET", "/config"], ["GET", "/config/services/x"], ["POST", "/config/services"]]) {
    const res = await f.req(m, p, m === "POST" ? "{" : undefined, { Authorization: "Basic Og==" });
    equal(res.headers.get("access-control-allow-origin"), "*", `${m} ${p}`);
    await res.body?.cancel();
  }
  equal((await f.req("GET", "/config", undefined, { Authorization: "Basic Og==" })).status, 200);
});

Deno.test("api: POST /config saves atomically to the config file or a sibling; other paths are refused", async () => {
  await using f = await fixture(`services:
  - name: s1
    addr: 127.0.0.1:0
    handler: {type: http}
`);
  deepEqual(await f.json("POST", "/config"), [200, { msg: "OK" }]);
  const saved = (await parseConfig(await Deno.readTextFile(`${f.dir}/gost.yaml`), "saved")).config;
  const live = JSON.parse(await f.configText());
  delete live.services[0].status;
  deepEqual(saved, live);
  deepEqual(await f.json("POST", "/config?path=other.json"), [200, { msg: "OK" }]);
  deepEqual(JSON.parse(await Deno.readTextFile(`${f.dir}/other.json`)), live);
  deepEqual(await f.json("POST", "/config?format=json&path=third.yaml"), [200, { msg: "OK" }]);
  deepEqual(JSON.parse(await Deno.readTextFile(`${f.dir}/third.yaml`)), live);
  for (const p of ["../x.yaml", "/tmp/x.yaml", "sub/x.yaml", `${f.dir}/../x.yaml`]) {
    const [st, b] = await f.json("POST", `/config?path=${encodeURIComponent(p)}`);
    equal(st, 400, p);
    equal(b.code, 40001);
    match(b.msg, /outside the config directory/);
  }
  // no stray temporary files
  deepEqual([...Deno.readDirSync(f.dir)].map((e) => e.name).sort(), ["gost.yaml", "other.json", "third.yaml"]);
});

Deno.test("api: a save that cannot be written is 500/40005", async () => {
  await using f = await fixture("", { configFile: "/nonexistent-dir-gost-api/gost.yaml" });
  const [st, b] = await f.json("POST", "/config");
  equal(st, 500);
  equal(b.code, 40005);
  match(b.msg, /^save config failed: /);
});

Deno.test("api: POST /config/reload applies the sources; a failing reload is 400/40001 and changes nothing", async () => {
  await using f = await fixture(`services:
  - name: s1
    addr: 127.0.0.1:0
    handler: {type: http}
`);
  f.next.config = (await parseConfig(
    `services:
  - name: s1
    addr: 127.0.0.1:0
    handler: {type: http}
  - name: s2
    addr: 127.0.0.1:0
    handler: {type: socks5}
`,
    "next",
  )).config;
  deepEqual(await f.json("POST", "/config/reload"), [200, { msg: "OK" }]);
  deepEqual((await f.json("GET", "/config/services"))[1].data.list.map((s: { name: string }) => s.name), ["s1", "s2"]);
  const before = await f.configText();
  f.next.config = (await parseConfig(`chains: [{name: c, hops: [{name: h, nodes: [{name: n}]}]}]`, "bad")).config;
  const [st, b] = await f.json("POST", "/config/reload");
  equal(st, 400);
  equal(b.code, 40001);
  equal(await f.configText(), before);
});

Deno.test("api: POST /config/quotas/{name}/reset is 404 (no quota can exist: the kind is refused)", async () => {
  await using f = await fixture();
  equal((await f.json("POST", "/config/quotas/none/reset"))[0], 404);
  const [st, b] = await f.json("POST", "/config/quotas", { name: "q" });
  equal(st, 400);
  match(b.msg, /^quotas\.q: quotas are not supported by gost\.ts yet/);
});

Deno.test("api: every kind gost.ts does not build is refused on POST, naming it; nothing is stored", async () => {
  await using f = await fixture();
  for (const kind of Object.keys(REFUSED_KINDS)) {
    const [st, b] = await f.json("POST", `/config/${kind}`, { name: "x" });
    equal(st, 400, kind);
    deepEqual(b.code, 40001);
    match(b.msg, new RegExp(`^${kind}\\.x: .* not supported by gost\\.ts yet`), kind);
    deepEqual((await f.json("GET", `/config/${kind}`))[1], { data: { count: 0, list: [] } }, kind);
  }
});

Deno.test("api: a path prefix moves every route; the access log records each answer", async () => {
  const sink = new MemorySink();
  await using f = await fixture("", { prefix: "api/", logger: new Logger(sink, "info") });
  equal((await f.req("GET", "/config")).status, 200);
  equal((await f.app.request("/config")).status, 404);
  equal((await f.req("GET", "/config/services/x")).status, 404);
  const lines = sink.lines.map((l) => JSON.parse(l));
  equal(lines.length, 3);
  equal(lines[0].kind, "api");
  equal(lines[0].method, "GET");
  equal(lines[0].uri, "/api/config");
  equal(lines[0].code, 200);
  match(lines[0].msg, /^\| 200 \| +\S+ \| +\| GET +\/api\/config$/);
  equal(lines[2].code, 404);
});

Deno.test("api: the OpenAPI document covers every route, as JSON and as YAML", async () => {
  await using f = await fixture("", { prefix: "/api" });
  const doc = await (await f.req("GET", "/docs/openapi.json")).json();
  equal(doc.openapi, "3.0.3");
  deepEqual(doc.servers, [{ url: "/api" }]);
  const paths = Object.keys(doc.paths);
  for (const p of ["/config", "/config/reload", "/config/quotas/{name}/reset", "/docs/openapi.json"]) {
    ok(paths.includes(p), p);
  }
  for (const kind of OBJECT_KINDS) {
    deepEqual(Object.keys(doc.paths[`/config/${kind}`]).sort(), ["get", "post"]);
    deepEqual(Object.keys(doc.paths[`/config/${kind}/{name}`]).sort(), ["delete", "get", "parameters", "put"]);
  }
  const y = await f.req("GET", "/docs/swagger.yaml");
  match(y.headers.get("content-type")!, /yaml/);
  deepEqual(parseDocument(await y.text()).toJS(), doc);
});

Deno.test("api: concurrent calls are serialised: one create per name wins, the config stays consistent", async () => {
  await using f = await fixture();
  const same = await Promise.all(
    Array.from(
      { length: 10 },
      (_, i) => f.json("POST", "/config/authers", { name: "dup", auths: [{ username: `u${i}`, password: "p" }] }),
    ),
  );
  equal(same.filter(([st]) => st === 200).length, 1);
  equal(same.filter(([st, b]) => st === 400 && b.code === 40002).length, 9);
  const mixed = await Promise.all([
    ...Array.from({ length: 10 }, (_, i) => f.json("POST", "/config/services", sample("services", `s${i}`)[0])),
    ...Array.from(
      { length: 5 },
      () => f.json("PUT", "/config/authers/dup", { auths: [{ username: "w", password: "p" }] }),
    ),
    f.json("DELETE", "/config/authers/dup"),
  ]);
  ok(mixed.slice(0, 10).every(([st]) => st === 200));
  const cfg = JSON.parse(await f.configText());
  deepEqual(
    cfg.services.map((s: { name: string }) => s.name).sort(),
    Array.from({ length: 10 }, (_, i) => `s${i}`).sort(),
  );
  ok(cfg.services.every((s: { status: { state: string } }) => s.status.state === "ready"));
  // the DELETE ran after the PUTs queued before it; an emptied list is omitted, as GOST omits empty fields
  equal(cfg.authers, undefined);
});

Deno.test("api: api.auth and api.auther combine; the auther is looked up per request (a PUT on it takes effect)", async () => {
  const reg = createBuiltinRegistries();
  const { config } = await parseConfig("authers: [{name: au, auths: [{username: a, password: b}]}]", "inline");
  const rt = await Runtime.start(config, { reg, logger: nopLogger });
  try {
    const auth = apiAuthenticator({ auth: { username: "root", password: "r" }, auther: "au" }, reg);
    const app = createApiApp({
      target: fixedTarget({ runtime: rt, reload: () => Promise.resolve() }),
      logger: nopLogger,
      auth,
    });
    const get = (u: string, p: string) =>
      app.request("/config/authers", { headers: { Authorization: `Basic ${btoa(`${u}:${p}`)}` } });
    equal((await get("root", "r")).status, 200);
    equal((await get("a", "b")).status, 200);
    equal((await get("a", "x")).status, 401);
    await rt.replace("authers", "au", { auths: [{ username: "c", password: "d" }] });
    equal((await get("a", "b")).status, 401);
    equal((await get("c", "d")).status, 200);
    equal(apiAuthenticator({}, reg), undefined);
  } finally {
    await rt.close();
  }
});

Deno.test("api without auth: CORS for the API's own origin and the allowed ones only; other origins' writes and preflights 403, their reads without CORS; rebound Host names 403", async () => {
  await using f = await fixture("", { allowOrigins: parseAllowOrigins("https://ui.example", "api.allowOrigins") });
  const svc = (name: string) => ({ name, addr: "127.0.0.1:0", handler: { type: "http" } });
  // app.request() addresses http://localhost: its own origin is http://localhost
  for (const [origin, name] of [["http://localhost", "a"], ["https://ui.example", "b"]]) {
    const res = await f.req("POST", "/config/services", svc(name), { Origin: origin });
    equal(res.status, 200, origin);
    equal(res.headers.get("access-control-allow-origin"), origin);
    equal(res.headers.get("access-control-allow-private-network"), "true");
    match(res.headers.get("vary")!, /Origin/);
    await res.body?.cancel();
    const pre = await f.req("OPTIONS", "/config/services/a", undefined, {
      Origin: origin,
      "Access-Control-Request-Method": "PUT",
    });
    equal(pre.status, 204);
    equal(pre.headers.get("access-control-allow-origin"), origin);
  }
  for (const origin of ["http://evil.example", "null", "https://ui.example:444", "http://localhost:8080", "x"]) {
    for (const m of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
      const res = await f.req(m, m === "POST" ? "/config/services" : "/config/services/a", svc("c"), {
        Origin: origin,
      });
      equal(res.status, 403, `${m} ${origin}`);
      equal(res.headers.get("access-control-allow-origin"), null);
      equal(res.headers.get("access-control-allow-private-network"), null);
      equal(res.headers.get("access-control-allow-methods"), null);
      const body = await res.json();
      equal(body.code, 403);
      match(body.msg, /^cross-origin request from .* refused: the API has no auth; set api\.auth/);
    }
    const read = await f.req("GET", "/config/services", undefined, { Origin: origin });
    equal(read.status, 200);
    equal(read.headers.get("access-control-allow-origin"), null, origin);
    equal((await read.json()).data.count, 2);
  }
  // no Origin (curl, scripts): as GOST
  const plain = await f.req("DELETE", "/config/services/b");
  equal(plain.status, 200);
  equal(plain.headers.get("access-control-allow-origin"), "*");
  await plain.body?.cancel();
  // DNS rebinding: any DNS name but localhost and the allowed origins' hosts is refused
  for (
    const [host, st] of [["evil.example", 403], ["127.0.0.1.nip.io", 403], ["ui.example", 200], ["127.0.0.1", 200], [
      "[::1]",
      200,
    ], ["x.localhost", 200]] as const
  ) {
    const res = await f.app.request(`http://${host}:18080/config/services`, {
      headers: { Origin: `http://${host}:18080` },
    });
    equal(res.status, st, host);
    if (st === 403) {
      match((await res.json()).msg, /^Host ".*" refused: without auth the API answers only requests to an IP/);
    } else await res.body?.cancel();
  }
  // with allowOrigins: ["*"], GOST's behaviour
  await using open = await fixture("", { allowOrigins: ["*"] });
  const any = await open.req("POST", "/config/services", svc("d"), { Origin: "http://evil.example" });
  equal(any.status, 200);
  equal(any.headers.get("access-control-allow-origin"), "*");
  await any.body?.cancel();
});

Deno.test("api.allowOrigins: a list or comma-separated origins, normalised; anything else is an error naming the key", () => {
  deepEqual(parseAllowOrigins(undefined, "k"), []);
  deepEqual(parseAllowOrigins("https://UI.example:443, http://localhost:3000/", "k"), [
    "https://ui.example",
    "http://localhost:3000",
  ]);
  deepEqual(parseAllowOrigins(["*", "http://[::1]:8080"], "k"), ["*", "http://[::1]:8080"]);
  for (const bad of ["ui.example", "ftp://ui.example", "http://ui.example/path", "http://u:p@ui.example", "http://"]) {
    throws(
      () => parseAllowOrigins(bad, "api.allowOrigins"),
      new RegExp(`^ConfigError: api\\.allowOrigins: "${bad.replace(/[/.:*[\]]/g, "\\$&")}" is not an origin`),
      bad,
    );
  }
});

Deno.test("api: a PUT that changes nothing rebuilds and restarts nothing, for every kind; a changed one does", async () => {
  await using f = await fixture();
  const live = (kind: ObjectKind, name: string) =>
    kind === "services"
      ? f.rt.reg.services.get(name)
      : (f.rt.reg as unknown as Record<string, { get(n: string): unknown }>)[kind]?.get(name);
  for (const kind of BUILT_KINDS) {
    const [obj, changed] = sample(kind, `${kind}-a`);
    deepEqual(await f.json("POST", `/config/${kind}`, obj), [200, { msg: "OK" }], kind);
    const before = live(kind, `${kind}-a`);
    // the body as GET gives it (status and all), keys in another order
    const [, got] = await f.json("GET", `/config/${kind}/${kind}-a`);
    deepEqual(
      await f.json("PUT", `/config/${kind}/${kind}-a`, Object.fromEntries(Object.entries(got.data).reverse())),
      [200, { msg: "OK" }],
    );
    equal(live(kind, `${kind}-a`), before, `${kind}: the same live object`);
    deepEqual(await f.json("PUT", `/config/${kind}/${kind}-a`, changed), [200, { msg: "OK" }]);
    if (before !== undefined) notEqual(live(kind, `${kind}-a`), before, `${kind}: rebuilt after a change`);
  }
  // an auther read from a file re-reads it on an identical PUT
  const file = `${f.dir}/users`;
  await Deno.writeTextFile(file, "u1 p1\n");
  const auther = { name: "fa", file: { path: file } };
  await f.json("POST", "/config/authers", auther);
  equal(f.rt.reg.authers.get("fa")!.authenticate("u1", "p1"), "u1");
  await Deno.writeTextFile(file, "u2 p2\n");
  await f.json("PUT", "/config/authers/fa", auther);
  equal(f.rt.reg.authers.get("fa")!.authenticate("u2", "p2"), "u2");
});

Deno.test("api: a reload that changes nothing keeps every live object; a changed hop rebuilds the chains too", async () => {
  const yaml = `services:
  - {name: s, addr: "127.0.0.1:0", handler: {type: http}}
hops:
  - {name: h1, nodes: [{name: n1, addr: "127.0.0.1:1"}]}
chains:
  - {name: c1, hops: [{name: h1}]}
bypasses:
  - {name: b1, matchers: [10.0.0.0/8]}
`;
  await using f = await fixture(yaml);
  const reg = f.rt.reg;
  const objs = () => [reg.services.get("s"), reg.hops.get("h1"), reg.chains.get("c1"), reg.bypasses.get("b1")];
  const before = objs();
  f.next.config = structuredClone((await parseConfig(yaml, "inline")).config);
  deepEqual(await f.json("POST", "/config/reload"), [200, { msg: "OK" }]);
  deepEqual(objs(), before);
  f.next.config = (await parseConfig(yaml.replace("127.0.0.1:1", "127.0.0.1:2"), "inline")).config;
  deepEqual(await f.json("POST", "/config/reload"), [200, { msg: "OK" }]);
  const after = objs();
  equal(after[0], before[0], "the service is kept");
  notEqual(after[1], before[1], "the hop is rebuilt");
  notEqual(after[2], before[2], "and the chain that names it");
  equal(after[3], before[3], "the bypass is kept");
});
