/** The `api` handler on raw bytes: malformed requests, pipelining, HTTP/1.0, chunked bodies, caps, unbound target. */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { bindApiTarget, unbindApiTarget } from "../../../core/api/target.ts";
import { parseConfig } from "../../../core/config/load.ts";
import { nopLogger } from "../../../core/log.ts";
import { Runtime } from "../../../core/runtime/runtime.ts";
import { createBuiltinRegistries } from "../../../mod.ts";
import { exchange } from "../../helpers/api.ts";

const dec = new TextDecoder();

async function apiService(bind = true) {
  const reg = createBuiltinRegistries();
  const { config } = await parseConfig(
    `services:
  - name: api
    addr: 127.0.0.1:0
    handler: {type: api, auth: {username: u, password: p}, metadata: {pathPrefix: /p}}
`,
    "inline",
  );
  const rt = await Runtime.start(config, { reg, logger: nopLogger });
  if (bind) bindApiTarget(reg, { runtime: rt, reload: () => Promise.resolve() });
  const st = rt.get("services", "api").status as { events: { msg: string }[] };
  const port = Number(/:(\d+)$/.exec(st.events.at(-1)!.msg)![1]);
  return {
    port,
    async [Symbol.asyncDispose]() {
      unbindApiTarget(reg);
      await rt.close();
    },
  };
}

const AUTH = `Authorization: Basic ${btoa("u:p")}\r\n`;

Deno.test("api handler: pipelined keep-alive requests, HTTP/1.0 close, HEAD, chunked and Expect bodies", async () => {
  await using s = await apiService();
  const one = `GET /p/config/services HTTP/1.1\r\nHost: x\r\n${AUTH}\r\n`;
  const text = dec.decode(
    await exchange(s.port, one + one.replace("services", "hops") + `GET /p/docs/openapi.json HTTP/1.0\r\n\r\n`),
  );
  const heads = text.match(/HTTP\/1\.1 \d{3} [^\r]*/g);
  deepEqual(heads, ["HTTP/1.1 200 OK", "HTTP/1.1 200 OK", "HTTP/1.1 200 OK"]);
  match(text, /"count":0,"list":\[\]/);
  match(text, /\r\nconnection: close\r\n[\s\S]*"openapi": "3\.0\.3"/);
  const head = dec.decode(await exchange(s.port, `HEAD /p/docs/openapi.json HTTP/1.1\r\nConnection: close\r\n\r\n`));
  match(head, /^HTTP\/1\.1 200 OK\r\n[\s\S]*content-length: \d+\r\n[\s\S]*\r\n\r\n$/);
  const body = '{"name":"q1"}';
  const chunked = dec.decode(
    await exchange(
      s.port,
      `POST /p/config/bypasses HTTP/1.1\r\n${AUTH}Transfer-Encoding: chunked\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n` +
        `5\r\n${body.slice(0, 5)}\r\n${(body.length - 5).toString(16)}\r\n${body.slice(5)}\r\n0\r\n\r\n`,
    ),
  );
  match(chunked, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n[\s\S]*\{"msg":"OK"\}$/);
});

Deno.test("api handler: malformed requests get a JSON error with CORS, then the conn closes", async () => {
  await using s = await apiService();
  const cases: [string, number, RegExp][] = [
    ["GARBAGE\r\n\r\n", 400, /Malformed request line/],
    ["GET / HTTP/2.0\r\n\r\n", 505, /Unsupported HTTP version/],
    ["GET /p/config HTTP/1.1\r\nBad Header\r\n\r\n", 400, /Malformed header line/],
    [`POST /p/config/quotas HTTP/1.1\r\n${AUTH}Content-Length: 99999999\r\n\r\n`, 413, /larger than 1048576 bytes/],
    [`POST /p/config/quotas HTTP/1.1\r\n${AUTH}Transfer-Encoding: chunked\r\n\r\nzz\r\n`, 400, /Invalid chunk size/],
    [`POST /p/config/quotas HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n`, 400, /Both/],
    [`GET p/config HTTP/1.1\r\n\r\n`, 400, /Unsupported request target/],
    [`GET /p/config HTTP/1.1\r\nX: ${"a".repeat(70_000)}\r\n\r\n`, 431, /longer|larger/],
  ];
  for (const [req, status, msg] of cases) {
    const text = dec.decode(await exchange(s.port, req));
    match(text, new RegExp(`^HTTP/1\\.1 ${status} `), req.slice(0, 40));
    match(text, /\r\naccess-control-allow-origin: \*\r\n/);
    const json = JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4));
    equal(json.code, status === 413 ? 40001 : status);
    match(json.msg, msg);
  }
  // the handler's own auth protects /config
  const r = dec.decode(await exchange(s.port, "GET /p/config HTTP/1.1\r\nConnection: close\r\n\r\n"));
  match(r, /^HTTP\/1\.1 401 Unauthorized\r\n[\s\S]*www-authenticate: Basic\r\n/);
});

Deno.test("api handler: answers 503 until the instance is bound", async () => {
  await using s = await apiService(false);
  const r = dec.decode(await exchange(s.port, `GET /p/config HTTP/1.1\r\n${AUTH}Connection: close\r\n\r\n`));
  match(r, /^HTTP\/1\.1 503 /);
  ok(r.endsWith('{"code":503,"msg":"the instance is starting: try again"}'));
});
