/**
 * `Proxy-Authorization` and `Authorization` read strictly (issue 10, item 10; RFC 7617 §2, RFC 7235 §2.1): `Basic`,
 * one or more SP, then base64 with its padding and nothing else. A tab separator, missing or misplaced padding,
 * whitespace or CR inside the token, URL-safe base64, invalid UTF-8 or control characters in the user-pass, and two
 * `Proxy-Authorization` headers are refused (407, 401 for the API; a bare CR breaks the head: 400). A user with an
 * empty password, who can never log in, is warned about at startup.
 */
import { equal, ok } from "node:assert/strict";
import type { HandlerOptions } from "../../core/contracts.ts";
import { HttpHandler } from "../../handlers/http/handler.ts";
import { call, startApi } from "../helpers/api.ts";
import { freePort, startGost } from "../helpers/gost.ts";
import { RawClient, rawOrigin } from "../helpers/http_raw.ts";
import { curl, curlStatus } from "../helpers/run.ts";
import { startService } from "../helpers/service.ts";

const http = (o: HandlerOptions) => new HttpHandler(o);
/** Tokens without padding, with one `=`, with `==`, and with `/` and `+` in them. */
const users = [
  { username: "alice", password: "s3cret" },
  { username: "bob", password: "pw12" },
  { username: "carol", password: "abcd" },
  { username: "dave", password: ">>>?" },
];
const token = (userPass: string) => btoa(userPass);

/** Well-formed values (as the field value after HTTP's OWS is stripped) and the user they log in. */
const WELL_FORMED: [string, string][] = [
  [`Basic ${token("alice:s3cret")}`, "alice"],
  [`basic ${token("alice:s3cret")}`, "scheme in lower case"],
  [`BASIC ${token("alice:s3cret")}`, "scheme in upper case"],
  [`Basic   ${token("alice:s3cret")}`, "several SP after the scheme (1*SP)"],
  [`Basic ${token("bob:pw12")}`, "one = of padding"],
  [`Basic ${token("carol:abcd")}`, "two = of padding"],
  [`Basic ${token("dave:>>>?")}`, "+ and / in the token"],
];

/** Malformed values on the wire, and why each is refused. */
const MALFORMED: [string, string][] = [
  [`Basic\t${token("alice:s3cret")}`, "a tab between scheme and token"],
  [`Basic \t${token("alice:s3cret")}`, "SP and a tab between scheme and token"],
  [`Basic ${token("bob:pw12").replace(/=+$/, "")}`, "the one = of padding missing"],
  [`Basic ${token("carol:abcd").replace(/=+$/, "")}`, "both = of padding missing"],
  [`Basic ${token("carol:abcd").slice(0, -1)}`, "one of two = missing"],
  [`Basic ${token("bob:pw12")}=`, "one = too many"],
  [`Basic ${token("alice:s3cret").slice(0, 4)}=${token("alice:s3cret").slice(4)}`, "= inside the token"],
  [`Basic ${token("alice:s3cret").slice(0, 8)} ${token("alice:s3cret").slice(8)}`, "SP inside the token"],
  [`Basic ${token("alice:s3cret").slice(0, 8)}\t${token("alice:s3cret").slice(8)}`, "a tab inside the token"],
  [`Basic ${token("dave:>>>?").replace(/\+/g, "-").replace(/\//g, "_")}`, "URL-safe base64"],
  [`Basic${token("alice:s3cret")}`, "no SP after the scheme"],
  [`Basic ${token("alice:s3cret")} x`, "something after the token"],
  [`Basic ${token("alice")}`, "no : in the user-pass"],
  [`Basic ${token("alice:s3cret\t")}`, "a control character in the user-pass"],
  [`Basic ${btoa("alice:\xff")}`, "a user-pass that is not UTF-8"],
  [`Bearer ${token("alice:s3cret")}`, "another scheme"],
  ["Basic", "no token"],
];

/** One raw request through the proxy with `extra` header lines; the status code of the answer. */
async function statusOf(proxy: number, origin: number, extra: string): Promise<number> {
  await using c = await RawClient.open(proxy);
  await c.send(`GET http://127.0.0.1:${origin}/ HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}Connection: close\r\n\r\n`);
  const { head } = await c.readResponse();
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
}

Deno.test("http proxy: well-formed Basic credentials pass, each malformed form is answered 407 (raw requests)", async () => {
  const origin = rawOrigin();
  await using svc = await startService({ handler: http, users });
  try {
    ok(token("dave:>>>?").includes("+") && token("dave:>>>?").includes("/"), "dave's token has + and /");
    for (const [value, what] of WELL_FORMED) {
      equal(await statusOf(svc.port, origin.port, `Proxy-Authorization: ${value}\r\n`), 200, what);
    }
    // HTTP's optional whitespace around a field value is not part of it (RFC 9110 §5.5)
    equal(await statusOf(svc.port, origin.port, `Proxy-Authorization:  Basic ${token("alice:s3cret")} \t\r\n`), 200);
    for (const [value, what] of MALFORMED) {
      equal(await statusOf(svc.port, origin.port, `Proxy-Authorization: ${value}\r\n`), 407, what);
    }
    const good = `Proxy-Authorization: Basic ${token("alice:s3cret")}\r\n`;
    equal(await statusOf(svc.port, origin.port, good + good), 407, "two Proxy-Authorization headers");
    // a CR in the token is a bare CR in the head: the head itself is refused
    equal(await statusOf(svc.port, origin.port, `Proxy-Authorization: Basic ${token("alice:s3cret")}\r\r\n`), 400);
    equal(await statusOf(svc.port, origin.port, `Proxy-Authorization: Basic YWxp\rY2U6czNjcmV0\r\n`), 400);
  } finally {
    await origin.close();
  }
});

Deno.test("http proxy: curl with --proxy-user passes for every user, a wrong password is 407", async () => {
  const origin = rawOrigin();
  await using svc = await startService({ handler: http, users });
  const url = `http://127.0.0.1:${origin.port}/`;
  const code = async (user: string) =>
    (await curl("-s", "-o", "/dev/null", "-w", "%{http_code}", "-x", `http://127.0.0.1:${svc.port}`, "-U", user, url))
      .stdout;
  try {
    for (const u of users) equal(await code(`${u.username}:${u.password}`), "200", u.username);
    equal(await code("alice:wrong"), "407");
  } finally {
    await origin.close();
  }
});

Deno.test("web API: Authorization is read as strictly (malformed forms 401, well-formed 200)", async () => {
  const apiPort = freePort();
  await using g = await startApi(["-api", `alice:s3cret@127.0.0.1:${apiPort}`], { apiPort });
  const url = `${g.base}/config`;
  equal((await call("GET", url, undefined, { Authorization: `Basic ${token("alice:s3cret")}` })).status, 200);
  for (const [value, what] of MALFORMED) {
    // fetch refuses to send a tab or CR it would have to strip; curl sends what it is given
    const r = await curl("-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", `Authorization: ${value}`, url);
    equal(r.stdout, "401", what);
  }
});

Deno.test("a user with an empty password is warned about at startup, naming the user and its service, auther, API or metrics", async () => {
  const [port, api, metrics] = [freePort(), freePort(), freePort()];
  const config = {
    services: [{
      name: "web",
      addr: `127.0.0.1:${port}`,
      handler: { type: "http", auth: { username: "alice", password: "" } },
    }],
    authers: [{ name: "a1", auths: [{ username: "bob", password: "" }, { username: "carol", password: "x" }] }],
    api: { addr: `127.0.0.1:${api}`, auth: { username: "dave", password: "" } },
    metrics: { addr: `127.0.0.1:${metrics}`, auth: { username: "erin", password: "" } },
  };
  // ready once the service listens and both servers have warned (they start after the services)
  const seen = new Set<string>();
  await using g = await startGost(["-C", JSON.stringify(config)], {
    ready: (line, n) => {
      for (const who of ["api", "metrics"]) if (line.includes(`"msg":"${who}: user `)) seen.add(who);
      return n >= 1 && seen.size === 2;
    },
    what: "listening, with the API and metrics warnings",
  });
  const logs = g.lines.map((l) => JSON.parse(l) as { level: string; msg: string });
  const warned = (re: RegExp) => logs.some((l) => l.level === "warn" && re.test(l.msg));
  ok(warned(/service web: user "alice" has an empty password and can never log in/), g.lines.join("\n"));
  ok(warned(/auther a1: user "bob" has an empty password and can never log in/), g.lines.join("\n"));
  ok(warned(/^api: user "dave" has an empty password and can never log in/), g.lines.join("\n"));
  ok(warned(/^metrics: user "erin" has an empty password and can never log in/), g.lines.join("\n"));
  equal(await curlStatus("-u", "dave:", `http://127.0.0.1:${api}/config`), "401", "dave never logs in");
  equal(await curlStatus("-u", "erin:", `http://127.0.0.1:${metrics}/metrics`), "401", "erin never logs in");
  ok(!logs.some((l) => /"carol"/.test(l.msg)), "carol has a password");
  equal(
    await curlStatus("-x", `http://alice:@127.0.0.1:${port}`, "http://127.0.0.1:1/"),
    "407",
    "alice never logs in",
  );
});
