/**
 * The pieces of the reverse proxy on their own: GOST's node settings read from config (forward_node.ts: filter
 * spellings, Go regexps, failCodes, unknown fields refused), node matching by host/protocol/path, Go replacement
 * templates and URL/body rewrites, request targets, and sniffing (protocol by first bytes, nothing lost, the
 * `sniffing.timeout` fallback with a read still pending).
 */
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import type { Conn } from "../../../core/conn.ts";
import type { Node } from "../../../core/contracts.ts";
import { goRegExp, NodeFieldError, parseFailCodes, parseNodeRoute } from "../../../core/config/forward_node.ts";
import { expandGo, mediaType, rewriteBody, rewritePath, rulesFor } from "../../../handlers/forward/rewrite.ts";
import { hostOnly, nodeMatches } from "../../../handlers/forward/route.ts";
import { splitTarget } from "../../../handlers/forward/reverse_http.ts";
import { classify, sniff } from "../../../handlers/forward/sniff.ts";
import { memConnPair } from "../../helpers/mem_conn.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const node = (route: Node["route"]): Node => ({ name: "n", addr: "127.0.0.1:1", weight: 1, backup: false, route });

Deno.test("node settings: filter wins over GOST's older fields, *.a.test means .a.test, http and tls read", () => {
  equal(parseNodeRoute({ addr: "x:1" }), undefined);
  let r = parseNodeRoute({ addr: "x:1", host: "A.test", path: "/p", protocol: "HTTP" })!;
  deepEqual([r.host, r.path, r.protocol], ["a.test", "/p", "http"]);
  r = parseNodeRoute({ addr: "x:1", host: "ignored.test", filter: { host: "*.a.test" } })!;
  equal(r.host, ".a.test");
  equal(parseNodeRoute({ addr: "x:1", filter: { host: "*a.test" } })!.host, ".a.test");
  r = parseNodeRoute({
    addr: "x:1",
    auth: { username: "u", password: "p" },
    http: {
      header: { "X-Old": "1" },
      responseHeader: { "X-R": "2" },
      rewrite: [{ match: "^/a", replacement: "/b" }],
      rewriteBody: [{ match: "x" }],
      rewriteResponseBody: [{ match: "y", type: "text/plain, application/json" }],
      failCodes: "429, 5xx",
    },
    tls: { serverName: "s.test", secure: true },
  })!;
  const h = r.http!;
  deepEqual(h.requestHeader, [["X-Old", "1"]]);
  deepEqual(h.responseHeader, [["X-R", "2"]]);
  equal(h.rewriteURL.length, 1);
  deepEqual(h.rewriteResponseBody.map((b) => b.types), [["text/html"], ["text/plain", "application/json"]]);
  equal(h.rewriteResponseBody[0].maxBytes, 1 << 20);
  equal(h.auth!.authenticate("u", "p"), "u");
  equal(h.auth!.authenticate("u", "x"), null);
  ok(h.failCodes!(503) && h.failCodes!(429) && !h.failCodes!(404));
  deepEqual(r.tls, { serverName: "s.test", secure: true });
  // requestHeader wins over header, rewriteURL over rewrite (GOST)
  r = parseNodeRoute({
    addr: "x:1",
    http: { header: { A: "1" }, requestHeader: { B: "2" }, rewrite: [{ match: "a" }], rewriteURL: [] },
  })!;
  deepEqual(r.http!.requestHeader, [["B", "2"]]);
  equal(r.http!.rewriteURL.length, 0);
});

Deno.test("node settings: unknown fields, bad regexps, headers, failCodes and GOST features gost.ts lacks are refused by path", () => {
  const path = (cfg: Record<string, unknown>) => {
    try {
      parseNodeRoute({ addr: "x:1", ...cfg });
    } catch (err) {
      ok(err instanceof NodeFieldError, String(err));
      return `${err.path.join(".")}: ${err.message}`;
    }
    return "";
  };
  equal(path({ filter: { hots: "a" } }), 'filter.hots: unknown field "hots": supported are host, protocol, path');
  ok(path({ http: { rewriteURL: [{ match: "(" }] } }).startsWith("http.rewriteURL.0.match: invalid regexp"));
  ok(path({ http: { rewriteURL: [{ replacement: "x" }] } }).startsWith("http.rewriteURL.0.match: a URL rewrite needs"));
  ok(path({ http: { rewriteBody: [{ match: "json:model" }] } }).includes("JSON path matches"));
  ok(path({ http: { rewriteRequestBody: [{ match: "x", rewriter: "rw" }] } }).includes("rewriter plugins"));
  ok(path({ http: { requestHeader: { "Bad Name": "v" } } }).startsWith("http.requestHeader.Bad Name: invalid header"));
  ok(path({ http: { failCodes: "5x" } }).startsWith('http.failCodes: failCodes item "5x"'));
  ok(path({ http: { auth: { username: "u" } } }).startsWith("http.auth: a user without a password"));
  ok(path({ tls: { serverNme: "a" } }).startsWith('tls.serverNme: unknown field "serverNme"'));
  throws(() => parseFailCodes("504-500"), /is empty/);
  ok(parseFailCodes("500-504")(502));
});

Deno.test("Go regexps: a leading (?i) becomes a flag, (?P<name>) a named group; U is refused", () => {
  ok(goRegExp("(?i)^/API/").test("/api/x"));
  equal(goRegExp("(?P<id>\\d+)").exec("a12")!.groups!.id, "12");
  throws(() => goRegExp("(?U)a+"), /ungreedy/);
});

Deno.test("node matching: exact host, .domain, port and case ignored; protocol; path prefix; no filter takes all", () => {
  const req = (host: string, protocol: "http" | "tls" | "" = "http", path = "/") => ({ host, protocol, path });
  const exact = node({ host: "a.test", protocol: "", path: "" });
  ok(nodeMatches(exact, req("A.TEST:8080")));
  ok(!nodeMatches(exact, req("b.test")));
  ok(!nodeMatches(exact, req("")));
  const domain = node({ host: ".a.test", protocol: "", path: "" });
  ok(nodeMatches(domain, req("a.test")) && nodeMatches(domain, req("x.y.a.test")));
  ok(!nodeMatches(domain, req("xa.test")), "GOST's plain suffix test would take it");
  ok(!nodeMatches(node({ host: "", protocol: "tls", path: "" }), req("a.test", "http")));
  const path = node({ host: "", protocol: "", path: "/api" });
  ok(nodeMatches(path, req("a", "http", "/api/x")) && !nodeMatches(path, req("a", "http", "/x")));
  ok(nodeMatches(node(undefined), req("", "")));
  equal(hostOnly("[::1]:80"), "::1");
  equal(hostOnly("::1"), "::1");
});

Deno.test("rewrites: Go templates, URL paths (first match wins, ? starts the query), bodies by content type", () => {
  const m = ["/api/v1", "v1"];
  equal(expandGo("/x/$1/${1}y/$$/$9/$name", m, { name: "N" }), "/x/v1/v1y/$//N");
  equal(expandGo("$1x", m), "", "Go reads $1x as the group named 1x");
  equal(expandGo("${bad-name}", m), "${bad-name}");
  const rules = [
    { pattern: /^\/none$/, replacement: "" },
    { pattern: /^\/api\/(.*)$/, replacement: "/v2/$1?from=api" },
    { pattern: /^\/api/, replacement: "/never" },
  ];
  deepEqual(rewritePath(rules, "/api/items"), { path: "/v2/items", query: "from=api" });
  equal(rewritePath(rules, "/other"), undefined);
  equal(rewritePath([{ pattern: /^\/a$/, replacement: "" }], "/a"), undefined, "an empty result is no rewrite");
  const body = [{ pattern: /o(\w)/g, replacement: "0$1", types: ["text/plain"], maxBytes: 100 }];
  equal(mediaType("Text/Plain; charset=utf-8"), "text/plain");
  equal(rulesFor(body, "text/plain").length, 1);
  equal(rulesFor(body, "text/html").length, 0);
  equal(rulesFor(body, "").length, 0, "without a Content-Type only * takes a body");
  equal(rulesFor([{ ...body[0], types: ["*"] }], "").length, 1);
  equal(new TextDecoder().decode(rewriteBody(body, enc("foo boo"))!), "f0o b0o");
  equal(rewriteBody(body, new Uint8Array([0xff, 0xfe])), undefined, "not UTF-8: left alone");
});

Deno.test("request targets: origin-form, absolute-form, asterisk; others refused", () => {
  deepEqual(splitTarget("/a/b?x=1#f"), { authority: undefined, path: "/a/b", query: "x=1" });
  deepEqual(splitTarget("http://h.test:81?q"), { authority: "h.test:81", path: "/", query: "q" });
  deepEqual(splitTarget("*"), { path: "*" });
  equal(splitTarget("h.test:443"), null);
});

Deno.test("sniffing: GOST's protocols by the first bytes", () => {
  equal(classify(enc("GET / HTTP/1.1")), "http");
  equal(classify(enc("DELETE /x")), "http");
  equal(classify(enc("PRI * HTTP/2.0")), "http");
  equal(classify(new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00])), "tls");
  equal(classify(new Uint8Array([0x16, 0x03, 0x05, 0x02, 0x00])), "");
  equal(classify(enc("SSH-2.0-x")), "ssh");
  equal(classify(enc("*1\r\n")), "redis");
  equal(classify(enc("GE")), "");
  equal(classify(enc("hello")), "");
});

async function readAllFrom(c: Conn): Promise<string> {
  let s = "";
  const buf = new Uint8Array(7);
  for (let n = await c.read(buf); n !== null; n = await c.read(buf)) s += new TextDecoder().decode(buf.subarray(0, n));
  return s;
}

Deno.test("sniffing: the bytes read come back first; past sniffing.timeout the conn goes on raw, the pending read kept", async () => {
  const [a, b] = memConnPair();
  const w = (s: string) => b.write(enc(s));
  await w("GE");
  const sniffed = sniff(a, 0);
  await w("T /x HTTP/1.1\r\n\r\nrest");
  await b.closeWrite();
  const r = await sniffed;
  equal(r.protocol, "http");
  equal(await readAllFrom(r.conn), "GET /x HTTP/1.1\r\n\r\nrest");

  const [c, d] = memConnPair();
  await d.write(enc("ab"));
  const quiet = await sniff(c, 30);
  equal(quiet.protocol, "", "a client that stays quiet is forwarded raw");
  await d.write(enc("cdefgh"));
  await d.closeWrite();
  equal(await readAllFrom(quiet.conn), "abcdefgh");
});
