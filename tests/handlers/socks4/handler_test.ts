import { deepEqual, equal, notEqual, ok } from "node:assert/strict";
import { nopLogger } from "../../../core/log.ts";
import { DefaultRouter } from "../../../core/routing/router.ts";
import { createRegistries } from "../../../core/registries.ts";
import { register as registerSocks4 } from "../../../handlers/socks4/mod.ts";
import { register as registerSocks5 } from "../../../handlers/socks5/mod.ts";
import { Socks4Handler } from "../../../handlers/socks4/handler.ts";
import { Socks5Handler } from "../../../handlers/socks5/handler.ts";
import { encodeSocks4Request } from "../../../handlers/socks4/wire.ts";
import { curl } from "../../helpers/run.ts";
import { httpOrigin } from "../../helpers/servers.ts";
import { startService } from "../../helpers/service.ts";
import { exchange } from "../../helpers/io.ts";

const b = (...xs: (number | string)[]) =>
  Uint8Array.from(xs.flatMap((x) => typeof x === "string" ? [...new TextEncoder().encode(x)] : [x]));

function closedPort(): number {
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (ln.addr as Deno.NetAddr).port;
  ln.close();
  return port;
}

Deno.test("socks4 handler relays curl --socks4 and --socks4a requests to an origin", async () => {
  const origin = httpOrigin();
  await using svc = await startService({ handler: (o) => new Socks4Handler(o) });
  const a = await curl("--socks4", svc.addr, `http://127.0.0.1:${origin.port}/four`);
  equal(a.code, 0, a.stderr);
  equal(a.stdout, "hello /four");
  const b4a = await curl("--socks4a", svc.addr, `http://localhost:${origin.port}/four-a`);
  equal(b4a.code, 0, b4a.stderr);
  equal(b4a.stdout, "hello /four-a");
  const user = await curl("--socks4", svc.addr, "-U", "anyone:x", `http://127.0.0.1:${origin.port}/user`);
  equal(user.code, 0, user.stderr);
  equal(user.stdout, "hello /user");
  await origin.close();
});

Deno.test("socks4 handler with auth configured refuses every client with 0x5D", async () => {
  const origin = httpOrigin();
  await using svc = await startService({
    handler: (o) => new Socks4Handler(o),
    users: [{ username: "u", password: "p" }],
  });
  const r = await curl("--socks4a", svc.addr, "-U", "u:p", `http://localhost:${origin.port}/`);
  notEqual(r.code, 0);
  const raw = await exchange(
    svc.port,
    encodeSocks4Request({ cmd: 1, host: "127.0.0.1", port: origin.port, userid: "u" }),
  );
  deepEqual(raw.bytes, b(0, 0x5d, 0, 0, 0, 0, 0, 0));
  equal(origin.requests, 0);
  await origin.close();
});

Deno.test("socks4 handler answers 0x5B when the target refuses", async () => {
  await using svc = await startService({ handler: (o) => new Socks4Handler(o) });
  const port = closedPort();
  const r = await exchange(svc.port, encodeSocks4Request({ cmd: 1, host: "127.0.0.1", port, userid: "" }));
  deepEqual(r.bytes, b(0, 0x5b, 0, 0, 0, 0, 0, 0));
});

Deno.test("socks4 handler answers 0x5B to BIND", async () => {
  await using svc = await startService({ handler: (o) => new Socks4Handler(o) });
  const r = await exchange(svc.port, encodeSocks4Request({ cmd: 2, host: "127.0.0.1", port: 1, userid: "" }));
  deepEqual(r.bytes, b(0, 0x5b, 0, 0, 0, 0, 0, 0));
});

Deno.test("socks4 handler answers 0x5B to a userid or hostname longer than 255 bytes", async () => {
  await using svc = await startService({ handler: (o) => new Socks4Handler(o) });
  const longUser = await exchange(svc.port, b(4, 1, 0, 80, 127, 0, 0, 1, "u".repeat(256), 0));
  deepEqual(longUser.bytes, b(0, 0x5b, 0, 0, 0, 0, 0, 0));
  const longHost = await exchange(svc.port, b(4, 1, 0, 80, 0, 0, 0, 1, 0, "h".repeat(1000), 0));
  deepEqual(longHost.bytes, b(0, 0x5b, 0, 0, 0, 0, 0, 0));
  const emptyHost = await exchange(svc.port, b(4, 1, 0, 80, 0, 0, 0, 1, 0, 0));
  deepEqual(emptyHost.bytes, b(0, 0x5b, 0, 0, 0, 0, 0, 0));
});

Deno.test("socks4 handler closes without a reply on an unknown version or a truncated request", async () => {
  await using svc = await startService({ handler: (o) => new Socks4Handler(o) });
  const wrong = await exchange(svc.port, b(6, 1, 0, 80, 127, 0, 0, 1, 0));
  equal(wrong.bytes.length, 0);
  equal(wrong.timedOut, false);
  const c = await Deno.connect({ hostname: "127.0.0.1", port: svc.port });
  await c.write(b(4, 1, 0, 80));
  await c.closeWrite();
  equal(await c.read(new Uint8Array(8)), null);
  c.close();
});

Deno.test("socks4 handler closes a slow client after readTimeout", async () => {
  await using svc = await startService({ handler: (o) => new Socks4Handler(o), metadata: { readTimeout: "300ms" } });
  const start = performance.now();
  const r = await exchange(svc.port, b(4, 1, 0, 80, 127, 0), { timeoutMs: 3000 });
  const took = performance.now() - start;
  equal(r.timedOut, false);
  equal(r.bytes.length, 0);
  ok(took >= 250 && took < 1000, `closed after ${took} ms`);
});

Deno.test("socks4/ and socks5/ register socks4, socks4a, socks5 and socks", async () => {
  const reg = createRegistries();
  registerSocks4(reg);
  registerSocks5(reg);
  const opts = { service: "s", logger: nopLogger, router: new DefaultRouter() };
  ok(await reg.handlers.get("socks4")?.(opts) instanceof Socks4Handler);
  ok(await reg.handlers.get("socks4a")?.(opts) instanceof Socks4Handler);
  ok(await reg.handlers.get("socks5")?.(opts) instanceof Socks5Handler);
  ok(await reg.handlers.get("socks")?.(opts) instanceof Socks5Handler);
});
