/**
 * Probe resistance of the http handler (README.md, "Probe resistance"): a client without (or with wrong) credentials
 * gets the decoy — a status, a fetched page, a relay to a decoy host, a file — with nothing that says "proxy"; the
 * `knock` host still gets the 407; right credentials are proxied as usual. curl is the client, the services run
 * in-process, and bad values are checked on a real gost.ts process.
 */
import { deepEqual, doesNotMatch, equal, match, ok } from "node:assert/strict";
import { Metadata } from "../../../core/metadata.ts";
import type { HandlerOptions } from "../../../core/contracts.ts";
import { AutoHandler } from "../../../handlers/auto/handler.ts";
import { HttpHandler } from "../../../handlers/http/handler.ts";
import { knocks, parseProbeResistance, requestHostname } from "../../../handlers/http/probe.ts";
import { decoyRequestHead } from "../../../handlers/http/decoy.ts";
import { latin1Decode, parseRequestHead } from "../../../handlers/http/wire.ts";
import { gostCommand } from "../../helpers/gost.ts";
import { RawClient, rawOrigin } from "../../helpers/http_raw.ts";
import { curl } from "../../helpers/run.ts";
import { httpOrigin } from "../../helpers/servers.ts";
import { startService } from "../../helpers/service.ts";

const users = [{ username: "u", password: "p" }];

/** Runs gost.ts, which should fail at start; killed after 20 s if it does not (then the test fails). */
async function startFails(args: string[]): Promise<{ code: number; stderr: string }> {
  const child = gostCommand(args).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  const out = await child.output();
  clearTimeout(timer);
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}
const http = (o: HandlerOptions) => new HttpHandler(o);

/** A service of the http handler with user u:p and `metadata`. */
function proxy(metadata: Record<string, unknown>) {
  return startService({ handler: http, users, metadata });
}

/** curl -i through the proxy at `port`: status, head and body. */
async function via(
  port: number,
  url: string,
  ...args: string[]
): Promise<{ status: number; head: string; body: string }> {
  const r = await curl("-i", "-x", `http://127.0.0.1:${port}`, ...args, url);
  const at = r.stdout.indexOf("\r\n\r\n");
  const head = at < 0 ? r.stdout : r.stdout.slice(0, at);
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, body: r.stdout.slice(at + 4) };
}

/** Nothing of the head says "proxy". */
/** The status curl got to its CONNECT through the proxy on `port` (curl's `%{http_connect}`). */
function connectStatus(port: number, url: string) {
  return curl("-p", "-x", `http://127.0.0.1:${port}`, "-o", "/dev/null", "-w", "%{http_connect}", url);
}

function noProxyHeaders(head: string): void {
  doesNotMatch(head, /proxy-agent|proxy-authenticate|gost|x-mine/i, head);
  doesNotMatch(head, /^HTTP\/1\.1 407/, head);
}

Deno.test("probeResistance=code:404: no or wrong credentials get a bare 404, right ones are proxied", async () => {
  const origin = httpOrigin();
  await using svc = await proxy({ probeResistance: "code:404", header: { "X-Mine": "1" } });
  try {
    for (const creds of [[], ["--proxy-user", "u:wrong"], ["--proxy-user", "nobody:p"]]) {
      const r = await via(svc.port, `http://127.0.0.1:${origin.port}/x`, ...creds);
      equal(r.status, 404, r.head);
      noProxyHeaders(r.head);
      equal(r.body, "");
    }
    // origin-form, as a web prober sends it
    const direct = await curl("-i", `http://127.0.0.1:${svc.port}/`);
    match(direct.stdout, /^HTTP\/1\.1 404 Not Found\r\n/);
    noProxyHeaders(direct.stdout);
    // CONNECT without credentials: the same decoy
    const tunnel = await connectStatus(svc.port, "https://example.test/");
    equal(tunnel.stdout, "404");
    equal(origin.requests, 0, "no request reached the target");
    // a request that does not parse gets a plain 400, without the proxy's headers
    await using raw = await RawClient.open(svc.port);
    await raw.send("garbage\r\n\r\n");
    const bad = await raw.readAll();
    match(bad, /^HTTP\/1\.1 400 Bad Request\r\n/);
    noProxyHeaders(bad);

    const good = await via(svc.port, `http://127.0.0.1:${origin.port}/x`, "--proxy-user", "u:p");
    equal(good.status, 200, good.head);
    equal(good.body, "hello /x");
  } finally {
    await origin.close();
  }
});

Deno.test("probeResistance=web: the decoy is the configured page, never the prober's target", async () => {
  const decoy = httpOrigin();
  const target = httpOrigin();
  await using svc = await proxy({ probeResist: `web:127.0.0.1:${decoy.port}/decoy.html` });
  try {
    const r = await via(svc.port, `http://127.0.0.1:${target.port}/secret`);
    equal(r.status, 200, r.head);
    equal(r.body, "hello /decoy.html");
    match(r.head, /\r\nX-Origin: yes\r\n/i);
    match(r.head, /\r\nContent-Length: 17\r\n/i);
    noProxyHeaders(r.head);
    const head = await via(svc.port, `http://127.0.0.1:${target.port}/`, "-I");
    equal(head.status, 200);
    equal(head.body, "", "HEAD: no body");
    equal(target.requests, 0, "the prober's target was never contacted");
    equal(decoy.requests, 2);

    // a decoy page over the size cap is answered 503 (as a decoy that cannot be fetched)
    await using big = await proxy({ probeResistance: `web:http://127.0.0.1:${decoy.port}/bytes/2000000` });
    const over = await via(big.port, "http://example.test/");
    equal(over.status, 503, over.head);
    noProxyHeaders(over.head);

    const good = await via(svc.port, `http://127.0.0.1:${target.port}/secret`, "--proxy-user", "u:p");
    equal(good.body, "hello /secret");
  } finally {
    await decoy.close();
    await target.close();
  }
});

Deno.test("probeResistance=host: the request and the rest of the conn go to the decoy host only", async () => {
  const decoy = rawOrigin();
  const target = httpOrigin();
  await using svc = await proxy({ probe_resist: `host:127.0.0.1:${decoy.port}` });
  try {
    const r = await via(svc.port, `http://127.0.0.1:${target.port}/abc?q=1`, "--proxy-user", "u:wrong");
    equal(r.status, 200, r.head);
    equal(r.body, "hello /abc?q=1");
    noProxyHeaders(r.head);
    const head = decoy.state.heads[0];
    match(head, /^GET \/abc\?q=1 HTTP\/1\.1\r\n/, "origin-form to the decoy");
    match(head, new RegExp(`\\r\\nHost: 127\\.0\\.0\\.1:${target.port}(\\r\\n|$)`));
    doesNotMatch(head, /proxy-authorization/i, "the client's credentials stay here");
    // keep-alive: two requests on one conn both go to the decoy
    await using raw = await RawClient.open(svc.port);
    const bodies = [];
    for (const path of ["/one", "/two"]) {
      await raw.send(`GET ${path} HTTP/1.1\r\nHost: a.test\r\n\r\n`);
      bodies.push((await raw.readResponse()).body);
    }
    deepEqual(bodies, ["hello /one", "hello /two"]);
    equal(decoy.state.conns, 2, "one decoy conn per client conn");
    equal(target.requests, 0, "the prober's target was never contacted");

    const good = await via(svc.port, `http://127.0.0.1:${target.port}/abc`, "--proxy-user", "u:p");
    equal(good.body, "hello /abc");
  } finally {
    await decoy.close();
    await target.close();
  }

  // an unreachable decoy host: 503, still nothing about a proxy
  const dead = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadPort = (dead.addr as Deno.NetAddr).port;
  dead.close();
  await using down = await proxy({ probeResistance: `host:127.0.0.1:${deadPort}` });
  const r = await via(down.port, "http://example.test/");
  equal(r.status, 503, r.head);
  noProxyHeaders(r.head);
});

Deno.test("probeResistance=file: the file is served as a 200 text/html page", async () => {
  const path = await Deno.makeTempFile({ suffix: ".html" });
  try {
    await Deno.writeTextFile(path, "<h1>It works!</h1>\n");
    await using svc = await proxy({ probeResistance: `file:${path}` });
    const r = await via(svc.port, "http://example.test/anything");
    equal(r.status, 200, r.head);
    equal(r.body, "<h1>It works!</h1>\n");
    match(r.head, /\r\nContent-Type: text\/html\r\n/);
    match(r.head, /\r\nContent-Length: 19\r\n/);
    noProxyHeaders(r.head);
    // read for each probe, as GOST does
    await Deno.writeTextFile(path, "changed");
    equal((await via(svc.port, "http://example.test/")).body, "changed");
    // gone: 503
    await Deno.remove(path);
    equal((await via(svc.port, "http://example.test/")).status, 503);
  } finally {
    await Deno.remove(path).catch(() => {});
  }
});

Deno.test("knock: only a request for the knock host gets the 407, the others the decoy", async () => {
  const origin = httpOrigin();
  await using svc = await proxy({ probeResistance: "code:404", knock: "secret.local, Other.Knock" });
  try {
    for (const url of ["http://secret.local/", "http://SECRET.local:8080/x", "http://other.knock/"]) {
      const r = await via(svc.port, url);
      equal(r.status, 407, url);
      match(r.head, /\r\nProxy-Authenticate: Basic realm="gost"/, url);
    }
    const tunnel = await connectStatus(svc.port, "https://secret.local/");
    equal(tunnel.stdout, "407");
    for (const url of ["http://example.test/", "http://secret.local.evil.test/", `http://127.0.0.1:${origin.port}/`]) {
      const r = await via(svc.port, url);
      equal(r.status, 404, url);
      noProxyHeaders(r.head);
    }
    // origin-form has no target host (GOST compares the request URI's host): the decoy
    const direct = await curl("-i", "-H", "Host: secret.local", `http://127.0.0.1:${svc.port}/`);
    match(direct.stdout, /^HTTP\/1\.1 404 /);
    const good = await via(svc.port, `http://127.0.0.1:${origin.port}/k`, "--proxy-user", "u:p");
    equal(good.body, "hello /k");
  } finally {
    await origin.close();
  }
});

Deno.test("the auto handler's HTTP side has the decoy; its SOCKS5 side answers as usual", async () => {
  const origin = httpOrigin();
  await using svc = await startService({
    handler: (o) => new AutoHandler(o),
    users,
    metadata: { probeResistance: "code:403" },
  });
  try {
    const r = await via(svc.port, `http://127.0.0.1:${origin.port}/`);
    equal(r.status, 403, r.head);
    noProxyHeaders(r.head);
    const socks = await curl("--socks5", `u:p@127.0.0.1:${svc.port}`, `http://127.0.0.1:${origin.port}/s`);
    equal(socks.stdout, "hello /s");
  } finally {
    await origin.close();
  }
});

Deno.test("probe resistance parsing: target hostnames, knock lists, the head sent to a decoy host", () => {
  equal(requestHostname("CONNECT", "Secret.Local:443"), "secret.local");
  equal(requestHostname("GET", "http://user:pw@a.test:8080/x"), "a.test");
  equal(requestHostname("GET", "http://[::1]:80/"), "::1");
  equal(requestHostname("GET", "/index.html"), "");
  const pr = parseProbeResistance(new Metadata({ probeResist: "code:404", knock: "a.test,b.test" }))!;
  deepEqual(pr, { decoy: { kind: "code", status: 404 }, knock: ["a.test", "b.test"] });
  ok(knocks(pr, "CONNECT", "b.test:443"));
  ok(!knocks(pr, "GET", "/"));
  equal(parseProbeResistance(new Metadata({})), undefined);
  equal(parseProbeResistance(new Metadata({ probeResistance: "" })), undefined);
  deepEqual(parseProbeResistance(new Metadata({ probeResistance: "web:example.com/p" }))?.decoy, {
    kind: "web",
    url: "http://example.com/p",
  });
  const head = parseRequestHead([
    "POST http://u@a.test:81/p?q HTTP/1.1",
    "Host: wrong",
    "Proxy-Authorization: Basic dTp3",
    "Content-Length: 0",
  ]);
  equal(
    latin1Decode(decoyRequestHead(head)),
    "POST /p?q HTTP/1.1\r\nHost: a.test:81\r\nContent-Length: 0\r\n\r\n",
  );
});

Deno.test("bad probeResistance and knock values fail at start naming the key, the value and the forms", async () => {
  const cases: [string, RegExp][] = [
    [
      "http://u:p@127.0.0.1:0?probeResistance=code:abc",
      /handler http: probeResistance="code:abc" is not a status code/,
    ],
    [
      "http://u:p@127.0.0.1:0?probeResistance=foo:bar",
      /probeResistance="foo:bar" has an unknown type "foo"; supported: code:/,
    ],
    [
      "http://u:p@127.0.0.1:0?probeResist=code",
      /probeResist="code" is not <type>:<value>; supported: code:.*web:.*host:.*file:/,
    ],
    ["http://u:p@127.0.0.1:0?probeResistance=web:http://", /probeResistance="web:http:\/\/" is not a URL/],
    ["http://u:p@127.0.0.1:0?probeResistance=file:/tmp", /probeResistance="file:\/tmp" is not a regular file/],
    [
      "http://u:p@127.0.0.1:0?probeResistance=host:example.test",
      /probeResistance="host:example\.test" is not host:port/,
    ],
    [
      "http://u:p@127.0.0.1:0?probeResistance=file:/nonexistent/x.html",
      /probeResistance="file:\/nonexistent\/x\.html" names a file that cannot be read/,
    ],
    ["http://u:p@127.0.0.1:0?knock=secret.local", /handler http: knock="secret\.local" needs probeResistance/],
    [
      "http://127.0.0.1:0?probeResistance=code:404",
      /handler http: probeResistance acts on clients that fail authentication/,
    ],
    ["auto://u:p@127.0.0.1:0?probeResistance=code:99", /handler auto: probeResistance="code:99" is not a status code/],
  ];
  await Promise.all(cases.map(async ([url, want]) => {
    const r = await startFails(["-L", url]);
    equal(r.code === 0, false, url);
    match(r.stderr, want, url);
  }));
});
