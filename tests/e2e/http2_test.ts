/**
 * The HTTP/2 proxy end to end, as real processes: nghttp's plain requests through `-L http2://` (GET, a POST body,
 * 3 MB down), CONNECT from node:http2 (another HTTP/2 implementation) with bytes both ways and half-close, curl over
 * the listener's HTTP/1.1 (ALPN http/1.1: this curl has no `--proxy-http2`), our connector (`-L http:// -F
 * http2://`) for plain requests and CONNECT on one HTTP/2 conn, proxy auth refused and accepted from each client, and
 * bad input (garbage, non-HTTP/2 bytes after ALPN h2, a bad authority, an unreachable target) answered or dropped
 * with a log line while the proxy carries on.
 */
import { equal, ok } from "node:assert/strict";
import { connect as h2connect } from "node:http2";
import { connect as tlsConnect } from "node:tls";
import { freePort, startGost } from "../helpers/gost.ts";
import { curl, has, run } from "../helpers/run.ts";
import { httpOrigin, tcpEcho } from "../helpers/servers.ts";
import { establishedTo } from "../helpers/sockets.ts";
import { until } from "../helpers/wait.ts";

const enc = new TextEncoder();
const basic = (u: string, p: string) => `Basic ${btoa(`${u}:${p}`)}`;

/** nghttp against the proxy on `port` with `:authority` set to `authority`; returns its stdout and the status. */
async function nghttp(port: number, authority: string, path: string, extra: string[] = []) {
  const r = await run("nghttp", ["-v", "-H", `:authority: ${authority}`, ...extra, `https://127.0.0.1:${port}${path}`]);
  const status = /recv \(stream_id=\d+\) :status: (\d{3})/.exec(r.stdout)?.[1] ?? "none";
  return { status, out: r.stdout, code: r.code };
}

/** A CONNECT stream from node:http2 to `target` through the proxy; resolves with the response status and stream. */
function h2Connect(port: number, target: string, headers: Record<string, string> = {}) {
  const session = h2connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
  session.on("error", () => {});
  const stream = session.request({ ":method": "CONNECT", ":authority": target, ...headers });
  stream.on("error", () => {});
  const status = new Promise<number>((resolve) => {
    stream.on("response", (h) => resolve(Number(h[":status"])));
    stream.on("close", () => resolve(-1));
  });
  return { session, stream, status };
}

/** Reads a node stream to its end. */
function collect(stream: NodeJS.ReadableStream): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const parts: Uint8Array[] = [];
    stream.on("data", (c: Uint8Array) => parts.push(c));
    stream.on("end", () => {
      const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let off = 0;
      for (const p of parts) {
        out.set(p, off);
        off += p.length;
      }
      resolve(out);
    });
    stream.on("error", reject);
  });
}

Deno.test({
  name: "http2: nghttp's plain requests through -L http2:// (GET, POST body, 3 MB down)",
  ignore: !has("nghttp"),
  fn: async () => {
    const origin = httpOrigin();
    const port = freePort();
    try {
      await using _gost = await startGost(["-L", `http2://127.0.0.1:${port}`]);
      const target = `127.0.0.1:${origin.port}`;
      const get = await nghttp(port, target, "/x");
      equal(get.status, "200", get.out);
      ok(get.out.includes("hello /x"), get.out);
      const body = await Deno.makeTempFile();
      await Deno.writeTextFile(body, "posted through http2");
      const post = await nghttp(port, target, "/p", ["-d", body]);
      equal(post.status, "200", post.out);
      ok(post.out.includes("posted through http2"), post.out);
      await Deno.remove(body);
      const big = await run("nghttp", ["-H", `:authority: ${target}`, `https://127.0.0.1:${port}/bytes/3000000`]);
      equal(big.bytes.length, 3_000_000, big.stderr);
    } finally {
      await origin.close();
    }
  },
});

Deno.test("http2: CONNECT from node:http2, 1 MiB both ways, half-close, an unreachable target (503)", async () => {
  const echo = tcpEcho();
  const port = freePort();
  try {
    await using _gost = await startGost(["-L", `http2://127.0.0.1:${port}`]);
    const c = h2Connect(port, `127.0.0.1:${echo.port}`);
    equal(await c.status, 200);
    const data = new Uint8Array(1 << 20).map((_, i) => (i * 7) & 0xff);
    const back = collect(c.stream);
    c.stream.end(data);
    const got = await back;
    equal(got.length, data.length);
    ok(got.every((b, i) => b === data[i]), "echoed byte for byte");
    c.session.close();
    const dead = h2Connect(port, `127.0.0.1:${freePort()}`);
    equal(await dead.status, 503);
    dead.session.close();
  } finally {
    echo.close();
  }
});

Deno.test("http2: a plain POST from node:http2 without content-length goes chunked, its answer comes back", async () => {
  const origin = httpOrigin();
  const port = freePort();
  try {
    await using _gost = await startGost(["-L", `http2://127.0.0.1:${port}`]);
    const session = h2connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
    session.on("error", () => {});
    const req = session.request({
      ":method": "POST",
      ":scheme": "http",
      ":authority": `127.0.0.1:${origin.port}`,
      ":path": "/echo",
    });
    const status = new Promise<number>((r) => req.on("response", (h) => r(Number(h[":status"]))));
    const body = collect(req);
    req.write("first part, ");
    req.end("second part");
    equal(await status, 200);
    equal(new TextDecoder().decode(await body), "first part, second part");
    session.close();
  } finally {
    await origin.close();
  }
});

Deno.test("http2: curl over the listener's HTTP/1.1 (ALPN http/1.1), plain and CONNECT", async () => {
  const origin = httpOrigin();
  const port = freePort();
  try {
    await using _gost = await startGost(["-L", `http2://127.0.0.1:${port}`]);
    const proxy = ["-x", `https://127.0.0.1:${port}`, "--proxy-insecure"];
    equal((await curl(...proxy, `http://127.0.0.1:${origin.port}/a`)).stdout, "hello /a");
    equal((await curl(...proxy, "-p", `http://127.0.0.1:${origin.port}/b`)).stdout, "hello /b");
  } finally {
    await origin.close();
  }
});

Deno.test("http2: our connector, -L http:// -F http2://, plain and CONNECT requests on one HTTP/2 conn", async () => {
  const origin = httpOrigin();
  const [node, entry] = [freePort(), freePort()];
  try {
    await using _node = await startGost(["-L", `http2://127.0.0.1:${node}`]);
    await using _entry = await startGost(["-L", `http://127.0.0.1:${entry}`, "-F", `http2://127.0.0.1:${node}`]);
    const proxy = ["-x", `http://127.0.0.1:${entry}`];
    equal((await curl(...proxy, `http://127.0.0.1:${origin.port}/x`)).stdout, "hello /x");
    equal((await curl(...proxy, "-p", `http://127.0.0.1:${origin.port}/t`)).stdout, "hello /t");
    const big = await curl(...proxy, `http://127.0.0.1:${origin.port}/bytes/3000000`);
    equal(big.stdout.length, 3_000_000, big.stderr);
    const all = await Promise.all(
      Array.from({ length: 20 }, (_, i) => curl(...proxy, "-p", `http://127.0.0.1:${origin.port}/c${i}`)),
    );
    all.forEach((r, i) => equal(r.stdout, `hello /c${i}`, r.stderr));
    equal(establishedTo(node), 1, "every tunnel rode one HTTP/2 conn to the node");
  } finally {
    await origin.close();
  }
});

Deno.test("http2: proxy auth is refused (407) and accepted, from nghttp, node:http2, curl and our connector", async () => {
  const origin = httpOrigin();
  const [node, good, bad] = [freePort(), freePort(), freePort()];
  const target = `127.0.0.1:${origin.port}`;
  try {
    await using _node = await startGost(["-L", `http2://alice:s3cret@127.0.0.1:${node}`]);
    if (has("nghttp")) {
      equal((await nghttp(node, target, "/n")).status, "407");
      const ok1 = await nghttp(node, target, "/n", ["-H", `proxy-authorization: ${basic("alice", "s3cret")}`]);
      equal(ok1.status, "200", ok1.out);
      equal((await nghttp(node, target, "/n", ["-H", `proxy-authorization: ${basic("alice", "x")}`])).status, "407");
    }
    const none = h2Connect(node, target);
    equal(await none.status, 407);
    none.session.close();
    const right = h2Connect(node, target, { "proxy-authorization": basic("alice", "s3cret") });
    equal(await right.status, 200);
    right.session.close();
    const tls = ["-x", `https://127.0.0.1:${node}`, "--proxy-insecure"];
    equal((await curl(...tls, "-o", "/dev/null", "-w", "%{http_code}", `http://${target}/`)).stdout, "407");
    equal((await curl(...tls, "--proxy-user", "alice:s3cret", `http://${target}/c`)).stdout, "hello /c");
    await using _good = await startGost([
      "-L",
      `http://127.0.0.1:${good}`,
      "-F",
      `http2://alice:s3cret@127.0.0.1:${node}`,
    ]);
    await using _bad = await startGost(["-L", `http://127.0.0.1:${bad}`, "-F", `http2://alice:nope@127.0.0.1:${node}`]);
    equal((await curl("-x", `http://127.0.0.1:${good}`, `http://${target}/g`)).stdout, "hello /g");
    const refused = await curl(
      "-x",
      `http://127.0.0.1:${bad}`,
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      `http://${target}/`,
    );
    equal(refused.stdout, "502", "the entry answers 502: its node refused the credentials");
  } finally {
    await origin.close();
  }
});

Deno.test("http2: garbage, non-HTTP/2 bytes after ALPN h2 and a bad authority are refused with a log line; the proxy stays up", async () => {
  const origin = httpOrigin();
  const port = freePort();
  try {
    await using gost = await startGost(["-L", `http2://127.0.0.1:${port}?handshakeTimeout=2s`]);
    const logged = (re: RegExp) => until(() => gost.lines.some((l) => re.test(l)), `a log line ${re}`);
    // not TLS at all
    const raw = await Deno.connect({ hostname: "127.0.0.1", port });
    await raw.write(enc.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    equal(await raw.read(new Uint8Array(64)).catch(() => null), null);
    raw.close();
    await logged(/TLS handshake/i);
    // TLS with ALPN h2, then bytes that are no HTTP/2 preface
    const sock = tlsConnect({ host: "127.0.0.1", port, ALPNProtocols: ["h2"], rejectUnauthorized: false });
    sock.on("error", () => {});
    await new Promise<void>((r) => sock.once("secureConnect", () => r()));
    equal(sock.alpnProtocol, "h2");
    sock.write("this is not the HTTP/2 connection preface\r\n\r\n");
    sock.resume();
    await new Promise<void>((r) => {
      sock.once("end", () => r());
      sock.once("close", () => r());
    });
    sock.destroy();
    await logged(/preface|PROTOCOL_ERROR|http2/i);
    // a CONNECT whose authority is no host:port
    const bad = h2Connect(port, "no port here!");
    equal(await bad.status, 400);
    bad.session.close();
    await logged(/bad authority/);
    // still serving
    const good = await run("curl", [
      "-sS",
      "-x",
      `https://127.0.0.1:${port}`,
      "--proxy-insecure",
      `http://127.0.0.1:${origin.port}/ok`,
    ]);
    equal(good.stdout, "hello /ok");
  } finally {
    await origin.close();
  }
});
