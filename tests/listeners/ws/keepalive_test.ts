/**
 * The ws dialer's keep-alive (`keepalive=true`, `ttl`): pings go out every ttl; a server that answers them keeps the
 * conn alive across many periods, one that never answers has the conn closed after two periods.
 */
import { equal, ok } from "node:assert/strict";
import { nopLogger } from "../../../core/log.ts";
import { Metadata } from "../../../core/metadata.ts";
import { wsDialer } from "../../../listeners/ws/dialer.ts";
import { serverHandshake } from "../../../listeners/ws/handshake.ts";
import type { WsConn } from "../../../listeners/ws/conn.ts";

const TTL = 100;

/** A ws server on loopback; `serve` gets each upgraded conn. */
function wsServer(serve: (c: WsConn) => Promise<void>) {
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const done = (async () => {
    for await (const raw of ln) {
      serverHandshake(raw, { path: "/ws", header: [], bufferSize: 4096 }).then(serve).catch(() => {});
    }
  })();
  return { addr: `127.0.0.1:${ln.addr.port}`, close: () => (ln.close(), done) };
}

async function dialer() {
  const d = wsDialer({ logger: nopLogger });
  await d.init(new Metadata({ keepalive: true, ttl: `${TTL}ms` }));
  return d;
}

Deno.test("ws keep-alive: pings answered by the server keep the conn alive for many periods", async () => {
  let pings = 0;
  const srv = wsServer(async (c) => {
    // count the pings on the raw conn by reading through the WsConn (which answers them)
    const inner = c.inner;
    const read = inner.read.bind(inner);
    inner.read = async (p) => {
      const n = await read(p);
      if (n && (p[0] & 0x0f) === 0x9) pings++;
      return n;
    };
    const buf = new Uint8Array(64);
    for (;;) {
      const n = await c.read(buf).catch(() => null);
      if (n === null) return c.close();
      await c.write(buf.subarray(0, n));
    }
  });
  const conn = await (await dialer()).dial(srv.addr);
  try {
    const buf = new Uint8Array(16);
    const reading = conn.read(buf);
    const start = Date.now();
    while (pings < 6 && Date.now() - start < 5000) await new Promise((r) => setTimeout(r, TTL));
    ok(pings >= 6, `pings seen: ${pings}`);
    await conn.write(new TextEncoder().encode("still"));
    equal(await reading, 5, "the conn still carries data after many periods");
  } finally {
    conn.close();
    await srv.close();
  }
});

Deno.test("ws keep-alive: a server that never answers a ping has the conn closed after two periods", async () => {
  const held: WsConn[] = [];
  const srv = wsServer((c) => (held.push(c), Promise.resolve())); // never reads: no pong
  const conn = await (await dialer()).dial(srv.addr);
  try {
    const start = Date.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const bound = new Promise<string>((r) => timer = setTimeout(() => r("still open after 5 s"), 5000));
    const end = await Promise.race([conn.read(new Uint8Array(16)).then((n) => n, () => null), bound]);
    clearTimeout(timer);
    equal(end, null, "the read ends");
    const took = Date.now() - start;
    ok(took >= 2 * TTL && took < 20 * TTL, `closed after ${took} ms`);
  } finally {
    conn.close();
    for (const c of held) c.close();
    await srv.close();
  }
});
