/**
 * The quic transport end to end, as real processes: curl through `-L http://:A -F relay+quic://127.0.0.1:B` and
 * `-L relay+quic://:B`, and through the default-handler form (`-L quic://:B`, `-F quic://…`); 100 client conns held
 * open at once ride one QUIC connection (`GET /sessions`: one quic session, 100 streams open); a frozen node's
 * session ends at the idle timeout (logged, counted), a request waiting on it fails then rather than at curl's
 * limit, and after the node is back the next request rides a new session.
 */
import { equal, match, ok } from "node:assert/strict";
import { call, startApi } from "../helpers/api.ts";
import { freePort, freeUdpPort, startGost } from "../helpers/gost.ts";
import { namedOrigin } from "../helpers/process.ts";
import { curl } from "../helpers/run.ts";
import { until } from "../helpers/wait.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Opens a CONNECT tunnel to 127.0.0.1:`target` through the HTTP proxy on `proxy`; resolves once it answered 200. */
async function tunnel(proxy: number, target: number): Promise<Deno.TcpConn> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port: proxy });
  try {
    await c.write(enc.encode(`CONNECT 127.0.0.1:${target} HTTP/1.1\r\nHost: 127.0.0.1:${target}\r\n\r\n`));
    let head = "";
    const buf = new Uint8Array(1024);
    while (!head.includes("\r\n\r\n")) {
      const n = await c.read(buf);
      if (n === null) throw new Error(`proxy closed the tunnel: ${head}`);
      head += dec.decode(buf.subarray(0, n));
    }
    match(head, /^HTTP\/1\.[01] 200/);
    return c;
  } catch (err) {
    c.close();
    throw err;
  }
}

/** One GET over an open tunnel; the body. */
async function getOver(c: Deno.TcpConn): Promise<string> {
  await c.write(enc.encode("GET / HTTP/1.1\r\nHost: origin\r\nConnection: close\r\n\r\n"));
  let text = "";
  const buf = new Uint8Array(4096);
  for (;;) {
    const n = await c.read(buf);
    if (n === null) return text;
    text += dec.decode(buf.subarray(0, n));
  }
}

Deno.test("relay+quic between two processes: curl gets through, 100 conns held at once ride one QUIC connection", async () => {
  const origin = namedOrigin("hello over quic");
  const [node, entry, apiPort] = [freeUdpPort(), freePort(), freePort()];
  try {
    // maxStreams above quic-go's 100: the entry's http handler keeps the plain GET's upstream stream for reuse, and
    // a 101st stream would wait for the node's stream credit
    await using _node = await startGost(["-L", `relay+quic://127.0.0.1:${node}?maxStreams=128`]);
    await using g = await startApi(
      ["-L", `http://127.0.0.1:${entry}`, "-F", `relay+quic://127.0.0.1:${node}`, "-api", `127.0.0.1:${apiPort}`],
      { apiPort, listening: 1 },
    );
    const r = await curl("-sS", "-x", `http://127.0.0.1:${entry}`, `http://127.0.0.1:${origin.port}/`);
    equal(r.stdout, "hello over quic", r.stderr);
    const p = await curl("-sS", "-p", "-x", `http://127.0.0.1:${entry}`, `http://127.0.0.1:${origin.port}/`);
    equal(p.stdout, "hello over quic", p.stderr);

    const conns = await Promise.all(Array.from({ length: 100 }, () => tunnel(entry, origin.port)));
    try {
      const s = await call("GET", `${g.base}/sessions`);
      equal(s.status, 200, s.text);
      equal(s.body.data.count, 1, s.text);
      const q = s.body.data.list[0];
      equal(q.transport, "quic");
      equal(q.remote, `127.0.0.1:${node}`);
      ok(q.streamsOpen >= 100, s.text);
      ok(q.streamsTotal >= 102, s.text);
      ok(q.bytesIn > 0 && q.bytesOut > 0, s.text);
      equal(q.keepaliveRttMs, null);
      const bodies = await Promise.all(conns.map(getOver));
      for (const b of bodies) match(b, /hello over quic$/);
    } finally {
      for (const c of conns) c.close();
    }
    const after = await call("GET", `${g.base}/sessions`);
    equal(after.body.data.count, 1, "still the one session");
    await until(
      async () => (await call("GET", `${g.base}/sessions`)).body.data.list[0].streamsOpen <= 1,
      "the tunnels' streams closed (the kept upstream stream of the plain GET may stay)",
    );
  } finally {
    await origin.close();
  }
});

Deno.test("quic with the default handler and connector: -L quic://:B and -F quic://…", async () => {
  const origin = namedOrigin("default quic");
  const [node, entry] = [freeUdpPort(), freePort()];
  try {
    await using _node = await startGost(["-L", `quic://127.0.0.1:${node}`]);
    await using _entry = await startGost(["-L", `http://127.0.0.1:${entry}`, "-F", `quic://127.0.0.1:${node}`]);
    for (const args of [[], ["-p"]]) {
      const r = await curl("-sS", ...args, "-x", `http://127.0.0.1:${entry}`, `http://127.0.0.1:${origin.port}/`);
      equal(r.stdout, "default quic", r.stderr);
    }
  } finally {
    await origin.close();
  }
});

Deno.test("a frozen quic node: the session ends at the idle timeout, is logged and counted, and the next request rides a new one", async () => {
  const origin = namedOrigin("hello");
  const [node, entry, apiPort] = [freeUdpPort(), freePort(), freePort()];
  // PINGs every 200 ms keep an idle session alive; a frozen node answers none, so it ends after 1.5 s
  const q = "ttl=200ms&maxIdleTimeout=1500ms";
  await using nodeProc = await startGost(["-L", `relay+quic://127.0.0.1:${node}?${q}`]);
  await using g = await startApi(
    ["-L", `http://127.0.0.1:${entry}`, "-F", `relay+quic://127.0.0.1:${node}?${q}`, "-api", `127.0.0.1:${apiPort}`],
    { apiPort, listening: 1 },
  );
  const get = (path: string, ...args: string[]) =>
    curl(...args, "-sS", "-p", "-x", `http://127.0.0.1:${entry}`, `http://127.0.0.1:${origin.port}${path}`);
  const stopped = { yes: false };
  try {
    match((await get("/one")).stdout, /hello/);
    const before = await call("GET", `${g.base}/sessions`);
    equal(before.body.data.count, 1, before.text);
    const s = before.body.data.list[0];
    equal(s.keepaliveTimeoutMs, 1500);

    nodeProc.child.kill("SIGSTOP");
    stopped.yes = true;
    const start = performance.now();
    const waiting = get("/while-frozen", "--max-time", "30");
    await until(
      () => g.lines.some((l) => /quic session .* closed: nothing received for the keep-alive timeout/.test(l)),
      "the idle-timeout close in the log",
      15_000,
    );
    const frozen = await waiting;
    const waited = performance.now() - start;
    ok(!/hello/.test(frozen.stdout), `the frozen node answered: ${frozen.stdout}`);
    ok(waited < 10_000, `the waiting request ended at the idle timeout, not at curl's limit (${waited} ms)`);
    const after = await call("GET", `${g.base}/sessions`);
    const chain = Object.keys(after.body.data.ended)[0];
    equal(after.body.data.ended[chain].keepalive, 1, after.text);
    equal(after.body.data.count, 0, after.text);

    nodeProc.child.kill("SIGCONT");
    stopped.yes = false;
    match((await get("/again")).stdout, /hello/);
    const renewed = await call("GET", `${g.base}/sessions`);
    equal(renewed.body.data.count, 1, renewed.text);
    ok(renewed.body.data.list[0].createdAt > s.createdAt, "a new session");
    ok(renewed.body.data.list[0].local !== s.local, "over a new UDP socket");
  } finally {
    if (stopped.yes) nodeProc.child.kill("SIGCONT");
    await origin.close();
  }
});
