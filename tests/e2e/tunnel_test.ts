/**
 * The reverse-proxy tunnel in real gost.ts processes over loopback, driven with curl: a tunnel server with a public
 * entrypoint, tunnel clients behind it (`-L rtcp://:0/… -F tunnel://server?tunnel.id=…`, `rudp` alike) and visitors
 * (`-F tunnel://server?tunnel.id=…`). Cases: two clients serving one hostname share the load and one killed leaves
 * the other serving all, as the Web API's GET /tunnels shows; TLS routed by SNI; a private tunnel refused at the
 * entrypoint and reached by id; raw TCP and UDP ingress ports (beyond GOST); rtcp through a `tunnel.direct` server.
 */
import { equal, match, ok } from "node:assert/strict";
import { call, startApi } from "../helpers/api.ts";
import { freePort, freeUdpPort, type GostProcess, startGost } from "../helpers/gost.ts";
import { namedOrigin } from "../helpers/process.ts";
import { curl } from "../helpers/run.ts";
import { RawClient } from "../helpers/http_raw.ts";
import { httpOrigin, tcpEcho, tcpOrigin, udpEcho } from "../helpers/servers.ts";
import { makePki } from "../helpers/tls_fixtures.ts";
import { until } from "../helpers/wait.ts";

const ID = "4d21094e-b74c-4916-86c1-d9fa36ea677b";
const ID2 = "ac74d9dd-3125-442a-a7c1-f9e49e05faca";
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Resolves once `proc` logged `n` lines matching `re`. */
function lines(proc: { lines: string[] }, re: RegExp, n = 1, what = String(re)): Promise<void> {
  return until(() => proc.lines.filter((l) => re.test(l)).length >= n, what, 20_000);
}

/** A tunnel client: `-L` services through `-F tunnel://127.0.0.1:server?tunnel.id=id`; ready once every bind is. */
function tunnelClient(server: number, id: string, listeners: string[], extra = ""): Promise<GostProcess> {
  const args = listeners.flatMap((l) => ["-L", l]);
  args.push("-F", `tunnel://127.0.0.1:${server}?tunnel.id=${id}${extra}`);
  let binds = 0;
  return startGost(args, {
    what: "its tunnel registered",
    ready: (line) => (/create tunnel on/.test(line) && ++binds >= listeners.length),
  });
}

/** `curl http://127.0.0.1:port/path` with a Host header; the body, or "" when it failed. */
async function get(port: number, host: string, path = "/"): Promise<{ body: string; status: string }> {
  const r = await curl(
    "-s",
    "-m",
    "10",
    "-H",
    `Host: ${host}`,
    "-w",
    "\n%{http_code}",
    `http://127.0.0.1:${port}${path}`,
  );
  const i = r.stdout.lastIndexOf("\n");
  return { body: r.stdout.slice(0, i), status: r.stdout.slice(i + 1) };
}

/** One TCP round trip: send, half-close, read to EOF. */
async function roundTrip(port: number, msg: string): Promise<string> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => c.close(), 10_000);
  try {
    const data = enc.encode(msg);
    for (let off = 0; off < data.length;) off += await c.write(data.subarray(off));
    await c.closeWrite();
    let text = "";
    const buf = new Uint8Array(64 * 1024);
    for (let n; (n = await c.read(buf)) !== null;) text += dec.decode(buf.subarray(0, n), { stream: true });
    return text;
  } finally {
    clearTimeout(timer);
    try {
      c.close();
    } catch { /* closed by the timer */ }
  }
}

Deno.test("two tunnel clients of one hostname share the entrypoint's requests; one killed, the other serves all", async () => {
  const a = namedOrigin("A"), b = namedOrigin("B");
  const [srv, ep, api] = [freePort(), freePort(), freePort()];
  await using server = await startApi([
    "-L",
    `tunnel://127.0.0.1:${srv}?entrypoint=127.0.0.1:${ep}&tunnel=app.test:${ID},.wild.test:${ID}`,
    "-api",
    `127.0.0.1:${api}`,
  ], { apiPort: api, listening: 1 });
  const clientA = await tunnelClient(srv, ID, [`rtcp://:0/127.0.0.1:${a.port}`]);
  try {
    await using _clientB = await tunnelClient(srv, ID, [`rtcp://:0/127.0.0.1:${b.port}`]);
    await lines(server, /client \S+ registered \(tcp/, 2);
    const seen: Record<string, number> = {};
    for (let i = 0; i < 20; i++) {
      const { body, status } = await get(ep, i % 2 ? "app.test" : "x.wild.test:80", `/${i}`);
      equal(status, "200", body);
      seen[body] = (seen[body] ?? 0) + 1;
    }
    ok(seen.A >= 5 && seen.B >= 5, `both clients serve: ${JSON.stringify(seen)}`);
    equal(seen.A + seen.B, 20);
    // a host no rule names: 502 from the entrypoint
    equal((await get(ep, "nobody.test")).status, "502");

    const listed = (await call("GET", `${server.base}/tunnels`)).body.data;
    equal(listed.count, 1);
    equal(listed.servers[0].service, "service-0");
    equal(listed.servers[0].entrypoints[0], `127.0.0.1:${ep}`);
    const t = listed.list[0];
    equal(t.id, ID);
    equal(t.clients.length, 2);
    equal(t.connsTotal, 20);
    ok(t.bytesIn > 20 * 30 && t.bytesOut > 20 * 30, `bytes ${t.bytesIn}/${t.bytesOut}`);
    match(t.endpoint, /^[0-9a-f]{16}$/);

    await clientA.stop("SIGKILL");
    await lines(server, /client \S+ gone/);
    for (let i = 0; i < 10; i++) {
      const { body, status } = await get(ep, "app.test", `/after-${i}`);
      equal(status, "200");
      equal(body, "B", "the surviving client serves every request");
    }
    const after = (await call("GET", `${server.base}/tunnels`)).body.data.list[0];
    equal(after.clients.length, 1);
    equal(after.connsTotal, 30);
  } finally {
    await clientA.stop("SIGKILL");
    await a.close();
    await b.close();
  }
});

Deno.test("the entrypoint routes TLS by SNI to the tunnel, bytes passed through to the client's TLS origin", async () => {
  await using pki = await makePki();
  const origin = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: await Deno.readTextFile(pki.serverCert),
    key: await Deno.readTextFile(pki.serverKey),
    onListen() {},
  }, () => new Response("over tls"));
  const [srv, ep] = [freePort(), freePort()];
  await using _server = await startGost([
    "-L",
    `tunnel://127.0.0.1:${srv}?entrypoint=127.0.0.1:${ep}&tunnel=secure.test:${ID}`,
  ]);
  try {
    await using _client = await tunnelClient(srv, ID, [`rtcp://:0/127.0.0.1:${origin.addr.port}`]);
    const r = await curl(
      "-s",
      "-k",
      "-m",
      "10",
      "--resolve",
      `secure.test:${ep}:127.0.0.1`,
      `https://secure.test:${ep}/`,
    );
    equal(r.stdout, "over tls", r.stderr);
    // a name no rule routes: the conn is closed (curl fails the handshake)
    const bad = await curl(
      "-s",
      "-k",
      "-m",
      "10",
      "--resolve",
      `other.test:${ep}:127.0.0.1`,
      `https://other.test:${ep}/`,
    );
    ok(bad.code !== 0, "no route, no TLS");
    await lines(_server, /no route to host other\.test \(TLS\)/);
  } finally {
    await origin.shutdown();
  }
});

Deno.test("a private tunnel: the entrypoint answers 502, a visitor with the tunnel id reaches it", async () => {
  const origin = namedOrigin("private");
  const [srv, ep, visit, wrong] = [freePort(), freePort(), freePort(), freePort()];
  await using server = await startGost([
    "-L",
    `tunnel://127.0.0.1:${srv}?entrypoint=127.0.0.1:${ep}&tunnel=srv.test:$${ID},open.test:${ID2}`,
  ]);
  await using _client = await tunnelClient(srv, ID, [`rtcp://:0/127.0.0.1:${origin.port}`]);
  await using _visitor = await startGost([
    "-L",
    `tcp://127.0.0.1:${visit}/srv.test:80`,
    "-L",
    `tcp://127.0.0.1:${wrong}/open.test:80`,
    "-F",
    `tunnel://127.0.0.1:${srv}?tunnel.id=${ID}`,
  ], { listening: 2 });
  try {
    const pub = await get(ep, "srv.test");
    equal(pub.status, "502");
    match(pub.body, /private tunnel/);
    const r = await curl("-s", "-m", "10", `http://127.0.0.1:${visit}/`);
    equal(r.stdout, "private", r.stderr);
    // open.test belongs to another tunnel: this id has no route to it (0x06), the visitor's conn is closed
    const no = await curl("-s", "-m", "10", `http://127.0.0.1:${wrong}/`);
    ok(no.code !== 0 && no.stdout === "", `refused: ${no.code} ${no.stdout}`);
    await lines(server, /no route to host open\.test on tunnel 4d21094e/);
  } finally {
    await origin.close();
  }
});

Deno.test("raw TCP and UDP ingress rules open entrypoint ports routed to the tunnel's rtcp and rudp clients", async () => {
  const echo = tcpEcho();
  const uecho = udpEcho("pong:");
  const [srv, ep, raw, uraw] = [freePort(), freePort(), freePort(), freeUdpPort()];
  const dir = await Deno.makeTempDir();
  const file = `${dir}/server.yaml`;
  await Deno.writeTextFile(
    file,
    `services:
  - name: tunnel-server
    addr: 127.0.0.1:${srv}
    handler: { type: tunnel, metadata: { entrypoint: "127.0.0.1:${ep}", ingress: ing } }
    listener: { type: tcp }
ingresses:
  - name: ing
    rules:
      - hostname: "tcp://127.0.0.1:${raw}"
        endpoint: ${ID}
      - hostname: "udp://127.0.0.1:${uraw}"
        endpoint: ${ID}
`,
  );
  await using server = await startGost(["-C", file]);
  await using _client = await tunnelClient(srv, ID, [
    `rtcp://:0/127.0.0.1:${echo.port}`,
    `rudp://:0/127.0.0.1:${uecho.port}`,
  ]);
  const sock = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  try {
    await lines(server, new RegExp(`listening on tcp://127\\.0\\.0\\.1:${raw} for tunnel`));
    await lines(server, new RegExp(`listening on udp://127\\.0\\.0\\.1:${uraw} for tunnel`));
    equal(await roundTrip(raw, "raw tcp through the tunnel"), "raw tcp through the tunnel");
    const big = "x".repeat(500_000);
    equal(await roundTrip(raw, big), big);
    await sock.send(enc.encode("ping"), { transport: "udp", hostname: "127.0.0.1", port: uraw });
    const [d] = await sock.receive();
    equal(dec.decode(d), "pong:ping");
  } finally {
    sock.close();
    echo.close();
    uecho.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rtcp and rudp through a tunnel.direct server: visitors with the tunnel id reach the client's targets", async () => {
  const echo = tcpEcho();
  const uecho = udpEcho("u:");
  const [srv, visit, uvisit] = [freePort(), freePort(), freeUdpPort()];
  await using _server = await startGost(["-L", `tunnel://127.0.0.1:${srv}?tunnel.direct=true`]);
  await using _client = await tunnelClient(
    srv,
    ID,
    [`rtcp://:0/127.0.0.1:${echo.port}`, `rudp://:0/127.0.0.1:${uecho.port}`],
    "&tunnel.weight=3",
  );
  await using _visitor = await startGost([
    "-L",
    `tcp://127.0.0.1:${visit}`,
    "-L",
    `udp://127.0.0.1:${uvisit}`,
    "-F",
    `tunnel://127.0.0.1:${srv}?tunnel.id=${ID}`,
  ], { listening: 2 });
  const sock = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  try {
    equal(await roundTrip(visit, "direct"), "direct");
    const data = "y".repeat(2_000_000);
    equal(await roundTrip(visit, data), data);
    for (const msg of ["one", "two"]) {
      await sock.send(enc.encode(msg), { transport: "udp", hostname: "127.0.0.1", port: uvisit });
      const [d] = await sock.receive();
      equal(dec.decode(d), `u:${msg}`);
    }
  } finally {
    sock.close();
    echo.close();
    uecho.close();
  }
});

for (const keepalive of [false, true]) {
  Deno.test(`one kept-alive conn to the entrypoint: each request routed by its Host (entrypoint.keepalive=${keepalive})`, async () => {
    const a = namedOrigin("A");
    const b = httpOrigin();
    const [srv, ep, api] = [freePort(), freePort(), freePort()];
    await using server = await startApi([
      "-L",
      `tunnel://127.0.0.1:${srv}?entrypoint=127.0.0.1:${ep}&entrypoint.keepalive=${keepalive}` +
      `&tunnel=a.test:${ID},b.test:${ID2}`,
      "-api",
      `127.0.0.1:${api}`,
    ], { apiPort: api, listening: 1 });
    await using _ca = await tunnelClient(srv, ID, [`rtcp://:0/127.0.0.1:${a.port}`]);
    await using _cb = await tunnelClient(srv, ID2, [`rtcp://:0/127.0.0.1:${b.port}`]);
    await using c = await RawClient.open(ep);
    try {
      await c.send("GET /1 HTTP/1.1\r\nHost: a.test\r\n\r\n");
      equal((await c.readResponse()).body, "A");
      await c.send("GET /2 HTTP/1.1\r\nHost: b.test\r\n\r\n");
      equal((await c.readResponse()).body, "hello /2");
      await c.send(
        "POST /echo HTTP/1.1\r\nHost: b.test\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n",
      );
      equal((await c.readResponse()).body, "abcdefg");
      await c.send("GET /bytes/1000000 HTTP/1.1\r\nHost: b.test:80\r\n\r\n");
      equal((await c.readResponse()).body.length, 1_000_000);
      await c.send("GET /3 HTTP/1.1\r\nHost: a.test\r\n\r\n");
      equal((await c.readResponse()).body, "A");
      // a Host no rule names: 502 and the conn is closed
      await c.send("GET / HTTP/1.1\r\nHost: nowhere.test\r\n\r\n");
      match((await c.readResponse()).head, /^HTTP\/1\.1 502 /);
      equal(await c.readAll(), "");
      await lines(server, /no route to host nowhere\.test/);
      // b.test's three requests in a row: one kept stream with entrypoint.keepalive, else one stream each
      const list = (await call("GET", `${server.base}/tunnels`)).body.data.list;
      const total = (id: string) => list.find((t: { id: string }) => t.id === id).connsTotal;
      equal(total(ID2), keepalive ? 1 : 3);
      equal(total(ID), 2, "a.test's requests were not in a row: a stream each");
    } finally {
      await a.close();
      await b.close();
    }
  });
}

Deno.test("an upgrade (101) through the entrypoint switches the conn to a raw relay to the tunnel's origin", async () => {
  // an origin that switches to an echo protocol after the upgrade request
  const origin = tcpOrigin(async (c) => {
    const buf = new Uint8Array(4096);
    let head = "";
    while (!head.includes("\r\n\r\n")) {
      const n = await c.read(buf);
      if (n === null) return;
      head += dec.decode(buf.subarray(0, n));
    }
    await c.write(enc.encode("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n"));
    for (let n; (n = await c.read(buf)) !== null;) await c.write(buf.subarray(0, n));
  });
  const [srv, ep] = [freePort(), freePort()];
  await using _server = await startGost([
    "-L",
    `tunnel://127.0.0.1:${srv}?entrypoint=127.0.0.1:${ep}&tunnel=ws.test:${ID}`,
  ]);
  await using _client = await tunnelClient(srv, ID, [`rtcp://:0/127.0.0.1:${origin.port}`]);
  await using c = await RawClient.open(ep);
  try {
    await c.send("GET /chat HTTP/1.1\r\nHost: ws.test\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n");
    const { head } = await c.readResponse();
    match(head, /^HTTP\/1\.1 101 /);
    await c.send("raw bytes after the upgrade");
    await c.conn.closeWrite();
    equal(await c.readAll(), "raw bytes after the upgrade");
  } finally {
    origin.close();
  }
});

Deno.test("entrypoint.keepalive: a kept stream whose origin closed meanwhile is replaced, the request sent again", async () => {
  // answers one request per conn with keep-alive framing, then closes (an origin's idle timeout)
  let conns = 0;
  const origin = tcpOrigin(async (c) => {
    conns++;
    const buf = new Uint8Array(4096);
    let head = "";
    while (!head.includes("\r\n\r\n")) {
      const n = await c.read(buf);
      if (n === null) return;
      head += dec.decode(buf.subarray(0, n));
    }
    await c.write(enc.encode(`HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nconn ${conns}`));
  });
  const [srv, ep] = [freePort(), freePort()];
  await using _server = await startGost([
    "-L",
    `tunnel://127.0.0.1:${srv}?entrypoint=127.0.0.1:${ep}&entrypoint.keepalive=true&tunnel=ka.test:${ID}`,
  ]);
  await using _client = await tunnelClient(srv, ID, [`rtcp://:0/127.0.0.1:${origin.port}`]);
  await using c = await RawClient.open(ep);
  try {
    for (let i = 1; i <= 3; i++) {
      await c.send("GET / HTTP/1.1\r\nHost: ka.test\r\n\r\n");
      equal((await c.readResponse()).body, `conn ${i}`);
    }
  } finally {
    origin.close();
  }
});

Deno.test("tunnel.weight shares a tunnel's requests by weight; a weight-255 client takes them all", async () => {
  const [o1, o3, o255] = [namedOrigin("w1"), namedOrigin("w3"), namedOrigin("w255")];
  const [srv, ep] = [freePort(), freePort()];
  await using server = await startGost([
    "-L",
    `tunnel://127.0.0.1:${srv}?entrypoint=127.0.0.1:${ep}&tunnel=w.test:${ID}`,
  ]);
  const count = async (n: number) => {
    const seen: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const { body } = await get(ep, "w.test");
      seen[body] = (seen[body] ?? 0) + 1;
    }
    return seen;
  };
  await using _c1 = await tunnelClient(srv, ID, [`rtcp://:0/127.0.0.1:${o1.port}`], "&tunnel.weight=1");
  await using _c3 = await tunnelClient(srv, ID, [`rtcp://:0/127.0.0.1:${o3.port}`], "&tunnel.weight=3");
  try {
    await lines(server, /registered \(tcp, weight 3/);
    const shared = await count(40);
    equal(shared.w1, 10, JSON.stringify(shared));
    equal(shared.w3, 30, JSON.stringify(shared));
    await using _c255 = await tunnelClient(srv, ID, [`rtcp://:0/127.0.0.1:${o255.port}`], "&tunnel.weight=255");
    await lines(server, /registered \(tcp, weight 255/);
    const all = await count(10);
    equal(all.w255, 10, JSON.stringify(all));
  } finally {
    await Promise.all([o1.close(), o3.close(), o255.close()]);
  }
});

Deno.test("entrypoints: several public entrypoints, each routing by an ingress of its own", async () => {
  const [a, b] = [namedOrigin("from-a"), namedOrigin("from-b")];
  const [srv, ep1, ep2] = [freePort(), freePort(), freePort()];
  const dir = await Deno.makeTempDir();
  const file = `${dir}/server.yaml`;
  await Deno.writeTextFile(
    file,
    `services:
  - name: tunnels
    addr: 127.0.0.1:${srv}
    handler:
      type: tunnel
      metadata:
        entrypoints:
          - { addr: "127.0.0.1:${ep1}", ingress: first }
          - { addr: "127.0.0.1:${ep2}", ingress: second }
    listener: { type: tcp }
ingresses:
  - { name: first, rules: [{ hostname: site.test, endpoint: ${ID} }] }
  - { name: second, rules: [{ hostname: site.test, endpoint: ${ID2} }] }
`,
  );
  await using _server = await startGost(["-C", file]);
  await using _ca = await tunnelClient(srv, ID, [`rtcp://:0/127.0.0.1:${a.port}`]);
  await using _cb = await tunnelClient(srv, ID2, [`rtcp://:0/127.0.0.1:${b.port}`]);
  try {
    equal((await get(ep1, "site.test")).body, "from-a");
    equal((await get(ep2, "site.test")).body, "from-b");
  } finally {
    await a.close();
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});
