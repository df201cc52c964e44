/**
 * SIP023 multi-user (GOST's `users`) for the `2022-blake3-aes-*-gcm` methods over TCP: two users through our
 * connector (`iPSK:uPSK`) ↔ our handler (iPSK and `users`), an unknown user and a client without an identity header
 * held without a reply, the identity header opened by hand, and the configurations refused.
 * @module
 */
import { equal, ok, rejects } from "node:assert/strict";
import { createDecipheriv } from "node:crypto";
import { closeQuietly, type Conn, ConnWrapper, writeFull } from "../../../core/conn.ts";
import { blake3 } from "../../../core/deps/blake3.ts";
import { ConfigError } from "../../../core/errors.ts";
import { createLogger, MemorySink, nopLogger } from "../../../core/log.ts";
import { Metadata } from "../../../core/metadata.ts";
import { parseMethod } from "../../../handlers/ss/cipher.ts";
import { SsConnector } from "../../../handlers/ss/connector.ts";
import { SsHandler } from "../../../handlers/ss/handler.ts";
import { blake3Keys, deriveKey } from "../../../handlers/ss/ss2022/keys.ts";
import { SsuHandler } from "../../../handlers/ssu/handler.ts";
import { concatBytes, readAll, readExactly } from "../../helpers/io.ts";
import { tcpEcho } from "../../helpers/servers.ts";
import { startService, type TestService } from "../../helpers/service.ts";
import { until } from "../../helpers/wait.ts";

const enc = new TextEncoder(), dec = new TextDecoder();
const toB64 = (b: Uint8Array) => btoa(String.fromCharCode(...b));
const key = (method: string, seed: number) =>
  toB64(new Uint8Array(parseMethod(method).keySize).map((_, i) => i * seed + 3));
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

async function serve(method: string, sink = new MemorySink()): Promise<TestService> {
  return await startService({
    handler: (o) => new SsHandler(o),
    credentials: { username: method, password: key(method, 1) },
    metadata: { readTimeout: "800ms", users: { alice: key(method, 5), bob: key(method, 11) } },
    logger: createLogger({ level: "debug" }, sink),
  });
}

class TapConn extends ConnWrapper {
  readonly written: Uint8Array[] = [];
  override write(p: Uint8Array): Promise<number> {
    this.written.push(p.slice());
    return this.inner.write(p);
  }
}

async function tunnel(port: number, method: string, password: string, target: string, tap?: (c: Conn) => Conn) {
  const c = new SsConnector({ logger: nopLogger, auth: { username: method, password } });
  await c.init(new Metadata({}));
  const raw = await Deno.connect({ hostname: "127.0.0.1", port });
  return await c.connect(tap ? tap(raw) : raw, "tcp", target);
}

for (const method of ["2022-blake3-aes-128-gcm", "2022-blake3-aes-256-gcm"]) {
  Deno.test(`ss ${method} users: alice and bob through; an unknown user and no identity header held, no reply`, async () => {
    const echo = tcpEcho();
    const sink = new MemorySink();
    const svc = await serve(method, sink);
    const target = `127.0.0.1:${echo.port}`;
    try {
      for (const [name, seed] of [["alice", 5], ["bob", 11]] as const) {
        const conn = await tunnel(svc.port, method, `${key(method, 1)}:${key(method, seed)}`, target);
        await writeFull(conn, enc.encode(`hi ${name}`));
        equal(dec.decode(await readExactly(conn, 3 + name.length)), `hi ${name}`);
        closeQuietly(conn);
      }
      for (const password of [`${key(method, 1)}:${key(method, 7)}`, key(method, 1), key(method, 5)]) {
        const t0 = Date.now();
        const conn = await tunnel(svc.port, method, password, target);
        await writeFull(conn, enc.encode("hello?"));
        const got = await readAll(conn).catch(() => new Uint8Array(0));
        closeQuietly(conn);
        equal(got.length, 0, `no reply to ${password}`);
        ok(Date.now() - t0 >= 600, `held ${Date.now() - t0} ms`);
      }
      await until(() => sink.lines.filter((l) => l.includes("wrong key or method")).length >= 3, "three refusals");
    } finally {
      await svc.close();
      echo.close();
    }
  });
}

Deno.test("ss 2022 users: the identity header on the wire, opened by hand as SIP023 lays it out", async () => {
  const method = "2022-blake3-aes-128-gcm";
  const spec = parseMethod(method);
  const b = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  const ipsk = b(key(method, 1)), upsk = b(key(method, 11));
  const echo = tcpEcho();
  const svc = await serve(method);
  try {
    let tap: TapConn | undefined;
    const conn = await tunnel(
      svc.port,
      method,
      `${key(method, 1)}:${key(method, 11)}`,
      `127.0.0.1:${echo.port}`,
      (c) => (tap = new TapConn(c)),
    );
    await writeFull(conn, enc.encode("x"));
    equal(dec.decode(await readExactly(conn, 1)), "x");
    closeQuietly(conn);
    const req = concatBytes(tap!.written);
    const salt = req.subarray(0, 16);
    const material = concatBytes([ipsk, salt]);
    const idKey = deriveKey(enc.encode("shadowsocks 2022 identity subkey"), material, 16);
    const d = createDecipheriv("aes-128-ecb", idKey, null).setAutoPadding(false);
    equal(hex(new Uint8Array(d.update(req.subarray(16, 32)))), hex(blake3(upsk).subarray(0, 16)), "BLAKE3(uPSK)[..16]");
    // the fixed header after it opens under the user's session subkey
    const g = createDecipheriv("aes-128-gcm", blake3Keys(spec, upsk).subkey(salt), new Uint8Array(12), {
      authTagLength: 16,
    });
    g.setAuthTag(req.subarray(32 + 11, 32 + 11 + 16));
    const fixed = g.update(req.subarray(32, 32 + 11));
    g.final();
    equal(fixed[0], 0, "request type");
  } finally {
    await svc.close();
    echo.close();
  }
});

Deno.test("ss 2022 users: refused where SIP023 does not apply", async () => {
  const init = (h: { init(md: Metadata): Promise<void> }, md = {}) => h.init(new Metadata(md));
  const handler = (method: string, password: string) =>
    new SsHandler({ credentials: { username: method, password } } as ConstructorParameters<typeof SsHandler>[0]);
  const users = { users: { alice: key("2022-blake3-aes-128-gcm", 5) } };
  await rejects(init(handler("aes-128-gcm", "pw"), users), (e) => e instanceof ConfigError && /users/.test(e.message));
  const cc = "2022-blake3-chacha20-poly1305";
  await rejects(init(handler(cc, key(cc, 1)), { users: { a: key(cc, 5) } }), /AES methods only/);
  await rejects(
    init(handler("2022-blake3-aes-128-gcm", key("2022-blake3-aes-128-gcm", 1)), { users: { a: "x" } }),
    /user "a"/,
  );
  await rejects(init(handler("2022-blake3-aes-128-gcm", key("2022-blake3-aes-128-gcm", 1)), { users: "a" }), /map/);
  const c = new SsConnector({ logger: nopLogger, auth: { username: cc, password: `${key(cc, 1)}:${key(cc, 2)}` } });
  await rejects(c.init(new Metadata({})), /AES methods only/);
  const m = "2022-blake3-aes-128-gcm";
  const c3 = new SsConnector({
    logger: nopLogger,
    auth: { username: m, password: [1, 2, 3].map((s) => key(m, s)).join(":") },
  });
  await rejects(c3.init(new Metadata({})), /several iPSKs/);
  const u = new SsuHandler(
    { credentials: { username: m, password: key(m, 1) } } as ConstructorParameters<typeof SsuHandler>[0],
  );
  await rejects(init(u, users), (e) => e instanceof ConfigError && /users/.test(e.message));
});
