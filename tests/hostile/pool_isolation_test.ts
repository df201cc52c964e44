/**
 * The http handler's kept upstream conns between clients (issue 10, item 8): an origin may send a response nobody
 * asked for right after a real one; the next request on that conn reads it as its own answer. When a kept conn
 * went to any client, that was response-queue poisoning between the clients of a shared proxy. Now a kept conn is
 * taken again only by the same client (the same authenticated user, else the same client IP), unless
 * `upstreamShared=true`. Clients come from different loopback addresses (curl `--interface 127.0.0.N`).
 */
import { equal } from "node:assert/strict";
import type { HandlerOptions } from "../../core/contracts.ts";
import { HttpHandler } from "../../handlers/http/handler.ts";
import { rawOrigin } from "../helpers/http_raw.ts";
import { curl } from "../helpers/run.ts";
import { startService } from "../helpers/service.ts";

const http = (o: HandlerOptions) => new HttpHandler(o);
const POISON = "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\npoison\n";
const OK = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n";

/**
 * An origin that answers each request with `ok`, but puts an unasked response in front of the answer to every
 * request after a conn's first: what the next request on a conn meets when the origin spoke after the last
 * response, faster than the idle read could drop the conn.
 */
const poisoningOrigin = () => rawOrigin((_head, _body, nth) => nth === 0 ? OK : POISON + OK);

/** One curl run from `127.0.0.<from>` through the proxy; the body, or the error. */
async function getFrom(from: number, proxy: number, url: string, ...extra: string[]): Promise<string> {
  const r = await curl("-s", "--interface", `127.0.0.${from}`, "-x", `http://127.0.0.1:${proxy}`, ...extra, url);
  if (r.code !== 0) throw new Error(`curl from 127.0.0.${from} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

Deno.test("http handler: a response the origin sends unasked on a kept conn never reaches another client IP (10 pairs of clients)", async () => {
  const origin = poisoningOrigin();
  await using svc = await startService({ handler: http });
  const url = `http://127.0.0.1:${origin.port}/`;
  try {
    for (let i = 0; i < 10; i++) {
      equal(await getFrom(10 + 2 * i, svc.port, url), "ok\n");
      equal(await getFrom(11 + 2 * i, svc.port, url), "ok\n", `client 127.0.0.${11 + 2 * i} read another's conn`);
    }
    equal(origin.state.conns, 20, "every client had a conn of its own");
  } finally {
    await origin.close();
  }
});

Deno.test("http handler: the same client IP takes its kept upstream conn again, another IP dials its own", async () => {
  const origin = rawOrigin();
  await using svc = await startService({ handler: http });
  const url = `http://127.0.0.1:${origin.port}`;
  try {
    for (const path of ["/a", "/b", "/c"]) equal(await getFrom(5, svc.port, url + path), `hello ${path}`);
    equal(origin.state.conns, 1, "three conns of one client, one upstream conn");
    equal(await getFrom(6, svc.port, url + "/d"), "hello /d");
    equal(origin.state.conns, 2, "another client IP dials anew");
    equal(await getFrom(5, svc.port, url + "/e"), "hello /e");
    equal(await getFrom(6, svc.port, url + "/f"), "hello /f");
    equal(origin.state.conns, 2, "each client took its own conn again");
  } finally {
    await origin.close();
  }
});

Deno.test("http handler with auth: a kept upstream conn goes to the same user from any IP, never to another user from the same IP", async () => {
  const origin = poisoningOrigin();
  const users = [{ username: "alice", password: "a1" }, { username: "bob", password: "b2" }];
  await using svc = await startService({ handler: http, users });
  const url = `http://127.0.0.1:${origin.port}/`;
  try {
    equal(await getFrom(7, svc.port, url, "--proxy-user", "alice:a1"), "ok\n");
    equal(await getFrom(7, svc.port, url, "--proxy-user", "bob:b2"), "ok\n", "bob read alice's conn");
    equal(origin.state.conns, 2, "bob dialled his own conn");
    // alice from another IP takes her conn (and meets what the origin sent on it: her own conn's risk)
    equal(await getFrom(8, svc.port, url, "--proxy-user", "alice:a1"), "poison\n");
    equal(origin.state.conns, 2, "alice took her kept conn from another IP");
  } finally {
    await origin.close();
  }
});

Deno.test("http handler with upstreamShared=true gives a kept upstream conn to any client (and with it what the origin sent unasked)", async () => {
  const origin = poisoningOrigin();
  await using svc = await startService({ handler: http, metadata: { upstreamShared: true } });
  const url = `http://127.0.0.1:${origin.port}/`;
  try {
    equal(await getFrom(9, svc.port, url), "ok\n");
    equal(await getFrom(10, svc.port, url), "poison\n", "the documented risk of upstreamShared");
    equal(origin.state.conns, 1, "the second client took the first one's conn");
  } finally {
    await origin.close();
  }
});
