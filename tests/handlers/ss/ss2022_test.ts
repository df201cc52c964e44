/**
 * The Shadowsocks 2022 methods (SIP022) over TCP: BLAKE3 derive_key and the session subkey on known vectors, the
 * PSK rules, our connector ↔ our handler for each method (bulk both ways, chunks up to 0xFFFF), the headers on the
 * wire (salt echo, timestamps), a stale timestamp and a wrong key held without a reply, a replay refused.
 * @module
 */
import { equal, ok, throws } from "node:assert/strict";
import { createHash } from "node:crypto";
import { closeQuietly, type Conn, ConnWrapper, writeFull } from "../../../core/conn.ts";
import { ConfigError } from "../../../core/errors.ts";
import { createLogger, MemorySink, nopLogger } from "../../../core/log.ts";
import { Metadata } from "../../../core/metadata.ts";
import { parseMethod } from "../../../handlers/ss/cipher.ts";
import { SsConnector } from "../../../handlers/ss/connector.ts";
import { SsHandler } from "../../../handlers/ss/handler.ts";
import { blake3Keys, deriveKey, parsePsk } from "../../../handlers/ss/ss2022/keys.ts";
import { clock } from "../../../handlers/ss/ss2022/preamble.ts";
import { concatBytes, readAll, readExactly } from "../../helpers/io.ts";
import { pattern } from "../../helpers/mux_pair.ts";
import { tcpEcho } from "../../helpers/servers.ts";
import { startService, type TestService } from "../../helpers/service.ts";
import { until } from "../../helpers/wait.ts";

const METHODS = ["2022-blake3-aes-128-gcm", "2022-blake3-aes-256-gcm", "2022-blake3-chacha20-poly1305"];
const enc = new TextEncoder();
const b64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const toB64 = (b: Uint8Array) => btoa(String.fromCharCode(...b));
const sha = (p: Uint8Array) => createHash("sha256").update(p).digest("hex");
const pskFor = (method: string) => toB64(new Uint8Array(parseMethod(method).keySize).map((_, i) => i * 7 + 1));

Deno.test("ss 2022: BLAKE3 derive_key and the session subkey give the published values", () => {
  // vectors from urban-spork's AEAD-2022 tests (BouncyCastle's BLAKE3), checked against another implementation
  equal(
    toB64(
      deriveKey(
        enc.encode("shadowsocks 2022 identity subkey"),
        enc.encode("Personal search-enabled assistant for programmers"),
        32,
      ),
    ),
    "nb91ZIjdNzFcPmGRS3Lg7m+muVqat549+RSDluyVN4c=",
  );
  const keys = blake3Keys(parseMethod("2022-blake3-aes-256-gcm"), b64("Lc3tTx0BY6ZJ/fCwOx3JvF0I/anhwJBO5p2+FA5Vce4="));
  equal(
    toB64(keys.subkey(b64("3oFO0VyLyGI4nFN0M9P+62vPND/L6v8IingaPJWTbJA="))),
    "EdNE+4U8dVnHT0+poAFDK2bdlwfrHT61sUNr9WYPh+E=",
  );
});

Deno.test("ss 2022: the password is a base64 key of the method's size, one key only", () => {
  const spec = parseMethod("2022-blake3-aes-128-gcm");
  equal(parsePsk(spec, toB64(new Uint8Array(16))).length, 16);
  throws(
    () => parsePsk(spec, toB64(new Uint8Array(32))),
    (e) => e instanceof ConfigError && /must be 16/.test(e.message),
  );
  throws(() => parsePsk(spec, "not base64!"), ConfigError);
  throws(() => parsePsk(spec, `${toB64(new Uint8Array(16))}:${toB64(new Uint8Array(16))}`), /SIP023/);
});

async function serve(method: string, sink?: MemorySink): Promise<{ svc: TestService; handler: () => SsHandler }> {
  let h: SsHandler | undefined;
  const svc = await startService({
    handler: (o) => (h = new SsHandler(o)),
    credentials: { username: method, password: pskFor(method) },
    metadata: { readTimeout: "800ms" },
    logger: sink ? createLogger({ level: "debug" }, sink) : nopLogger,
  });
  return { svc, handler: () => h! };
}

/** A conn that keeps a copy of every byte written through it. */
class TapConn extends ConnWrapper {
  readonly written: Uint8Array[] = [];
  override write(p: Uint8Array): Promise<number> {
    this.written.push(p.slice());
    return this.inner.write(p);
  }
}

async function tunnel(
  port: number,
  method: string,
  target: string,
  password = pskFor(method),
  tap?: (c: Conn) => Conn,
) {
  const c = new SsConnector({ logger: nopLogger, auth: { username: method, password } });
  await c.init(new Metadata({}));
  const raw = await Deno.connect({ hostname: "127.0.0.1", port });
  return await c.connect(tap ? tap(raw) : raw, "tcp", target);
}

for (const method of METHODS) {
  Deno.test(`ss ${method}: our connector ↔ our handler, 16 MiB and pieces of every size through an echo`, async () => {
    const echo = tcpEcho();
    const { svc } = await serve(method);
    try {
      const conn = await tunnel(svc.port, method, `127.0.0.1:${echo.port}`);
      try {
        const parts = [1, 65535, 65536, 100_000, 3, 16 * 1024 * 1024].map((n, i) => pattern(n, i));
        const reading = readAll(conn);
        for (const p of parts) await writeFull(conn, p);
        await conn.closeWrite();
        const back = await reading;
        equal(sha(back), sha(concatBytes(parts)));
      } finally {
        closeQuietly(conn);
      }
    } finally {
      await svc.close();
      echo.close();
    }
  });
}

Deno.test("ss 2022: a stale timestamp and a wrong key are held without a reply; a replay is refused", async () => {
  const method = "2022-blake3-aes-128-gcm";
  const echo = tcpEcho();
  const sink = new MemorySink();
  const { svc, handler } = await serve(method, sink);
  const held = async (conn: Conn, raw?: Conn) => {
    const t0 = Date.now();
    const got = await readAll(raw ?? conn).catch(() => new Uint8Array(0));
    closeQuietly(conn);
    equal(got.length, 0, "no reply");
    ok(Date.now() - t0 >= 600, `closed after ${Date.now() - t0} ms`);
  };
  try {
    // a client 60 s in the future
    const real = clock.now;
    clock.now = () => real() + 60;
    let conn: Conn;
    try {
      conn = await tunnel(svc.port, method, `127.0.0.1:${echo.port}`);
    } finally {
      clock.now = real;
    }
    await held(conn);
    await until(() => sink.lines.some((l) => l.includes("timestamp is 60 s off")), "the timestamp log line");
    // another key
    await held(await tunnel(svc.port, method, `127.0.0.1:${echo.port}`, toB64(new Uint8Array(16).fill(9))));
    await until(() => sink.lines.some((l) => l.includes("wrong key or method")), "the wrong-key log line");
    // a good session, recorded, then replayed
    let tap: TapConn | undefined;
    const good = await tunnel(svc.port, method, `127.0.0.1:${echo.port}`, undefined, (c) => (tap = new TapConn(c)));
    await writeFull(good, enc.encode("first"));
    equal(new TextDecoder().decode(await readExactly(good, 5)), "first");
    closeQuietly(good);
    const raw = await Deno.connect({ hostname: "127.0.0.1", port: svc.port });
    await writeFull(raw, concatBytes(tap!.written));
    await held(raw);
    equal(handler().replays, 1);
  } finally {
    await svc.close();
    echo.close();
  }
});

Deno.test("ss 2022: the request and response headers on the wire, opened by hand as SIP022 lays them out", async () => {
  const method = "2022-blake3-aes-128-gcm";
  const { createDecipheriv } = await import("node:crypto");
  const keys = blake3Keys(parseMethod(method), parsePsk(parseMethod(method), pskFor(method)));
  const open = (key: Uint8Array, n: number, sealed: Uint8Array) => {
    const nonce = new Uint8Array(12);
    nonce[0] = n;
    const d = createDecipheriv("aes-128-gcm", key, nonce, { authTagLength: 16 });
    d.setAuthTag(sealed.subarray(sealed.length - 16));
    const out = d.update(sealed.subarray(0, sealed.length - 16));
    d.final();
    return new Uint8Array(out);
  };
  const echo = tcpEcho();
  const { svc } = await serve(method);
  try {
    let tap: TapConn | undefined;
    const read: Uint8Array[] = [];
    const conn = await tunnel(svc.port, method, `127.0.0.1:${echo.port}`, undefined, (c) => {
      tap = new TapConn(c);
      const inner = tap;
      return new (class extends ConnWrapper {
        override async read(p: Uint8Array) {
          const n = await inner.read(p);
          if (n) read.push(p.slice(0, n));
          return n;
        }
      })(inner);
    });
    await writeFull(conn, enc.encode("hi"));
    equal(new TextDecoder().decode(await readExactly(conn, 2)), "hi");
    closeQuietly(conn);
    // request: salt | fixed header (type 0, timestamp, length) | variable header (address, padding, payload)
    const req = concatBytes(tap!.written);
    const salt = req.subarray(0, 16), key = keys.subkey(salt);
    const fixed = open(key, 0, req.subarray(16, 16 + 11 + 16));
    equal(fixed[0], 0);
    const ts = Number(new DataView(fixed.buffer).getBigUint64(1));
    ok(Math.abs(ts - Date.now() / 1000) < 5, `timestamp ${ts}`);
    const varLen = (fixed[9] << 8) | fixed[10];
    const v = open(key, 1, req.subarray(43, 43 + varLen + 16));
    equal(v[0], 0x01, "an IPv4 target");
    equal((v[5] << 8) | v[6], echo.port);
    const padLen = (v[7] << 8) | v[8];
    ok(padLen >= 1 && padLen <= 900 && v.length === 9 + padLen, `padding ${padLen} of a header without payload`);
    // response: salt | fixed header (type 1, timestamp, the request's salt, length) | first payload
    const res = concatBytes(read);
    const rkey = keys.subkey(res.subarray(0, 16));
    const rf = open(rkey, 0, res.subarray(16, 16 + 1 + 8 + 16 + 2 + 16));
    equal(rf[0], 1);
    equal(toB64(rf.subarray(9, 25)), toB64(salt), "the request salt echoed");
    equal((rf[25] << 8) | rf[26], 2);
    equal(new TextDecoder().decode(open(rkey, 1, res.subarray(16 + 27 + 16, 16 + 27 + 16 + 2 + 16))), "hi");
  } finally {
    await svc.close();
    echo.close();
  }
});
