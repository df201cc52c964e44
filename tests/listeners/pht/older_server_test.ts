/**
 * The pht dialer against a server that behaves as GOST's older pht servers (v3 before its pull streamed): a token only
 * from `/authorize` (unknown tokens 403), each pull answered with one line of data or a bare `\n` heartbeat and then
 * ended, an empty push deleting the session. The dialer re-issues the pull after every line and reads 403 as the end
 * (docs/wire.md, "PHT").
 */
import { equal } from "node:assert/strict";
import { nopLogger } from "../../../core/log.ts";
import { Metadata } from "../../../core/metadata.ts";
import { PhtDialer } from "../../../listeners/pht/dialer.ts";
import { readAll } from "../../helpers/io.ts";
import { writeFull } from "../../../core/conn.ts";

/** An older-GOST-style pht echo server: what is pushed comes back on the pulls. */
function olderServer() {
  const sessions = new Map<string, Uint8Array[]>();
  let pulls = 0;
  let n = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    const token = url.searchParams.get("token") ?? "";
    if (url.pathname === "/authorize") {
      const t = `t${++n}`;
      sessions.set(t, []);
      return new Response(`token=${t}`);
    }
    const q = sessions.get(token);
    if (!q) return new Response(null, { status: 403 });
    if (url.pathname === "/push") {
      const body = (await req.text()).split("\n")[0];
      if (!body) sessions.delete(token);
      else q.push(Uint8Array.fromBase64(body));
      return new Response(null);
    }
    if (url.pathname === "/pull") {
      pulls++;
      for (let i = 0; i < 20 && !q.length && sessions.has(token); i++) await new Promise((r) => setTimeout(r, 10));
      const data = q.shift();
      return new Response(data ? data.toBase64() + "\n" : "\n"); // one line, then the response ends
    }
    return new Response(null, { status: 404 });
  });
  return {
    port: server.addr.port,
    get pulls() {
      return pulls;
    },
    close: () => server.shutdown(),
  };
}

Deno.test("pht dialer with GOST's older server: token from /authorize, a pull per line, 403 after the empty push is the end", async () => {
  const srv = olderServer();
  try {
    const d = new PhtDialer({ logger: nopLogger }, false);
    await d.init(new Metadata({}));
    const c = await d.dial(`127.0.0.1:${srv.port}`);
    const enc = new TextEncoder();
    for (const w of ["one ", "two ", "three"]) {
      await writeFull(c, enc.encode(w));
      const buf = new Uint8Array(64);
      const got = await c.read(buf); // each comes back on a later pull
      equal(new TextDecoder().decode(buf.subarray(0, got ?? 0)), w);
    }
    await c.closeWrite(); // the empty push: the older server deletes the session, the next pull gets 403
    equal((await readAll(c)).length, 0);
    c.close();
    equal(srv.pulls >= 3, true, `pulls: ${srv.pulls}`);
  } finally {
    await srv.close();
  }
});
