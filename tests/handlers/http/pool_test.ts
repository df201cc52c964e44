/**
 * The http handler's idle upstream conns shared between client conns, with curl as the client (a new conn and
 * `Connection`-less close per run) and a scripted origin that counts its conns: reuse, expiry, a kept conn the
 * origin closed, bodies, service close, and the router's reuse key (no sharing when a hop selects among nodes).
 */
import { equal, ok, throws } from "node:assert/strict";
import { Bypass } from "../../../core/routing/bypass.ts";
import { Chain, type ChainNode, Hop } from "../../../core/routing/chain.ts";
import { DefaultRouter } from "../../../core/routing/router.ts";
import type { HandlerOptions } from "../../../core/contracts.ts";
import { HttpHandler } from "../../../handlers/http/handler.ts";
import { UpstreamPool } from "../../../handlers/http/pool.ts";
import { HandshakeReader } from "../../../core/bufio.ts";
import { parseHttpMetadata } from "../../../handlers/http/metadata.ts";
import { Metadata } from "../../../core/metadata.ts";
import { tcpDialer } from "../../helpers/chain.ts";
import { defaultReply, rawOrigin } from "../../helpers/http_raw.ts";
import { curl } from "../../helpers/run.ts";
import { startService } from "../../helpers/service.ts";
import { eventually, until } from "../../helpers/wait.ts";

const http = (o: HandlerOptions) => new HttpHandler(o);

/** One curl run through the proxy: the body, or the error. */
async function get(proxy: number, url: string, ...extra: string[]): Promise<string> {
  const r = await curl("-x", `http://127.0.0.1:${proxy}`, ...extra, url);
  if (r.code !== 0) throw new Error(`curl exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

Deno.test("http handler serves the next client's request on the upstream conn the last client left idle", async () => {
  const origin = rawOrigin();
  await using svc = await startService({ handler: http });
  const url = `http://127.0.0.1:${origin.port}`;
  try {
    for (const path of ["/a", "/b", "/c"]) equal(await get(svc.port, url + path), `hello ${path}`);
    equal(origin.state.conns, 1, "three curl runs, one upstream conn");
    equal(origin.state.heads.length, 3);
    ok(origin.state.heads.every((h) => !/^connection:/im.test(h)), "the client's Connection header is not sent on");
  } finally {
    await origin.close();
  }
});

Deno.test("http handler with upstreamKeepAlive=false dials the origin for every client conn", async () => {
  const origin = rawOrigin();
  await using svc = await startService({ handler: http, metadata: { upstreamKeepAlive: false } });
  try {
    for (const path of ["/a", "/b", "/c"]) {
      equal(await get(svc.port, `http://127.0.0.1:${origin.port}${path}`), `hello ${path}`);
    }
    equal(origin.state.conns, 3);
    ok(await eventually(() => origin.state.open === 0), "every upstream conn is closed with its client conn");
  } finally {
    await origin.close();
  }
});

Deno.test("http handler closes an idle upstream conn after upstreamIdleTimeout, and all of them at service close", async () => {
  const origin = rawOrigin();
  const svc = await startService({ handler: http, metadata: { upstreamIdleTimeout: "300ms" } });
  const url = `http://127.0.0.1:${origin.port}/`;
  try {
    await get(svc.port, url);
    equal(origin.state.open, 1, "kept after the client left");
    ok(await eventually(() => origin.state.open === 0, 2000), "closed once idle for 300 ms");
    await get(svc.port, url);
    equal(origin.state.conns, 2, "an expired conn is not used again");
    equal(origin.state.open, 1);
    await svc.close();
    ok(await eventually(() => origin.state.open === 0, 2000), "service close closes the idle conns");
  } finally {
    await svc.close();
    await origin.close();
  }
});

Deno.test("http handler retries on a new conn when the origin closed the kept one", async () => {
  // The origin answers the first request of a conn and closes the conn when a second one comes (as an origin whose
  // keep-alive timeout passed while the conn waited in the pool).
  const origin = rawOrigin((head, _b, nth) => nth === 0 ? defaultReply(head) : null);
  await using svc = await startService({ handler: http });
  try {
    equal(await get(svc.port, `http://127.0.0.1:${origin.port}/one`), "hello /one");
    equal(await get(svc.port, `http://127.0.0.1:${origin.port}/two`), "hello /two");
    equal(origin.state.conns, 2);
  } finally {
    await origin.close();
  }
});

Deno.test("http handler drops a kept conn the origin speaks on or closes while idle (no stale 408 for the next client)", async () => {
  // Each conn: one answer; then, once the first client has its answer (the conn waits idle in the pool), an unasked
  // 408 (as servers whose idle timeout passes). The origin then reads until the proxy closes the conn, and counts it.
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let conns = 0;
  let dropped = 0;
  const answered = Promise.withResolvers<void>();
  const serves: Promise<void>[] = [];
  const serve = async (c: Deno.Conn) => {
    const buf = new Uint8Array(4096);
    if ((await c.read(buf)) === null) return;
    await c.write(new TextEncoder().encode("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"));
    await answered.promise;
    await c.write(new TextEncoder().encode("HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n"));
    try {
      while ((await c.read(buf)) !== null);
    } finally {
      dropped++;
    }
  };
  const loop = (async () => {
    for await (const c of ln) {
      conns++;
      serves.push(serve(c).catch(() => {}).finally(() => c.close()));
    }
  })().catch(() => {});
  const svc = await startService({ handler: http });
  const url = `http://127.0.0.1:${(ln.addr as Deno.NetAddr).port}/`;
  try {
    equal(await get(svc.port, url), "ok\n");
    answered.resolve();
    await until(() => dropped === 1, "the proxy to close the idle conn the origin spoke on");
    equal(await get(svc.port, url), "ok\n", "the second client gets its own answer, not the 408");
    equal(conns, 2);
  } finally {
    answered.resolve();
    await svc.close();
    ln.close();
    await loop;
    await Promise.all(serves);
  }
});

Deno.test("http handler never shares an upstream conn that carried a request body, nor gives one to a body", async () => {
  const origin = rawOrigin((head, body) =>
    head.startsWith("POST") ? `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}` : defaultReply(head)
  );
  await using svc = await startService({ handler: http });
  const url = `http://127.0.0.1:${origin.port}/x`;
  try {
    equal(await get(svc.port, url), "hello /x");
    equal(await get(svc.port, url, "-d", "posted"), "posted");
    equal(origin.state.conns, 2, "the POST did not take the idle conn");
    ok(await eventually(() => origin.state.open === 1), "the POST's conn is closed with its client");
    equal(await get(svc.port, url), "hello /x");
    equal(origin.state.conns, 2, "the GET took the conn the first GET left");
  } finally {
    await origin.close();
  }
});

Deno.test("http handler under load: 40 clients × 25 short conns over two origins, each gets its own response", async () => {
  // Responses echo the request path (Content-Length or chunked, some after a POST body): a kept conn handed to the
  // wrong client, or a response left behind on one, shows as a wrong body.
  const reply = (head: string, body: string) => {
    const path = head.split(" ")[1];
    const text = `${path}${body ? ` ${body}` : ""}`;
    return path.includes("chunked")
      ? `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${text.length.toString(16)}\r\n${text}\r\n0\r\n\r\n`
      : `HTTP/1.1 200 OK\r\nContent-Length: ${text.length}\r\n\r\n${text}`;
  };
  const origins = [rawOrigin(reply), rawOrigin(reply)];
  await using svc = await startService({ handler: http });
  const dec = new TextDecoder();
  const one = async (i: number, j: number) => {
    const o = origins[(i + j) % 2];
    const path = `/c${i}-r${j}${j % 3 === 0 ? "-chunked" : ""}`;
    const post = j % 5 === 0 ? `body${i}.${j}` : "";
    const head = post
      ? `POST http://127.0.0.1:${o.port}${path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${post.length}\r\n`
      : `GET http://127.0.0.1:${o.port}${path} HTTP/1.1\r\nHost: x\r\n`;
    const c = await Deno.connect({ hostname: "127.0.0.1", port: svc.port });
    try {
      await c.write(new TextEncoder().encode(`${head}Connection: close\r\n\r\n${post}`));
      let all = "";
      const buf = new Uint8Array(4096);
      for (let n; (n = await c.read(buf)) !== null;) all += dec.decode(buf.subarray(0, n));
      const body = all.slice(all.indexOf("\r\n\r\n") + 4);
      const want = `${path}${post ? ` ${post}` : ""}`;
      ok(body === want || body.includes(`\r\n${want}\r\n`), `client ${i} request ${j}: got ${JSON.stringify(body)}`);
    } finally {
      c.close();
    }
  };
  try {
    await Promise.all(Array.from({ length: 40 }, async (_, i) => {
      for (let j = 0; j < 25; j++) await one(i, j);
    }));
    const conns = origins[0].state.conns + origins[1].state.conns;
    ok(conns < 1000 / 2, `kept conns served most requests: ${conns} upstream conns for 1,000 requests`);
  } finally {
    for (const o of origins) await o.close();
  }
});

Deno.test("upstream pool: newest first, caps per target and in all, a conn the peer closes leaves at once", async () => {
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (ln.addr as Deno.NetAddr).port;
  const far: Deno.Conn[] = [];
  const pair = async () => {
    const [near, other] = await Promise.all([Deno.connect({ hostname: "127.0.0.1", port }), ln.accept()]);
    far.push(other);
    return { conn: near, reader: new HandshakeReader(near) };
  };
  const pool = new UpstreamPool(60_000, 2, 3);
  try {
    const [a, b, c, d, e] = [await pair(), await pair(), await pair(), await pair(), await pair()];
    pool.put("x", a);
    pool.put("x", b);
    pool.put("x", c); // over the per-target cap: closed
    pool.put("y", d);
    pool.put("y", e); // over the total cap: closed
    equal(pool.size, 3);
    for (const closed of [far[2], far[4]]) {
      equal(await closed.read(new Uint8Array(1)), null, "a refused conn is closed");
    }
    equal(pool.take("x"), b, "the most recently kept first");
    equal(pool.size, 2);
    far[0].close(); // the origin closes a's conn while it waits
    ok(await eventually(() => pool.size === 1), "a closed conn leaves the pool");
    equal(pool.take("x"), undefined);
    pool.close();
    equal(pool.size, 0);
    equal(await far[3].read(new Uint8Array(1)), null, "close() closes the idle conns");
    b.conn.close();
  } finally {
    pool.close();
    for (const c of far) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    ln.close();
  }
});

Deno.test("http handler metadata: upstream keep-alive keys, and zero turns it off", () => {
  const d = parseHttpMetadata(new Metadata({}));
  equal(d.upstreamKeepAlive, true);
  equal(d.upstreamIdleTimeoutMs, 30_000);
  equal(d.upstreamMaxIdle, 64);
  const m = parseHttpMetadata(new Metadata({ upstreamIdleTimeout: "5s", upstreamMaxIdle: 8 }));
  equal(m.upstreamIdleTimeoutMs, 5000);
  equal(m.upstreamMaxIdle, 8);
  equal(parseHttpMetadata(new Metadata({ upstreamMaxIdle: 0 })).upstreamKeepAlive, false);
  equal(parseHttpMetadata(new Metadata({ upstreamKeepAlive: "false" })).upstreamKeepAlive, false);
  equal(d.upstreamShared, false, "kept conns go back to the same client by default");
  equal(parseHttpMetadata(new Metadata({ upstreamShared: "true" })).upstreamShared, true);
  throws(() => parseHttpMetadata(new Metadata({ upstreamShared: "maybe" })), /"upstreamShared" as a boolean: "maybe"/);
});

Deno.test("router reuse key: the target without a chain, the fixed path with one node per hop, none otherwise", async () => {
  const node = (name: string, addr: string): ChainNode => ({
    name,
    addr,
    weight: 1,
    backup: false,
    dialer: tcpDialer,
    connector: { init: () => Promise.resolve(), connect: (c) => Promise.resolve(c) },
  });
  equal(await new DefaultRouter().reuseKey("tcp", "a.example:80"), "a.example:80");
  equal(await new DefaultRouter().reuseKey("udp", "a.example:53"), undefined);

  const one = new Chain("c", [
    new Hop("h0", [node("n0", "10.0.0.1:1080")]),
    new Hop("h1", [node("n1", "10.0.0.2:8080")]),
  ]);
  const key = await new DefaultRouter({ chain: () => one }).reuseKey("tcp", "a.example:80");
  equal(key, `c#${one.serial} > n0@10.0.0.1:1080 > n1@10.0.0.2:8080 > a.example:80`);
  const again = new Chain("c", [new Hop("h0", [node("n0", "10.0.0.1:1080")])]);
  ok(
    await new DefaultRouter({ chain: () => again }).reuseKey("tcp", "a.example:80") !== key,
    "a replaced chain: new keys",
  );

  const two = new Chain("c", [new Hop("h0", [node("n0", "10.0.0.1:1080"), node("n1", "10.0.0.3:1080")])]);
  equal(
    await new DefaultRouter({ chain: () => two }).reuseKey("tcp", "a.example:80"),
    undefined,
    "round robin stays per request",
  );

  const bypass = new Bypass({ matchers: ["*.example"] });
  equal(await new DefaultRouter({ bypass: () => bypass }).reuseKey("tcp", "a.example:80"), undefined);
  const missing = () => {
    throw new Error("chain x not found");
  };
  equal(await new DefaultRouter({ chain: missing }).reuseKey("tcp", "a.example:80"), undefined);

  // hosts/resolver: the key names the IP too, so a changed mapping does not reuse conns to the old address
  let ip = "10.1.1.1";
  const resolving = new DefaultRouter({ resolve: () => Promise.resolve(ip) });
  equal(await resolving.reuseKey("tcp", "a.example:80"), "a.example:80=10.1.1.1:80");
  ip = "10.2.2.2";
  equal(await resolving.reuseKey("tcp", "a.example:80"), "a.example:80=10.2.2.2:80");
  const failing = new DefaultRouter({ resolve: () => Promise.reject(new Error("no such host")) });
  equal(await failing.reuseKey("tcp", "a.example:80"), undefined);
});
