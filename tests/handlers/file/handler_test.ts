/**
 * The file handler end to end: curl against a gost.ts process started as `-L file://127.0.0.1:PORT?dir=…` (GOST's
 * form) — listing, files with their types, HEAD, Range (one and several), If-Modified-Since, the redirects of Go's
 * FileServer, index.html, Basic auth from the URL's user info; and every traversal form refused (raw and encoded
 * `..`, backslashes, double encoding, NUL, a symlink out of the directory) with a log line, other methods refused,
 * the process still serving afterwards.
 */
import { equal, match, ok } from "node:assert/strict";
import { freePort, startGost } from "../../helpers/gost.ts";
import { curl } from "../../helpers/run.ts";
import { RawClient } from "../../helpers/http_raw.ts";
import { until } from "../../helpers/wait.ts";

/** Status, head and body of a `curl -i` output (the last response). */
function parse(out: string): { status: number; head: string; body: string } {
  const at = out.lastIndexOf("HTTP/1.");
  const rest = out.slice(at);
  const end = rest.indexOf("\r\n\r\n");
  return { status: Number(rest.slice(9, 12)), head: rest.slice(0, end), body: rest.slice(end + 4) };
}

/** A served tree: files, a subdirectory with an index, a directory without one, symlinks in and out. */
async function tree(): Promise<{ dir: string; outside: string; [Symbol.asyncDispose](): Promise<void> }> {
  const base = await Deno.makeTempDir({ prefix: "gost-file-" });
  const dir = `${base}/www`;
  const outside = `${base}/secret.txt`;
  await Deno.mkdir(`${dir}/site`, { recursive: true });
  await Deno.mkdir(`${dir}/docs`);
  await Deno.writeTextFile(outside, "top secret\n");
  await Deno.writeTextFile(`${dir}/hello.txt`, "hello, world\n");
  await Deno.writeTextFile(`${dir}/page.html`, "<p>page</p>");
  await Deno.writeFile(`${dir}/data.bin`, new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
  await Deno.writeTextFile(`${dir}/noext`, "<!DOCTYPE html><title>sniffed</title>");
  await Deno.writeTextFile(`${dir}/site/index.html`, "<h1>index</h1>");
  await Deno.writeTextFile(`${dir}/docs/a&b <c>.txt`, "odd name");
  await Deno.symlink(outside, `${dir}/escape.txt`);
  await Deno.symlink(base, `${dir}/up`);
  await Deno.symlink(`${dir}/hello.txt`, `${dir}/alias.txt`);
  return { dir, outside, [Symbol.asyncDispose]: () => Deno.remove(base, { recursive: true }) };
}

Deno.test("file handler serves dir as GOST's http.FileServer does: listing, types, HEAD, Range, 304, redirects, index", async () => {
  await using t = await tree();
  const port = freePort();
  await using _gost = await startGost(["-L", `file://127.0.0.1:${port}?dir=${t.dir}`]);
  const url = `http://127.0.0.1:${port}`;

  let r = parse((await curl("-i", `${url}/`)).stdout);
  equal(r.status, 200);
  match(r.head, /content-type: text\/html; charset=utf-8/i);
  equal(
    r.body,
    '<!doctype html>\n<meta name="viewport" content="width=device-width">\n<pre>\n' +
      '<a href="alias.txt">alias.txt</a>\n<a href="data.bin">data.bin</a>\n<a href="docs/">docs/</a>\n' +
      '<a href="escape.txt">escape.txt</a>\n<a href="hello.txt">hello.txt</a>\n<a href="noext">noext</a>\n' +
      '<a href="page.html">page.html</a>\n<a href="site/">site/</a>\n<a href="up">up</a>\n</pre>\n',
  );
  r = parse((await curl("-i", `${url}/docs/`)).stdout);
  match(r.body, /<a href="a&b%20%3Cc%3E.txt">a&amp;b &lt;c&gt;.txt<\/a>/);
  equal(parse((await curl("-i", `${url}/docs/a&b%20%3Cc%3E.txt`)).stdout).body, "odd name");

  r = parse((await curl("-i", `${url}/hello.txt`)).stdout);
  equal(r.body, "hello, world\n");
  match(r.head, /content-type: text\/plain; charset=utf-8/i);
  match(r.head, /accept-ranges: bytes/i);
  match(r.head, /content-length: 13/i);
  const lastModified = /last-modified: (.*)/i.exec(r.head)![1].trim();
  match(parse((await curl("-i", `${url}/page.html`)).stdout).head, /content-type: text\/html; charset=utf-8/i);
  match(parse((await curl("-i", `${url}/data.bin`)).stdout).head, /content-type: application\/octet-stream/i);
  match(parse((await curl("-i", `${url}/noext`)).stdout).head, /content-type: text\/html; charset=utf-8/i);
  equal(parse((await curl("-i", `${url}/alias.txt`)).stdout).body, "hello, world\n", "a symlink inside dir is served");

  // HEAD: the headers of GET, no body
  const head = await curl("-I", `${url}/hello.txt`);
  match(head.stdout, /content-length: 13/i);
  ok(!head.stdout.includes("hello, world"));

  // Range: one range, a suffix, several (multipart), none overlapping
  r = parse((await curl("-i", "-r", "7-11", `${url}/hello.txt`)).stdout);
  equal(r.status, 206);
  equal(r.body, "world");
  match(r.head, /content-range: bytes 7-11\/13/i);
  equal(parse((await curl("-i", "-H", "Range: bytes=-3", `${url}/data.bin`)).stdout).body, "\x07\x08\x09");
  r = parse((await curl("-i", "-r", "0-1,5-6", `${url}/hello.txt`)).stdout);
  equal(r.status, 206);
  const boundary = /multipart\/byteranges; boundary=(\w+)/i.exec(r.head)![1];
  equal(
    r.body,
    `--${boundary}\r\nContent-Range: bytes 0-1/13\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhe\r\n` +
      `--${boundary}\r\nContent-Range: bytes 5-6/13\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n, \r\n` +
      `--${boundary}--\r\n`,
  );
  r = parse((await curl("-i", "-r", "100-200", `${url}/hello.txt`)).stdout);
  equal(r.status, 416);
  match(r.head, /content-range: bytes \*\/13/i);

  // conditional: not modified since, and If-Range with another date ignores the range
  equal(parse((await curl("-i", "-H", `If-Modified-Since: ${lastModified}`, `${url}/hello.txt`)).stdout).status, 304);
  r = parse(
    (await curl("-i", "-r", "0-1", "-H", "If-Range: Mon, 01 Jan 2001 00:00:00 GMT", `${url}/hello.txt`)).stdout,
  );
  equal(r.status, 200);

  // Go's redirects and index.html
  r = parse((await curl("-i", `${url}/site?x=1`)).stdout);
  equal(r.status, 301);
  match(r.head, /location: site\/\?x=1/i);
  equal(parse((await curl("-i", `${url}/site/`)).stdout).body, "<h1>index</h1>");
  match(parse((await curl("-i", `${url}/site/index.html`)).stdout).head, /location: \.\//i);
  match(parse((await curl("-i", `${url}/hello.txt/`)).stdout).head, /location: \.\.\/hello\.txt/i);
  equal(parse((await curl("-i", `${url}/missing`)).stdout).body, "404 page not found\n");

  // keep-alive: two requests on one conn
  {
    await using c = await RawClient.open(port);
    await c.send("GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /page.html HTTP/1.1\r\nHost: x\r\n\r\n");
    equal((await c.readResponse()).body, "hello, world\n");
    equal((await c.readResponse()).body, "<p>page</p>");
  }
});

Deno.test("file handler refuses traversal (raw, encoded, backslashes, double-encoded, NUL), symlinks out of dir and other methods, and stays up", async () => {
  await using t = await tree();
  const port = freePort();
  await using gost = await startGost(["-L", `file://127.0.0.1:${port}?dir=${t.dir}`]);
  const url = `http://127.0.0.1:${port}`;
  const refused: [string, number][] = [
    ["/../secret.txt", 403],
    ["/../../etc/passwd", 403],
    ["/docs/../../secret.txt", 403],
    ["/%2e%2e/secret.txt", 403],
    ["/%2E%2E/%2e%2e/etc/passwd", 403],
    ["/.%2e/secret.txt", 403],
    ["/..%2fsecret.txt", 403],
    ["/..\\secret.txt", 403],
    ["/..%5csecret.txt", 403],
    ["/%5c..%5c..%5cetc%5cpasswd", 403],
    ["/hello.txt%00.png", 403],
    ["/%00", 403],
    ["/./hello.txt", 403],
    ["/escape.txt", 403],
    ["/up/secret.txt", 403],
    ["/%252e%252e/secret.txt", 404],
    ["/%zz", 400],
    ["/%c3%28", 400],
  ];
  for (const [path, status] of refused) {
    const r = await curl("-i", "--path-as-is", `${url}${path}`);
    const p = parse(r.stdout);
    equal(p.status, status, `${path}: ${r.stdout}`);
    ok(!p.body.includes("top secret") && !p.body.includes("root:"), path);
  }
  // a link out of dir whose path leads back in: the real path is inside, so it is served
  equal(parse((await curl("-i", `${url}/up/www/hello.txt`)).stdout).body, "hello, world\n");
  // a raw request line curl would not send
  {
    await using c = await RawClient.open(port);
    await c.send("GET /..%2F..%2Fsecret.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    match((await c.readResponse()).head, /^HTTP\/1\.1 403/);
  }
  for (const method of ["POST", "PUT", "DELETE", "OPTIONS"]) {
    const r = parse((await curl("-i", "-X", method, `${url}/hello.txt`)).stdout);
    equal(r.status, 405, method);
    match(r.head, /allow: GET, HEAD/i);
  }
  await until(() => gost.lines.some((l) => l.includes("path traversal")), "a traversal is logged");
  await until(() => gost.lines.some((l) => /escape\.txt resolves to .*outside the directory/.test(l)), "a symlink out");
  await until(() => gost.lines.some((l) => l.includes("control character (NUL)")), "a NUL is logged");
  equal(parse((await curl("-i", `${url}/hello.txt`)).stdout).body, "hello, world\n", "still serving");
  equal(await Deno.readTextFile(t.outside), "top secret\n");
});

Deno.test("file handler asks for Basic auth with the URL's user info (401 WWW-Authenticate: Basic, as GOST)", async () => {
  await using t = await tree();
  const port = freePort();
  await using _gost = await startGost(["-L", `file://user:pass@127.0.0.1:${port}?dir=${t.dir}`]);
  const url = `http://127.0.0.1:${port}/hello.txt`;
  let r = parse((await curl("-i", url)).stdout);
  equal(r.status, 401);
  match(r.head, /www-authenticate: Basic\r?$/im);
  equal(r.body, "");
  equal(parse((await curl("-i", "-u", "user:wrong", url)).stdout).status, 401);
  r = parse((await curl("-i", "-u", "user:pass", url)).stdout);
  equal(r.status, 200);
  equal(r.body, "hello, world\n");
});

Deno.test("file handler config: dir must be a directory, put (GOST's uploads) is refused", async () => {
  const { runGost } = await import("../../helpers/gost.ts");
  let r = await runGost(["-L", `file://127.0.0.1:${freePort()}?dir=/nonexistent-gost-dir`]);
  equal(r.code === 0, false);
  match(r.stderr, /"dir" "\/nonexistent-gost-dir"/);
  r = await runGost(["-L", `file://127.0.0.1:${freePort()}?dir=/etc/hostname`]);
  match(r.stderr, /is not a directory/);
  r = await runGost(["-L", `file://127.0.0.1:${freePort()}?dir=/tmp&put=true`]);
  match(r.stderr, /put=.*uploads \(PUT\) are not supported/);
});
