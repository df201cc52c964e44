/**
 * Hundreds of malformed bodies against a running process: each gets a 4xx with a JSON `{code, msg}` naming the
 * field, the running config stays byte-identical and the process keeps serving.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { freePort } from "../../helpers/gost.ts";
import { curl } from "../../helpers/run.ts";
import { call, startApi } from "../../helpers/api.ts";
import { listening } from "../../helpers/wait.ts";

interface Case {
  method: "POST" | "PUT";
  path: string;
  body: string;
  /** What the message must contain (the field it names). */
  msg: RegExp;
  code?: number;
}

const ESC = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function setPath(obj: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const out = structuredClone(obj);
  const keys = path.split(".");
  let o = out;
  for (const k of keys.slice(0, -1)) {
    if (typeof o[k] !== "object" || o[k] === null) o[k] = {};
    o = o[k] as Record<string, unknown>;
  }
  o[keys.at(-1)!] = value;
  return out;
}

/** Builds the malformed requests. */
function cases(): Case[] {
  const out: Case[] = [];
  const post = (path: string, body: string, msg: RegExp, code?: number) =>
    out.push({ method: "POST", path, body, msg, code });

  // not JSON
  const notJson = [
    "{",
    "}",
    "{name:1}",
    "{'name':'x'}",
    '{"name":}',
    '{"name":"x",}',
    "nul",
    "tru",
    "[1,]",
    '{"a":1}}',
    "\u0000",
    '{"name":"x"',
    "NaN",
    "Infinity",
    "undefined",
    "--",
    "<xml/>",
    "name=x&addr=y",
    '{"name":"x"}{"name":"y"}',
    '"unterminated',
    '{"a":01}',
    "0x10",
    ".5",
    "+1",
    '{"a":"\\x"}',
    '{"a":"\t"}',
    '{"a":1 /* c */}',
    "# yaml: not json",
    "name: x",
    "\ufeff{",
  ];
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let i = 0; i < 6; i++) {
    notJson.push("{" + Array.from({ length: 40 }, () => String.fromCharCode(33 + Math.floor(rnd() * 90))).join(""));
  }
  for (const [i, b] of notJson.entries()) {
    post(["/config/services", "/config/chains", "/config/authers"][i % 3], b, /: request body is not valid JSON/);
  }
  // JSON but not an object
  for (const b of ["[]", "[1]", "[{}]", "1", "-1", "1.5", "true", "false", "null", '"str"', "[[]]", '[{"name":"x"}]']) {
    post("/config/services", b, /^services: request body must be a JSON object, got /);
    post("/config/hops", b, /^hops: request body must be a JSON object, got /);
  }
  for (const b of ["", "   ", "\n\t"]) post("/config/bypasses", b, /^bypasses: request body is empty/);

  // a wrong type for every service field
  const base = { name: "bad", addr: "127.0.0.1:1", handler: { type: "http" } };
  const str = [1, true, [], {}];
  const obj = ["x", 1, []];
  const list = ["x", 1, {}, [1]];
  const fields: [string, unknown[]][] = [
    ["name", [1, true, [], {}, null]],
    ["addr", str],
    ["interface", str],
    ["sockopts", obj],
    ["sockopts.mark", ["x", 1.5, true]],
    ["admission", str],
    ["admissions", list],
    ["bypass", str],
    ["bypasses", list],
    ["resolver", str],
    ["hosts", str],
    ["limiter", str],
    ["climiter", str],
    ["rlimiter", str],
    ["logger", str],
    ["loggers", list],
    ["observer", str],
    ["recorders", ["x", 1, [1], [{}]]],
    ["handler", obj],
    ["handler.type", str],
    ["handler.retries", ["x", 1.5, -1, true]],
    ["handler.chain", str],
    ["handler.chainGroup", obj],
    ["handler.auther", str],
    ["handler.authers", list],
    ["handler.auth", obj],
    ["handler.auth.username", str],
    ["handler.auth.password", str],
    ["handler.auth.file", str],
    ["handler.tls", obj],
    ["handler.tls.secure", ["yes", 1]],
    ["handler.limiter", str],
    ["handler.observer", str],
    ["handler.metadata", obj],
    ["listener", obj],
    ["listener.type", str],
    ["listener.chain", str],
    ["listener.auther", str],
    ["listener.authers", list],
    ["listener.auth", obj],
    ["listener.tls", obj],
    ["listener.metadata", obj],
    ["forwarder", obj],
    ["forwarder.name", str],
    ["forwarder.hop", str],
    ["forwarder.selector", obj],
    ["forwarder.selector.strategy", str],
    ["forwarder.selector.maxFails", ["x", 1.5, true]],
    ["forwarder.selector.failTimeout", [true, {}, []]],
    ["forwarder.nodes", ["x", 1, {}, [1], [{}], [{ addr: 1 }]]],
    ["metadata", obj],
  ];
  for (const [field, values] of fields) {
    for (const v of values) {
      post("/config/services", JSON.stringify(setPath(base, field, v)), new RegExp(`services\\.${ESC(field)}`));
    }
  }
  // other kinds
  const kindFields: [string, Record<string, unknown>, string, unknown[]][] = [
    ["authers", { name: "x" }, "auths", ["x", [1], [{ username: 1 }]]],
    ["authers", { name: "x" }, "file", ["x", { path: 1 }]],
    ["chains", { name: "x" }, "hops", ["x", [1], [{ nodes: "x" }], [{ nodes: [{ addr: 1 }] }]]],
    ["chains", { name: "x" }, "metadata", ["x", []]],
    ["hops", { name: "x" }, "nodes", ["x", [1]]],
    ["hops", { name: "x" }, "selector", ["x", { maxFails: "x" }]],
    ["bypasses", { name: "x" }, "matchers", ["x", [1]]],
    ["bypasses", { name: "x" }, "whitelist", ["yes", 1]],
    ["admissions", { name: "x" }, "matchers", [{}, [true]]],
    ["hosts", { name: "x" }, "mappings", ["x", [{ ip: 1, hostname: "a" }]]],
    ["resolvers", { name: "x" }, "nameservers", ["x", [{}]]],
    ["limiters", { name: "x" }, "limits", ["x", [1]]],
    ["observers", { name: "x" }, "plugin", ["x", { addr: 1 }]],
  ];
  for (const [kind, b, field, values] of kindFields) {
    for (const v of values) {
      post(`/config/${kind}`, JSON.stringify({ ...b, [field]: v }), new RegExp(`${kind}\\.${field}`));
    }
  }
  // unknown handler and listener types
  for (let i = 0; i < 10; i++) {
    post(
      "/config/services",
      JSON.stringify({ ...base, handler: { type: `no-such-handler-${i}` } }),
      new RegExp(`handler\\.type: unknown handler type "no-such-handler-${i}"`),
    );
    post(
      "/config/services",
      JSON.stringify({ ...base, listener: { type: `no-such-listener-${i}` } }),
      new RegExp(`listener\\.type: unknown listener type "no-such-listener-${i}"`),
    );
  }
  // duplicates
  for (const extra of [{}, { addr: "127.0.0.1:1" }, { handler: { type: "socks5" } }, { metadata: {} }]) {
    post(
      "/config/services",
      JSON.stringify({ name: "s1", ...extra }),
      /^services\.name: services "s1" already exists/,
      40002,
    );
  }
  post("/config/authers", JSON.stringify({ name: "au" }), /^authers\.name: .*"au" already exists/, 40002);
  // bad and missing names
  for (const kind of ["services", "authers", "chains"]) {
    for (const name of ["a/b", "/", "../x", "..", "a\\b", " a", "a ", "x/..", "a/../b", ""]) {
      post(`/config/${kind}`, JSON.stringify({ name, addr: "127.0.0.1:1" }), new RegExp(`${kind}\\.name`));
    }
    for (const b of [{}, { addr: "127.0.0.1:1" }, { handler: { type: "http" } }]) {
      post(`/config/${kind}`, JSON.stringify(b), new RegExp(`${kind}\\.name`));
    }
  }
  // PUT with invalid bodies: refused before the service is touched
  for (const [field, values] of fields.slice(1, 12)) {
    out.push({
      method: "PUT",
      path: "/config/services/s1",
      body: JSON.stringify(setPath(base, field, values[0])),
      msg: new RegExp(`services\\.${ESC(field)}`),
    });
  }
  for (const b of ["[]", "{", "1", ""]) {
    out.push({ method: "PUT", path: "/config/services/s1", body: b, msg: /^services: / });
  }
  return out;
}

Deno.test("api e2e: 200+ malformed bodies each get a 4xx naming the field; GET /config stays byte-identical", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gost-api-" });
  const file = `${dir}/gost.yaml`;
  const [apiPort, p1] = [freePort(), freePort()];
  await Deno.writeTextFile(
    file,
    `services:
  - name: s1
    addr: 127.0.0.1:${p1}
    handler: {type: http}
authers:
  - name: au
    auths: [{username: u, password: p}]
`,
  );
  await using g = await startApi(["-C", file, "-api", `127.0.0.1:${apiPort}`], { apiPort, listening: 1 });
  const before = (await call("GET", `${g.base}/config`)).text;
  const all = cases();
  ok(all.length >= 200, `only ${all.length} cases`);
  for (const c of all) {
    const what = `${c.method} ${c.path} ${c.body.slice(0, 80)}`;
    const r = await call(c.method, `${g.base}${c.path}`, c.body);
    ok(r.status >= 400 && r.status < 500, `${what}: HTTP ${r.status} ${r.text}`);
    equal(r.status, (c.code ?? 40001) === 40002 ? 400 : 400, what);
    equal(r.body?.code, c.code ?? 40001, `${what}: ${r.text}`);
    equal(typeof r.body.msg, "string");
    match(r.body.msg, c.msg, what);
    equal(r.headers.get("access-control-allow-origin"), "*");
  }
  // a 10 MB body with curl: 413 before parsing
  const bigFile = `${dir}/big.json`;
  await Deno.writeFile(bigFile, new Uint8Array(10 << 20).fill(0x7b));
  const big = await curl(
    "-H",
    "Content-Type: application/json",
    "--data-binary",
    `@${bigFile}`,
    "-w",
    "\n%{http_code}",
    `${g.base}/config/services`,
  );
  deepEqual(big.stdout.split("\n"), ['{"code":40001,"msg":"request body: larger than 1048576 bytes"}', "413"]);

  equal((await call("GET", `${g.base}/config`)).text, before);
  ok(await listening(p1), "the service still serves");
  equal((await call("GET", `${g.base}/config/services/s1`)).body.data.status.state, "ready");
  await Deno.remove(dir, { recursive: true });
});
