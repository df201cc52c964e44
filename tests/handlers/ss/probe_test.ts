/**
 * Probe resistance of the ss handler in-process: a wrong key, a replayed client stream, garbage and a truncated salt
 * get no reply; the conn is held until `readTimeout` from accept (or until the client closes) and then closed; replays
 * are counted and logged; the service keeps serving good clients.
 * @module
 */
import { equal, ok } from "node:assert/strict";
import { closeQuietly, type Conn, ConnWrapper, writeFull } from "../../../core/conn.ts";
import { createLogger, MemorySink } from "../../../core/log.ts";
import { Metadata } from "../../../core/metadata.ts";
import { SsConnector } from "../../../handlers/ss/connector.ts";
import { SsHandler } from "../../../handlers/ss/handler.ts";
import { concatBytes, readAll, readExactly } from "../../helpers/io.ts";
import { tcpEcho } from "../../helpers/servers.ts";
import { startService, type TestService } from "../../helpers/service.ts";
import { until } from "../../helpers/wait.ts";

const METHOD = "aes-256-gcm";
const HOLD_MS = 800;
const enc = new TextEncoder();

/** A conn that keeps a copy of every byte written through it. */
class TapConn extends ConnWrapper {
  readonly written: Uint8Array[] = [];
  override write(p: Uint8Array): Promise<number> {
    this.written.push(p.slice());
    return this.inner.write(p);
  }
}

async function serve(): Promise<{ svc: TestService; handler: () => SsHandler; sink: MemorySink }> {
  const sink = new MemorySink();
  let h: SsHandler | undefined;
  const svc = await startService({
    handler: (o) => (h = new SsHandler(o)),
    credentials: { username: METHOD, password: "right" },
    metadata: { readTimeout: `${HOLD_MS}ms` },
    logger: createLogger({ level: "debug" }, sink),
  });
  return { svc, handler: () => h!, sink };
}

async function connector(password: string): Promise<SsConnector> {
  const c = new SsConnector({ logger: createLogger({ level: "fatal" }), auth: { username: METHOD, password } });
  await c.init(new Metadata({}));
  return c;
}

/** Reads until the server ends the conn: what it sent, and how long after `since` it ended. */
async function untilClosed(conn: Conn, since: number): Promise<{ bytes: number; afterMs: number }> {
  const got = await readAll(conn).catch(() => new Uint8Array(0));
  return { bytes: got.length, afterMs: Date.now() - since };
}

/** A good client: a round trip through the echo. */
async function goodTrip(svc: TestService, echoPort: number): Promise<void> {
  const raw = await Deno.connect({ hostname: "127.0.0.1", port: svc.port });
  const conn = await (await connector("right")).connect(raw, "tcp", `127.0.0.1:${echoPort}`);
  try {
    await writeFull(conn, enc.encode("still serving"));
    equal(new TextDecoder().decode(await readExactly(conn, 13)), "still serving");
  } finally {
    closeQuietly(conn);
  }
}

Deno.test("ss probe resistance: a wrong key gets no reply, is held until readTimeout, then closed", async () => {
  const echo = tcpEcho();
  const { svc, sink } = await serve();
  try {
    const t0 = Date.now();
    const raw = await Deno.connect({ hostname: "127.0.0.1", port: svc.port });
    const conn = await (await connector("wrong")).connect(raw, "tcp", `127.0.0.1:${echo.port}`);
    await writeFull(conn, enc.encode("hello?"));
    const r = await untilClosed(raw, t0);
    closeQuietly(conn);
    equal(r.bytes, 0, "no reply");
    ok(r.afterMs >= HOLD_MS - 100, `closed after ${r.afterMs} ms, before the deadline`);
    await until(() => sink.lines.some((l) => l.includes("wrong key or method")), "the wrong-key log line");
    ok(sink.lines.some((l) => l.includes("held until the handshake deadline")));
    await goodTrip(svc, echo.port);
  } finally {
    await svc.close();
    echo.close();
  }
});

Deno.test("ss probe resistance: a client that closes while held ends its conn at once", async () => {
  const { svc, sink } = await serve();
  try {
    const raw = await Deno.connect({ hostname: "127.0.0.1", port: svc.port });
    await writeFull(raw, crypto.getRandomValues(new Uint8Array(200)));
    await raw.closeWrite();
    const t0 = Date.now();
    const r = await untilClosed(raw, t0);
    closeQuietly(raw);
    equal(r.bytes, 0, "no reply");
    ok(r.afterMs < HOLD_MS - 200, `the server held the conn after the client's EOF (${r.afterMs} ms)`);
    await until(() => sink.lines.some((l) => l.includes("held until the client closed")), "the log line");
  } finally {
    await svc.close();
  }
});

Deno.test("ss replay protection: a replayed client stream is held without a reply, counted and logged", async () => {
  const echo = tcpEcho();
  const { svc, handler, sink } = await serve();
  try {
    // a real session, recorded
    const tap = new TapConn(await Deno.connect({ hostname: "127.0.0.1", port: svc.port }));
    const conn = await (await connector("right")).connect(tap, "tcp", `127.0.0.1:${echo.port}`);
    await writeFull(conn, enc.encode("original"));
    equal(new TextDecoder().decode(await readExactly(conn, 8)), "original");
    closeQuietly(conn);
    equal(handler().replays, 0);
    // the same bytes again
    const t0 = Date.now();
    const raw = await Deno.connect({ hostname: "127.0.0.1", port: svc.port });
    await writeFull(raw, concatBytes(tap.written));
    const r = await untilClosed(raw, t0);
    closeQuietly(raw);
    equal(r.bytes, 0, "no reply to a replay");
    ok(r.afterMs >= HOLD_MS - 100, `closed after ${r.afterMs} ms, before the deadline`);
    equal(handler().replays, 1);
    await until(() => sink.lines.some((l) => l.includes("replayed salt (1 refused so far)")), "the replay log line");
    await goodTrip(svc, echo.port);
  } finally {
    await svc.close();
    echo.close();
  }
});

Deno.test("ss: a truncated salt, garbage, and a valid first chunk with a bad address: no reply; the service goes on", async () => {
  const echo = tcpEcho();
  const { svc, sink } = await serve();
  try {
    // five bytes and EOF: the server closes without a word
    const a = await Deno.connect({ hostname: "127.0.0.1", port: svc.port });
    await writeFull(a, new Uint8Array([1, 2, 3, 4, 5]));
    await a.closeWrite();
    equal((await untilClosed(a, Date.now())).bytes, 0);
    closeQuietly(a);
    // half a salt, then silence: closed at the deadline
    const t0 = Date.now();
    const b = await Deno.connect({ hostname: "127.0.0.1", port: svc.port });
    await writeFull(b, new Uint8Array(10));
    const rb = await untilClosed(b, t0);
    closeQuietly(b);
    equal(rb.bytes, 0);
    ok(rb.afterMs >= HOLD_MS - 100, `closed after ${rb.afterMs} ms`);
    // a right key but an unknown address type: held like garbage
    const raw = await Deno.connect({ hostname: "127.0.0.1", port: svc.port });
    const { SsStreamConn } = await import("../../../handlers/ss/stream.ts");
    const { aeadKeys, parseMethod } = await import("../../../handlers/ss/cipher.ts");
    const ss = new SsStreamConn(raw, aeadKeys(parseMethod(METHOD), "right"), { header: new Uint8Array([0x09, 1, 2]) });
    const t1 = Date.now();
    await ss.flush();
    const rc = await untilClosed(raw, t1);
    closeQuietly(raw);
    equal(rc.bytes, 0);
    ok(rc.afterMs >= HOLD_MS - 100, `closed after ${rc.afterMs} ms`);
    await until(() => sink.lines.some((l) => l.includes("Unknown address type 0x09")), "the bad address log line");
    await goodTrip(svc, echo.port);
  } finally {
    await svc.close();
    echo.close();
  }
});
