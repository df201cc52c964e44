import { equal, rejects } from "node:assert/strict";
import type { Conn } from "../../../core/conn.ts";
import { AuthError, DialError, HandshakeError, TimeoutError } from "../../../core/errors.ts";
import { nopLogger } from "../../../core/log.ts";
import { Metadata } from "../../../core/metadata.ts";
import type { ClientAuth } from "../../../core/contracts.ts";
import { HttpConnector } from "../../../handlers/http/connector.ts";
import { HttpHandler } from "../../../handlers/http/handler.ts";
import { startTinyproxy } from "../../helpers/peers.ts";
import { tcpEcho } from "../../helpers/servers.ts";
import { startService } from "../../helpers/service.ts";

async function connector(auth?: ClientAuth, md: Record<string, unknown> = {}): Promise<HttpConnector> {
  const c = new HttpConnector({ logger: nopLogger, auth });
  await c.init(new Metadata(md));
  return c;
}

async function echoOnce(conn: Conn, msg: string): Promise<string> {
  await conn.write(new TextEncoder().encode(msg));
  const buf = new Uint8Array(msg.length);
  let got = 0;
  while (got < msg.length) {
    const n = await conn.read(buf.subarray(got));
    if (n === null) break;
    got += n;
  }
  return new TextDecoder().decode(buf.subarray(0, got));
}

Deno.test("http connector tunnels through tinyproxy with CONNECT", async () => {
  const echo = tcpEcho();
  await using proxy = await startTinyproxy();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
  const tunnel = await (await connector()).connect(conn, "tcp", `127.0.0.1:${echo.port}`);
  equal(await echoOnce(tunnel, "through tinyproxy"), "through tinyproxy");
  tunnel.close();
  echo.close();
});

Deno.test("http connector authenticates to our http handler and is refused with wrong credentials", async () => {
  const echo = tcpEcho();
  await using svc = await startService({
    handler: (o) => new HttpHandler(o),
    users: [{ username: "u", password: "p" }],
  });
  const ok = await (await connector({ username: "u", password: "p" })).connect(
    await Deno.connect({ hostname: "127.0.0.1", port: svc.port }),
    "tcp",
    `127.0.0.1:${echo.port}`,
  );
  equal(await echoOnce(ok, "authed"), "authed");
  ok.close();
  await rejects(
    (await connector({ username: "u", password: "bad" })).connect(
      await Deno.connect({ hostname: "127.0.0.1", port: svc.port }),
      "tcp",
      `127.0.0.1:${echo.port}`,
    ),
    AuthError,
  );
  echo.close();
});

Deno.test("http connector reports a refused target as a DialError naming it", async () => {
  await using svc = await startService({ handler: (o) => new HttpHandler(o) });
  const dead = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (dead.addr as Deno.NetAddr).port;
  dead.close();
  await rejects(
    (await connector()).connect(
      await Deno.connect({ hostname: "127.0.0.1", port: svc.port }),
      "tcp",
      `127.0.0.1:${port}`,
    ),
    (err: Error) => err instanceof DialError && err.message.includes(`127.0.0.1:${port}`) && /502/.test(err.message),
  );
});

Deno.test("http connector rejects garbage replies and silent proxies within connectTimeout", async () => {
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (ln.addr as Deno.NetAddr).port;
  const served: Deno.Conn[] = [];
  const accepting = (async () => {
    for (let i = 0; i < 2; i++) {
      const c = await ln.accept();
      served.push(c);
      if (i === 0) {
        await c.write(crypto.getRandomValues(new Uint8Array(64)).map((b) => (b === 10 ? 11 : b))).then(() =>
          c.write(new TextEncoder().encode("\r\n\r\n"))
        );
      }
    }
  })();
  await rejects(
    (await connector()).connect(await Deno.connect({ hostname: "127.0.0.1", port }), "tcp", "x:1"),
    HandshakeError,
  );
  const started = Date.now();
  await rejects(
    (await connector(undefined, { connectTimeout: "300ms" })).connect(
      await Deno.connect({ hostname: "127.0.0.1", port }),
      "tcp",
      "x:1",
    ),
    TimeoutError,
  );
  equal(Date.now() - started < 1500, true);
  await accepting;
  for (const c of served) c.close();
  ln.close();
});
