/**
 * The Web API against a real gost.ts process, driven with curl and fetch: live create/replace/delete, status and
 * exact stats, failed services, auth and CORS, save and restart, reload keeping connections, the `api` handler
 * and a unix socket.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { parseConfig } from "../../core/config/load.ts";
import { freePort } from "../helpers/gost.ts";
import { curl } from "../helpers/run.ts";
import { httpOrigin, tcpEcho } from "../helpers/servers.ts";
import { call, exchange, startApi } from "../helpers/api.ts";
import { listening, until } from "../helpers/wait.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Writes `msg` on an open conn and reads the same number of bytes back. */
async function echo(c: Deno.Conn, msg: string): Promise<string> {
  await c.write(enc.encode(msg));
  const want = enc.encode(msg).length;
  const buf = new Uint8Array(want);
  let got = 0;
  while (got < want) {
    const n = await c.read(buf.subarray(got));
    if (n === null) throw new Error("closed");
    got += n;
  }
  return dec.decode(buf);
}

// deno-lint-ignore no-explicit-any
function withoutStatus(cfg: any): any {
  const out = structuredClone(cfg);
  for (const s of out.services ?? []) delete s.status;
  return out;
}

Deno.test("api e2e: POST starts a service curl can use, GET shows status and exact stats, PUT adds auth, DELETE frees the port", async () => {
  const origin = httpOrigin();
  const apiPort = freePort();
  const port = freePort();
  await using g = await startApi(["-api", `127.0.0.1:${apiPort}`], { apiPort });
  const proxy = `http://127.0.0.1:${port}`;
  const target = `http://127.0.0.1:${origin.port}/a`;
  equal((await curl("-x", proxy, target)).code, 7, "nothing listens before the POST");

  const t0 = Math.floor(Date.now() / 1000);
  const svc = { name: "px", addr: `127.0.0.1:${port}`, handler: { type: "http" }, metadata: { enableStats: true } };
  deepEqual((await call("POST", `${g.base}/config/services`, svc)).body, { msg: "OK" });

  // N requests whose bytes we control, then the exact stats
  const N = 4;
  const req = `GET http://127.0.0.1:${origin.port}/s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`;
  let output = 0;
  for (let i = 0; i < N; i++) {
    const reply = await exchange(port, req);
    match(dec.decode(reply), /^HTTP\/1\.1 200 [\s\S]*hello \/s$/);
    output += reply.length;
  }
  // deno-lint-ignore no-explicit-any
  let st: any;
  await until(async () => {
    st = (await call("GET", `${g.base}/config/services/px`)).body.data.status;
    return st.stats.currentConns === 0;
  }, "the last conn to close");
  equal(st.state, "ready");
  ok(st.createTime >= t0 && st.createTime <= Math.floor(Date.now() / 1000));
  deepEqual(st.events.map((e: { msg: string }) => e.msg), [
    "service px is running",
    "service px is ready",
    `service px is listening on 127.0.0.1:${port}`,
  ]);
  deepEqual(st.stats, {
    totalConns: N,
    currentConns: 0,
    totalErrs: 0,
    inputBytes: N * req.length,
    outputBytes: output,
  });

  let r = await curl("-x", proxy, target);
  equal(r.stdout, "hello /a");

  // PUT: restarted with auth
  const put = await call("PUT", `${g.base}/config/services/px`, {
    ...svc,
    handler: { type: "http", auth: { username: "u", password: "p" } },
  });
  deepEqual(put.body, { msg: "OK" });
  r = await curl("-x", proxy, "-o", "/dev/null", "-w", "%{http_code}", target);
  equal(r.stdout, "407");
  r = await curl("-x", proxy, "--proxy-user", "u:p", target);
  equal(r.stdout, "hello /a");
  const after = (await call("GET", `${g.base}/config/services/px`)).body.data;
  deepEqual(after.handler.auth, { username: "u", password: "p" });
  equal(after.status.stats.totalConns, 2, "stats start again after a PUT");

  // DELETE: stopped, port free
  deepEqual((await call("DELETE", `${g.base}/config/services/px`)).body, { msg: "OK" });
  r = await curl("-x", proxy, "--proxy-user", "u:p", target);
  equal(r.code, 7, r.stderr);
  match(r.stderr, /Could not connect|Failed to connect|Connection refused/i);
  Deno.listen({ hostname: "127.0.0.1", port }).close();
  equal((await call("GET", `${g.base}/config/services/px`)).status, 404);
  await origin.close();
});

Deno.test("api e2e: services that cannot bind are failed with the reason while the API answers; API auth and CORS with curl", async () => {
  const apiPort = freePort();
  const shared = freePort();
  using held = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const dir = await Deno.makeTempDir({ prefix: "gost-api-" });
  const file = `${dir}/gost.yaml`;
  await Deno.writeTextFile(
    file,
    `services:
  - name: a
    addr: 127.0.0.1:${shared}
    handler: {type: http}
  - name: b
    addr: 127.0.0.1:${shared}
    handler: {type: http}
  - name: c
    addr: 127.0.0.1:${held.addr.port}
    handler: {type: socks5}
`,
  );
  await using g = await startApi(["-C", file, "-api", `admin:s3cret@127.0.0.1:${apiPort}`], {
    apiPort,
    listening: 1,
  });
  const u = ["-u", "admin:s3cret"];

  // auth: 401 without or with wrong credentials, JSON body, WWW-Authenticate, CORS
  for (const creds of [[], ["-u", "admin:nope"], ["-H", "Authorization: Basic Og=="]]) {
    const r = await curl("-i", ...creds, `${g.base}/config`);
    match(r.stdout, /^HTTP\/1\.1 401 /, creds.join(" "));
    match(r.stdout, /\r\nwww-authenticate: Basic\r\n/i);
    match(r.stdout, /\r\naccess-control-allow-origin: \*\r\n/i);
    match(r.stdout, /\r\n\r\n\{"code":401,"msg":"Unauthorized"\}$/);
  }
  // preflight as gost-ui sends it: no auth needed
  const pre = await curl(
    "-i",
    "-X",
    "OPTIONS",
    "-H",
    "Authorization: Basic Og==",
    "-H",
    "Origin: http://ui.example",
    "-H",
    "Access-Control-Request-Method: PUT",
    "-H",
    "Access-Control-Request-Headers: authorization, content-type",
    `${g.base}/config/services/b`,
  );
  match(pre.stdout, /^HTTP\/1\.1 204 /);
  match(pre.stdout, /\r\naccess-control-allow-origin: \*\r\n/i);
  match(pre.stdout, /\r\naccess-control-allow-methods: GET, POST, PUT, DELETE, OPTIONS\r\n/i);
  match(pre.stdout, /\r\naccess-control-allow-headers: [^\r]*Authorization/i);
  match(pre.stdout, /\r\naccess-control-allow-private-network: true\r\n/i);
  // docs need no auth
  const doc = await curl("-sf", `${g.base}/docs/openapi.json`);
  equal(JSON.parse(doc.stdout).openapi, "3.0.3");
  match((await curl("-sf", `${g.base}/docs/swagger.yaml`)).stdout, /^openapi: 3\.0\.3\n/);

  // failed services, with why
  const list = JSON.parse((await curl(...u, `${g.base}/config/services`)).stdout).data.list;
  deepEqual(list.map((s: { name: string; status: { state: string } }) => [s.name, s.status.state]), [
    ["a", "ready"],
    ["b", "failed"],
    ["c", "failed"],
  ]);
  for (const s of list.slice(1)) {
    match(s.status.events.at(-1).msg, new RegExp(`^service ${s.name} is failed: .*listen .*(in use|AddrInUse)`, "i"));
  }
  // the working one works; a PUT fixes a failed one
  const origin = httpOrigin();
  match(
    (await curl(
      "-x",
      `http://127.0.0.1:${shared}`,
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      `http://127.0.0.1:${origin.port}/ok`,
    )).stdout,
    /^200$/,
  );
  await origin.close();
  const fixed = freePort();
  const put = await curl(
    ...u,
    "-X",
    "PUT",
    "-d",
    JSON.stringify({ addr: `127.0.0.1:${fixed}`, handler: { type: "http" } }),
    `${g.base}/config/services/b`,
  );
  equal(put.stdout, '{"msg":"OK"}');
  const b = JSON.parse((await curl(...u, `${g.base}/config/services/b`)).stdout).data;
  equal(b.status.state, "ready");
  ok(await listening(fixed));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("api e2e: POST /config saves the -C file atomically; other paths refused; a restart on it gives the same config", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gost-api-" });
  const file = `${dir}/gost.yaml`;
  const [apiPort, p1, p2] = [freePort(), freePort(), freePort()];
  await Deno.writeTextFile(
    file,
    `# hand-written
services:
  - name: s1
    addr: 127.0.0.1:${p1}
    handler: {type: http, auth: {username: u, password: p}}
    metadata: {enableStats: true}
`,
  );
  let live;
  {
    await using g = await startApi(["-C", file, "-api", `127.0.0.1:${apiPort}`], { apiPort, listening: 1, cwd: dir });
    const s2 = { name: "s2", addr: `127.0.0.1:${p2}`, handler: { type: "socks5" }, _id_: 3, status: { x: 1 } };
    deepEqual((await call("POST", `${g.base}/config/services`, s2)).body, { msg: "OK" });
    const r = await curl("-X", "POST", `${g.base}/config?format=json`);
    equal(r.stdout, '{"msg":"OK"}');
    live = JSON.parse((await curl(`${g.base}/config`)).stdout);
    const saved = (await parseConfig(await Deno.readTextFile(file), file)).config;
    deepEqual(saved, withoutStatus(live));
    equal(saved.services![1].name, "s2");
    ok(!("_id_" in saved.services![1]));
    for (const p of ["../x.yaml", "/tmp/gost-api-elsewhere.yaml", `${dir}/sub/x.yaml`]) {
      const bad = await curl("-X", "POST", `${g.base}/config?path=${encodeURIComponent(p)}`);
      const body = JSON.parse(bad.stdout);
      equal(body.code, 40001, p);
      match(body.msg, /outside the config directory/);
    }
    deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["gost.yaml"]);
    await g.stop();
  }
  // restart on the saved file alone (its api block comes from the save)
  await using g2 = await startApi(["-C", file], { apiPort, listening: 2, cwd: dir });
  const again = JSON.parse((await curl(`${g2.base}/config`)).stdout);
  deepEqual(withoutStatus(again), withoutStatus(live));
  equal(again.services[0].status.state, "ready");
  equal(
    (await curl("-x", `http://127.0.0.1:${p1}`, "-o", "/dev/null", "-w", "%{http_code}", `${g2.base}/config`)).stdout,
    "407",
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("api e2e: reload (API and SIGHUP) rebuilds only what changed: an open tunnel through an unchanged service keeps passing bytes", async () => {
  const echoSrv = tcpEcho();
  const origin = httpOrigin();
  const dir = await Deno.makeTempDir({ prefix: "gost-api-" });
  const file = `${dir}/gost.yaml`;
  const [apiPort, pa, pb] = [freePort(), freePort(), freePort()];
  const write = (bAuth: boolean) =>
    Deno.writeTextFile(
      file,
      `services:
  - name: a
    addr: 127.0.0.1:${pa}
    handler: {type: tcp}
    listener: {type: tcp}
    forwarder: {nodes: [{name: echo, addr: 127.0.0.1:${echoSrv.port}}]}
  - name: b
    addr: 127.0.0.1:${pb}
    handler: {type: http${bAuth ? ", auth: {username: u, password: p}" : ""}}
`,
    );
  await write(false);
  await using g = await startApi(["-C", file, "-api", `127.0.0.1:${apiPort}`], { apiPort, listening: 2 });
  const target = `http://127.0.0.1:${origin.port}/x`;
  const viaB = async () =>
    (await curl("-x", `http://127.0.0.1:${pb}`, "-o", "/dev/null", "-w", "%{http_code}", target)).stdout;
  equal(await viaB(), "200");
  using tunnel = await Deno.connect({ hostname: "127.0.0.1", port: pa });
  equal(await echo(tunnel, "before"), "before");
  const aBefore = (await call("GET", `${g.base}/config/services/a`)).body.data.status;

  await write(true);
  deepEqual((await call("POST", `${g.base}/config/reload`)).body, { msg: "OK" });
  equal(await echo(tunnel, "after API reload"), "after API reload");
  equal(await viaB(), "407");
  deepEqual((await call("GET", `${g.base}/config/services/a`)).body.data.status, aBefore, "a was kept as it was");
  deepEqual((await call("GET", `${g.base}/config/services/b`)).body.data.handler.auth, {
    username: "u",
    password: "p",
  });

  await write(false);
  g.child.kill("SIGHUP");
  await until(async () => !(await call("GET", `${g.base}/config/services/b`)).body.data.handler.auth, "SIGHUP reload");
  equal(await viaB(), "200");
  equal(await echo(tunnel, "after SIGHUP"), "after SIGHUP");
  ok(g.lines.some((l) => /config reloaded: 1 kept, 1 restarted/.test(l)));

  // a reload source that does not parse: 400/40001, nothing changes
  await Deno.writeTextFile(file, "services: [ {name: x\n");
  const bad = await call("POST", `${g.base}/config/reload`);
  equal(bad.status, 400);
  equal(bad.body.code, 40001);
  equal(await echo(tunnel, "still"), "still");
  equal(await viaB(), "200");
  echoSrv.close();
  await origin.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("api e2e: the api handler serves the API as a normal service (auth, prefix, keep-alive, 413) beside a unix-socket API", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gost-api-" });
  const sock = `${dir}/api.sock`;
  const port = freePort();
  await using g = await startApi(
    ["-api", `unix://${sock}`, "-L", `api://admin:pw@127.0.0.1:${port}?pathPrefix=/api&accessLog=true`],
    { apiPort: port, prefix: "/api", listening: 1 },
  );
  // unix socket API: no auth
  const list = JSON.parse((await curl("--unix-socket", sock, "http://gost/config/services")).stdout).data.list;
  deepEqual(list.map((s: { name: string; handler: { type: string } }) => [s.name, s.handler.type]), [[
    "service-0",
    "api",
  ]]);
  // the api service: auth, prefix, CORS, keep-alive across requests on one conn
  const r401 = await curl("-i", `${g.base}/config`);
  match(r401.stdout, /^HTTP\/1\.1 401 Unauthorized\r\n/);
  match(r401.stdout, /\r\nwww-authenticate: Basic\r\n/i);
  match(r401.stdout, /\r\naccess-control-allow-origin: \*\r\n/i);
  const two = await curl("-v", "-u", "admin:pw", `${g.base}/config/services/service-0`, `${g.base}/config/hops`);
  match(two.stdout, /^\{"data":\{"name":"service-0".*\}\}\{"data":\{"count":0,"list":\[\]\}\}$/);
  match(two.stderr, /Re-using existing connection|Reusing existing/i);
  const pre = await curl("-i", "-X", "OPTIONS", "-H", "Authorization: Basic Og==", `${g.base}/config/services`);
  match(pre.stdout, /^HTTP\/1\.1 204 /);
  // create a service through it, then use it (to reach this process's own API it must allow self targets)
  const p2 = freePort();
  const created = await curl(
    "-u",
    "admin:pw",
    "-d",
    JSON.stringify({
      name: "h",
      addr: `127.0.0.1:${p2}`,
      handler: { type: "http" },
      metadata: { allowSelfTarget: true },
    }),
    `${g.base}/config/services`,
  );
  equal(created.stdout, '{"msg":"OK"}');
  const via = await curl("-x", `http://127.0.0.1:${p2}`, "-u", "admin:pw", `${g.base}/config/services/h`);
  equal(JSON.parse(via.stdout).data.status.state, "ready");
  // chunked body and an oversized body
  const chunked = await curl(
    "-u",
    "admin:pw",
    "-H",
    "Transfer-Encoding: chunked",
    "-d",
    JSON.stringify({ name: "q1" }),
    `${g.base}/config/bypasses`,
  );
  equal(chunked.stdout, '{"msg":"OK"}');
  const bigFile = `${dir}/big.json`;
  await Deno.writeFile(bigFile, new Uint8Array(10 << 20).fill(0x20));
  const big = await curl("-i", "-u", "admin:pw", "--data-binary", `@${bigFile}`, `${g.base}/config/services`);
  match(big.stdout, /^HTTP\/1\.1 413 /);
  match(big.stdout, /\{"code":40001,"msg":"request body: larger than 1048576 bytes"\}$/);
  ok(g.lines.some((l) => /"kind":"api"/.test(l) && /\| 401 \|/.test(l)), "access log line");
  await Deno.remove(dir, { recursive: true });
});
