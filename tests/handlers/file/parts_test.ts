/**
 * The file handler's pieces on their own: request paths (every traversal spelling refused before the file system
 * is touched, decoding once), Go's Range parsing, the listing's escaping as Go writes it, and content types by
 * extension and by sniffing.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { inside, parseRequestPath, type RequestPath } from "../../../handlers/file/path.ts";
import { contentRange, parseRange } from "../../../handlers/file/range.ts";
import { dirListing, escapeHtml, escapePath } from "../../../handlers/file/listing.ts";
import { sniffType, typeByExtension } from "../../../handlers/file/mime.ts";

Deno.test("request paths: decoded once into segments; the query and a trailing slash kept", () => {
  deepEqual(parseRequestPath("/a/b%20c/?x=1"), { raw: "/a/b%20c/", query: "x=1", segments: ["a", "b c"], slash: true });
  deepEqual(parseRequestPath("http://h.test/x"), { raw: "/x", query: "", segments: ["x"], slash: false });
  deepEqual((parseRequestPath("//a//b") as RequestPath).segments, ["a", "b"]);
  deepEqual((parseRequestPath("/%252e%252e/x") as RequestPath).segments, ["%2e%2e", "x"], "decoded once");
  deepEqual((parseRequestPath("/%C3%A9t%C3%A9") as RequestPath).segments, ["été"]);
  deepEqual((parseRequestPath("/...") as RequestPath).segments, ["..."], "three dots is a name");
});

Deno.test("request paths: traversal, separators, NUL and bad escapes are refused", () => {
  const refused: [string, number][] = [
    ["/../etc/passwd", 403],
    ["/a/./b", 403],
    ["/a/..", 403],
    ["/%2e%2e/x", 403],
    ["/%2E%2e/x", 403],
    ["/.%2e/x", 403],
    ["/%2e/x", 403],
    ["/a\\..\\b", 403],
    ["/a%5c..", 403],
    ["/..%2f..%2fetc", 403],
    ["/a%2Fb", 403],
    ["/a%00b", 403],
    ["/a%0ab", 403],
    ["/a%7f", 403],
    ["/%zz", 400],
    ["/%4", 400],
    ["/%ff", 400],
    ["*", 400],
    ["a/b", 400],
  ];
  for (const [target, status] of refused) {
    const p = parseRequestPath(target);
    ok("status" in p, `${target} was accepted`);
    equal(p.status, status, target);
  }
  ok(inside("/srv/www", "/srv/www") && inside("/srv/www", "/srv/www/a"));
  ok(!inside("/srv/www", "/srv/www2/a") && !inside("/srv/www", "/srv"));
});

Deno.test("Range as Go parses it: ranges, suffixes, overlap, sums past the size ignored", () => {
  deepEqual(parseRange("bytes=0-4", 10), { kind: "ranges", ranges: [{ start: 0, length: 5 }] });
  deepEqual(parseRange("bytes=5-", 10), { kind: "ranges", ranges: [{ start: 5, length: 5 }] });
  deepEqual(parseRange("bytes=-3", 10), { kind: "ranges", ranges: [{ start: 7, length: 3 }] });
  deepEqual(parseRange("bytes=-30", 10), { kind: "ranges", ranges: [{ start: 0, length: 10 }] });
  deepEqual(parseRange("bytes=8-100", 10), { kind: "ranges", ranges: [{ start: 8, length: 2 }] });
  deepEqual(parseRange("bytes=0-1, 4-5", 10), {
    kind: "ranges",
    ranges: [{ start: 0, length: 2 }, { start: 4, length: 2 }],
  });
  deepEqual(parseRange("bytes=0-1,20-30", 10), { kind: "ranges", ranges: [{ start: 0, length: 2 }] });
  deepEqual(parseRange("bytes=0-9,0-9", 10), { kind: "none" }, "more than the file in total: ignored");
  deepEqual(parseRange(undefined, 10), { kind: "none" });
  equal(parseRange("bytes=10-", 10).kind, "unsatisfiable");
  equal(parseRange("bytes=0-", 0).kind, "unsatisfiable");
  for (const bad of ["items=0-1", "bytes=5-2", "bytes=x-1", "bytes=1", "bytes=--1", "bytes=-"]) {
    equal(parseRange(bad, 10).kind, "unsatisfiable", bad);
  }
  equal(contentRange({ start: 2, length: 3 }, 10), "bytes 2-4/10");
});

Deno.test("listing: Go's page, names escaped as URL paths and as HTML, sorted, directories with /", () => {
  equal(escapePath("a b?#%.txt"), "a%20b%3F%23%25.txt");
  equal(escapePath("é"), "%C3%A9");
  equal(escapePath("a:b"), "./a:b", "a colon in the first segment would read as a scheme");
  equal(escapeHtml(`<a href="x">'&'</a>`), "&lt;a href=&#34;x&#34;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  equal(
    dirListing([{ name: "b", dir: false }, { name: "a<", dir: true }]),
    '<!doctype html>\n<meta name="viewport" content="width=device-width">\n<pre>\n' +
      '<a href="a%3C/">a&lt;/</a>\n<a href="b">b</a>\n</pre>\n',
  );
});

Deno.test("content types: by extension (case-insensitive), else sniffed as Go does", () => {
  equal(typeByExtension("x.HTML"), "text/html; charset=utf-8");
  equal(typeByExtension("a.tar.gz"), "application/gzip");
  equal(typeByExtension("noext"), undefined);
  const t = (s: string | number[]) =>
    sniffType(typeof s === "string" ? new TextEncoder().encode(s) : new Uint8Array(s));
  equal(t("  <!DOCTYPE HTML><p>"), "text/html; charset=utf-8");
  equal(t("<?xml version='1.0'?>"), "text/xml; charset=utf-8");
  equal(t([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]), "image/png");
  equal(t("%PDF-1.7"), "application/pdf");
  equal(t("plain text\n"), "text/plain; charset=utf-8");
  equal(t([0x68, 0x00, 0x69]), "application/octet-stream");
  equal(t(""), "text/plain; charset=utf-8");
  // a multi-byte character cut at the 512th byte is still text
  const whole = new TextEncoder().encode("é".repeat(255) + "a"); // 511 bytes
  equal(sniffType(new Uint8Array([...whole, 0xc3])), "text/plain; charset=utf-8");
  equal(sniffType(new Uint8Array([...whole.subarray(0, 510), 0xc3, 0xc3])), "application/octet-stream");
});
