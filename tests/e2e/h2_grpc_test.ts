/**
 * The h2, h2c and grpc transports end to end, as real processes: curl through an entry whose node is `relay+h2`,
 * `relay+h2c`, `relay+grpc` (TLS, and cleartext with `grpcInsecure=true`), `socks5+h2c` with a `path`, and the
 * default-handler forms (`-L h2://`, `-L h2c://`, `-L grpc://`); 100 client conns held open at once ride one HTTP/2
 * connection to the node (one TCP conn, one session in `GET /sessions` with 100 streams open, a PING round trip);
 * a frozen node's session is closed at the PING timeout and replaced.
 */
import { equal, ok } from "node:assert/strict";
import { call, startApi } from "../helpers/api.ts";
import { freePort, startGost } from "../helpers/gost.ts";
import { curl } from "../helpers/run.ts";
import { httpOrigin, tcpEcho } from "../helpers/servers.ts";
import { establishedTo } from "../helpers/sockets.ts";
import { until } from "../helpers/wait.ts";

const cases: [string, string][] = [
  ["relay+h2", ""],
  ["relay+h2c", ""],
  ["relay+grpc", "?grpcInsecure=true"],
  ["relay+grpc", ""],
  ["socks5+h2c", "?path=/tunnel"],
  ["http+grpc", "?grpc.path=/my.Svc/Pipe"],
  ["h2", ""], // the default handler (auto) and connector (http)
  ["h2c", ""],
  ["grpc", ""],
];

for (const [scheme, query] of cases) {
  Deno.test(`${scheme}${query}: curl through -L http:// -F ${scheme}:// to a -L ${scheme}:// node`, async () => {
    const origin = httpOrigin();
    const [node, entry] = [freePort(), freePort()];
    await using _node = await startGost(["-L", `${scheme}://127.0.0.1:${node}${query}`]);
    await using _entry = await startGost([
      "-L",
      `http://127.0.0.1:${entry}`,
      "-F",
      `${scheme}://127.0.0.1:${node}${query}`,
    ]);
    try {
      const proxy = ["-sS", "--max-time", "20", "-x", `http://127.0.0.1:${entry}`];
      const r = await curl(...proxy, `http://127.0.0.1:${origin.port}/x`);
      equal(r.stdout, "hello /x", r.stderr);
      const big = await curl(...proxy, `http://127.0.0.1:${origin.port}/bytes/3000000`);
      equal(big.stdout.length, 3_000_000, big.stderr);
      // CONNECT (a tunnel through the entry) as well as the absolute-URI form
      const tunnel = await curl(...proxy, "-p", `http://127.0.0.1:${origin.port}/t`);
      equal(tunnel.stdout, "hello /t", tunnel.stderr);
    } finally {
      await origin.close();
    }
  });
}

/** Opens a CONNECT tunnel through the HTTP proxy on `proxy` to `target`; resolves with the conn once 200 came. */
async function connectThrough(proxy: number, target: number): Promise<Deno.TcpConn> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port: proxy });
  await c.write(new TextEncoder().encode(`CONNECT 127.0.0.1:${target} HTTP/1.1\r\nHost: 127.0.0.1:${target}\r\n\r\n`));
  const buf = new Uint8Array(1024);
  let head = "";
  while (!head.includes("\r\n\r\n")) {
    const n = await c.read(buf);
    if (n === null) throw new Error(`proxy closed: ${head}`);
    head += new TextDecoder().decode(buf.subarray(0, n));
  }
  if (!head.startsWith("HTTP/1.1 200")) throw new Error(`proxy answered ${head}`);
  return c;
}

async function echoOnce(c: Deno.TcpConn, text: string): Promise<string> {
  await c.write(new TextEncoder().encode(text));
  const buf = new Uint8Array(256);
  let got = "";
  while (got.length < text.length) {
    const n = await c.read(buf);
    if (n === null) break;
    got += new TextDecoder().decode(buf.subarray(0, n));
  }
  return got;
}

for (const [scheme, query] of [["relay+h2", ""], ["relay+grpc", "?grpcInsecure=true"], ["relay+h2c", ""]]) {
  Deno.test(`${scheme}: 100 client conns open at once ride one HTTP/2 connection (one TCP conn, one session)`, async () => {
    const echo = tcpEcho();
    const [node, entry, apiPort] = [freePort(), freePort(), freePort()];
    await using _node = await startGost(["-L", `${scheme}://127.0.0.1:${node}${query}`]);
    await using g = await startApi(
      [
        "-L",
        `http://127.0.0.1:${entry}`,
        "-F",
        `${scheme}://127.0.0.1:${node}${query}`,
        "-api",
        `127.0.0.1:${apiPort}`,
      ],
      { apiPort, listening: 1 },
    );
    const conns: Deno.TcpConn[] = [];
    try {
      for (let i = 0; i < 100; i++) conns.push(await connectThrough(entry, echo.port));
      const replies = await Promise.all(conns.map((c, i) => echoOnce(c, `ping ${i}`)));
      equal(replies.filter((r, i) => r === `ping ${i}`).length, 100);
      equal(establishedTo(node), 1, "one TCP conn from the entry to the node");
      const r = await call("GET", `${g.base}/sessions`);
      equal(r.body.data.count, 1, r.text);
      const s = r.body.data.list[0];
      equal(s.transport, scheme.split("+")[1]);
      equal(s.streamsOpen, 100, r.text);
      ok(s.streamsTotal >= 100, r.text);
      ok(s.bytesIn > 0 && s.bytesOut > 0 && s.lastReceivedAt >= s.createdAt, r.text);
      ok(typeof s.keepaliveRttMs === "number" && s.keepaliveRttMs >= 0, `a PING round trip: ${r.text}`);
    } finally {
      for (const c of conns) c.close();
      echo.close();
    }
  });
}

Deno.test("relay+h2: a frozen node's session ends at the PING timeout (reason keepalive) and the next request rides a new one", async () => {
  const origin = httpOrigin();
  const [node, entry, apiPort] = [freePort(), freePort(), freePort()];
  const ka = "keepalive.time=200ms&keepalive.timeout=1s";
  await using nodeProc = await startGost(["-L", `relay+h2://127.0.0.1:${node}`]);
  await using g = await startApi(
    ["-L", `http://127.0.0.1:${entry}`, "-F", `relay+h2://127.0.0.1:${node}?${ka}`, "-api", `127.0.0.1:${apiPort}`],
    { apiPort, listening: 1 },
  );
  const get = (path: string) =>
    curl("-sS", "--max-time", "20", "-x", `http://127.0.0.1:${entry}`, `http://127.0.0.1:${origin.port}${path}`);
  let stopped = false;
  try {
    equal((await get("/a")).stdout, "hello /a");
    const before = await call("GET", `${g.base}/sessions`);
    equal(before.body.data.list[0].keepaliveTimeoutMs, 1000, before.text);
    Deno.kill(nodeProc.child.pid, "SIGSTOP");
    stopped = true;
    await until(
      () => g.lines.some((l) => l.includes("keep-alive") && l.includes("h2 session")),
      "the entry logs the keep-alive close",
      10_000,
    );
    const after = await call("GET", `${g.base}/sessions`);
    equal(after.body.data.count, 0, after.text);
    equal(after.body.data.ended["chain-0"]?.keepalive, 1, after.text);
    Deno.kill(nodeProc.child.pid, "SIGCONT");
    stopped = false;
    equal((await get("/b")).stdout, "hello /b");
    const again = await call("GET", `${g.base}/sessions`);
    equal(again.body.data.count, 1, again.text);
  } finally {
    if (stopped) Deno.kill(nodeProc.child.pid, "SIGCONT");
    await origin.close();
  }
});
