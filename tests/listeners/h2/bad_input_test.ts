/**
 * The h2/h2c listener against bad and hostile clients, in-process over loopback: bytes that are not the HTTP/2
 * preface, a frame longer than SETTINGS_MAX_FRAME_SIZE, a client that sends nothing, a bad TLS handshake, requests
 * curl and nghttp send to the wrong place (GOST's 405/400), a reader that never reads (flow control stops its sender
 * at the window). Each ends only its own stream or session, with a log line; a good client goes on.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { type Conn, writeFull } from "../../../core/conn.ts";
import { createLogger, type Logger, MemorySink } from "../../../core/log.ts";
import { Metadata } from "../../../core/metadata.ts";
import { DefaultRouter } from "../../../core/routing/router.ts";
import { H2Dialer } from "../../../listeners/h2/dialer.ts";
import { H2Listener } from "../../../listeners/h2/listener.ts";
import { STREAM_WINDOW } from "../../../listeners/h2/session.ts";
import type { H2Stream } from "../../../listeners/h2/stream.ts";
import { CLIENT_PREFACE, frame, FrameType } from "../../../listeners/h2/frames.ts";
import { has, run } from "../../helpers/run.ts";
import { until } from "../../helpers/wait.ts";

interface Node {
  port: number;
  lines: string[];
  served: number;
  close(): void;
}

/** An h2/h2c listener whose handler echoes (or runs `serve`), logging into memory. */
async function node(tls: boolean, md: Record<string, unknown> = {}, serve?: (c: Conn) => Promise<void>): Promise<Node> {
  const sink = new MemorySink();
  const logger: Logger = createLogger({ level: "debug" }, sink);
  const ln = new H2Listener({ addr: "127.0.0.1:0", logger, service: "t", router: new DefaultRouter({}) }, tls);
  await ln.init(new Metadata(md));
  const n: Node = { port: (ln.addr as Deno.NetAddr).port, lines: sink.lines, served: 0, close: () => ln.close() };
  (async () => {
    for (;;) {
      let c: Conn;
      try {
        c = await ln.accept();
      } catch {
        return;
      }
      n.served++;
      (serve ?? echo)(c).catch(() => {}).finally(() => c.close());
    }
  })();
  return n;
}

async function echo(c: Conn): Promise<void> {
  const buf = new Uint8Array(65536);
  for (;;) {
    const k = await c.read(buf);
    if (k === null) break;
    await writeFull(c, buf.subarray(0, k));
  }
  await c.closeWrite();
}

/** A session of our dialer to the node; `open()` gives a tunnel stream. */
async function client(tls: boolean, port: number, md: Record<string, unknown> = {}) {
  const d = new H2Dialer({ logger: createLogger({ level: "error" }, new MemorySink()) }, tls);
  await d.init(new Metadata(md));
  const addr = `127.0.0.1:${port}`;
  return await d.multiplex(await d.dial(addr), addr);
}

async function roundTrip(c: Conn, text: string): Promise<string> {
  await writeFull(c, new TextEncoder().encode(text));
  await c.closeWrite();
  let out = "";
  const buf = new Uint8Array(1024);
  for (;;) {
    const k = await c.read(buf);
    if (k === null) return out;
    out += new TextDecoder().decode(buf.subarray(0, k));
  }
}

/** Sends `bytes` on a raw TCP conn and collects what comes back until the node closes it. */
async function raw(port: number, bytes: Uint8Array): Promise<Uint8Array> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await writeFull(c, bytes);
    const chunks: number[] = [];
    const buf = new Uint8Array(4096);
    for (;;) {
      const k = await c.read(buf).catch(() => null);
      if (k === null) break;
      chunks.push(...buf.subarray(0, k));
    }
    return Uint8Array.from(chunks);
  } finally {
    c.close();
  }
}

/** The GOAWAY error codes among the frames in `bytes` (a server's frames, after no preface). */
function goawayCodes(bytes: Uint8Array): number[] {
  const codes: number[] = [];
  for (let o = 0; o + 9 <= bytes.length;) {
    const len = (bytes[o] << 16) | (bytes[o + 1] << 8) | bytes[o + 2];
    if (bytes[o + 3] === FrameType.GOAWAY) {
      codes.push(new DataView(bytes.buffer, bytes.byteOffset + o + 9 + 4, 4).getUint32(0));
    }
    o += 9 + len;
  }
  return codes;
}

const concat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));

Deno.test("h2c: bytes that are not the preface get GOAWAY PROTOCOL_ERROR and a log line; others go on", async () => {
  const n = await node(false);
  try {
    const got = await raw(n.port, new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    deepEqual(goawayCodes(got), [0x1]);
    await until(() => n.lines.some((l) => l.includes("not an HTTP/2 client preface")), "the log line");
    const s = await client(false, n.port);
    equal(await roundTrip(await s.open(), "still here"), "still here");
    s.close();
  } finally {
    n.close();
  }
});

Deno.test("h2c: a frame longer than SETTINGS_MAX_FRAME_SIZE ends that session with FRAME_SIZE_ERROR", async () => {
  const n = await node(false);
  const s = await client(false, n.port);
  try {
    const huge = new Uint8Array(9);
    huge.set([0xff, 0xff, 0xff, FrameType.DATA, 0, 0, 0, 0, 1]); // 16 MiB - 1 of DATA on stream 1
    const got = await raw(n.port, concat(CLIENT_PREFACE, frame(FrameType.SETTINGS, 0, 0), huge));
    deepEqual(goawayCodes(got.subarray(0)).at(-1), 0x6);
    await until(() => n.lines.some((l) => l.includes("longer than SETTINGS_MAX_FRAME_SIZE")), "the log line");
    // a HEADERS frame whose block does not decode: COMPRESSION_ERROR
    const bad = frame(FrameType.HEADERS, 0x4 | 0x1, 1, Uint8Array.of(0x80));
    deepEqual(goawayCodes(await raw(n.port, concat(CLIENT_PREFACE, frame(FrameType.SETTINGS, 0, 0), bad))).at(-1), 0x9);
    // the session opened before is untouched
    equal(await roundTrip(await s.open(), "fine"), "fine");
  } finally {
    s.close();
    n.close();
  }
});

Deno.test("h2c: a client that sends nothing is dropped after handshakeTimeout, with a log line", async () => {
  const n = await node(false, { handshakeTimeout: "300ms" });
  try {
    const t0 = performance.now();
    deepEqual(goawayCodes(await raw(n.port, new Uint8Array(0))), [0x0]); // a GOAWAY, then the close
    ok(performance.now() - t0 >= 250, "not before the deadline");
    await until(() => n.lines.some((l) => l.includes("no HTTP/2 preface and SETTINGS within 300 ms")), "the log line");
  } finally {
    n.close();
  }
});

Deno.test("h2: a bad TLS handshake is closed and logged; a TLS client with ALPN h2 goes on", async () => {
  const n = await node(true);
  try {
    equal((await raw(n.port, new TextEncoder().encode("GARBAGE GARBAGE GARBAGE\r\n\r\n"))).length, 0);
    await until(() => n.lines.some((l) => l.includes("TLS handshake failed")), "the log line");
    const s = await client(true, n.port);
    equal(await roundTrip(await s.open(), "over tls"), "over tls");
    equal(s.stats!().transport, "h2");
    s.close();
  } finally {
    n.close();
  }
});

Deno.test("h2c: curl --http2-prior-knowledge gets GOST's 405 (no path) and 400 (wrong path), each logged", async () => {
  const plain = await node(false);
  const withPath = await node(false, { path: "/tunnel" });
  try {
    const status = async (port: number, path: string) =>
      (await run("curl", [
        "-sS",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--http2-prior-knowledge",
        `http://127.0.0.1:${port}${path}`,
      ]))
        .stdout;
    equal(await status(plain.port, "/x"), "405");
    equal(await status(withPath.port, "/other"), "400");
    await until(() => plain.lines.some((l) => l.includes("request refused (405)")), "the 405 line");
    await until(() => withPath.lines.some((l) => l.includes("request refused (400)")), "the 400 line");
    equal(plain.served + withPath.served, 0);
  } finally {
    plain.close();
    withPath.close();
  }
});

Deno.test({
  name: "h2c: nghttp's request to the node's path is a tunnel (HPACK with Huffman, DATA both ways)",
  ignore: !has("nghttp"),
  fn: async () => {
    const n = await node(false, { path: "/tunnel" });
    const body = await Deno.makeTempFile();
    try {
      const payload = "x".repeat(100_000) + "end";
      await Deno.writeTextFile(body, payload);
      const r = await run("nghttp", ["-d", body, "-H", "x-test: value", `http://127.0.0.1:${n.port}/tunnel`]);
      equal(r.stdout.length, payload.length, r.stderr);
      equal(r.stdout, payload);
      equal(n.served, 1);
    } finally {
      await Deno.remove(body);
      n.close();
    }
  },
});

Deno.test("h2c: a reader that never reads stops its sender at the stream window; other streams go on", async () => {
  let written = 0;
  const stalled = Promise.withResolvers<void>();
  const n = await node(false, {}, async (c) => {
    const first = new Uint8Array(1);
    if ((await c.read(first)) !== 1) return;
    if (first[0] === 0x73) { // "s": flood the client, which never reads
      const chunk = new Uint8Array(64 * 1024);
      try {
        for (let i = 0; i < 64; i++) {
          await c.write(chunk);
          written += chunk.length;
        }
      } finally {
        stalled.resolve();
      }
      return;
    }
    await c.write(first);
    await echo(c);
  });
  const s = await client(false, n.port);
  try {
    const a = (await s.open()) as H2Stream;
    await a.write(new TextEncoder().encode("s"));
    await until(() => a.buffered >= STREAM_WINDOW, "the stream window filled", 10_000);
    // the sender is held: what it wrote fits the window it was given
    ok(written <= STREAM_WINDOW, `written ${written}`);
    equal(a.buffered, STREAM_WINDOW);
    // another stream on the same connection still flows
    equal(await roundTrip(await s.open(), "other"), "other");
    equal(s.stats!().streamsOpen, 1);
    a.close();
    await stalled.promise; // the reset ends the stuck write
    match(String(written), /^\d+$/);
  } finally {
    s.close();
    n.close();
  }
});
