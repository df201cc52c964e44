/**
 * The grpc transport: its message bytes and method paths; interop with @grpc/grpc-js (a standard gRPC stack on
 * node:http2) both ways, cleartext and TLS, on GOST's `/GostTunel/Tunnel` with `Chunk` messages; grpc-go's answers
 * to calls it does not serve (UNIMPLEMENTED, 415, 405); a message whose length prefix is absurd ends only its call
 * (RESOURCE_EXHAUSTED) with a log line while the connection's other calls go on.
 */
import { deepEqual, equal, match } from "node:assert/strict";
import { Buffer } from "node:buffer";
import { type Conn, writeFull } from "../../../core/conn.ts";
import { loadGrpc } from "../../../core/deps/grpc.ts";
import { createLogger, MemorySink } from "../../../core/log.ts";
import { Metadata } from "../../../core/metadata.ts";
import { DefaultRouter } from "../../../core/routing/router.ts";
import { GrpcDialer } from "../../../listeners/grpc/dialer.ts";
import { GrpcListener } from "../../../listeners/grpc/listener.ts";
import { chunkHeader, encodeChunk } from "../../../listeners/grpc/messages.ts";
import { grpcMethod } from "../../../listeners/grpc/path.ts";
import { H2Session } from "../../../listeners/h2/session.ts";
import { run } from "../../helpers/run.ts";
import { until } from "../../helpers/wait.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("grpc messages: Chunk bytes and GOST's method paths", () => {
  deepEqual([...chunkHeader(3)], [0, 0, 0, 0, 5, 0x0a, 3]);
  deepEqual([...chunkHeader(300)], [0, 0, 0, 0x01, 0x2f, 0x0a, 0xac, 0x02]); // 3 + 300 = 0x12f
  deepEqual([...encodeChunk(Uint8Array.of(1, 2))], [0, 0, 0, 0, 4, 0x0a, 2, 1, 2]);
  deepEqual(grpcMethod(""), { service: "GostTunel", method: "Tunnel", path: "/GostTunel/Tunnel" });
  deepEqual(grpcMethod("svc").path, "/svc/Tunnel");
  deepEqual(grpcMethod("/api/v1/stream").path, "/api/v1-stream");
  deepEqual(grpcMethod("/a/b/").path, "/a/b");
});

/** Protobuf `Chunk { bytes data = 1; }` for grpc-js's (de)serializers. */
function chunkBody(data: Uint8Array): Buffer {
  return Buffer.from(encodeChunk(data).subarray(5));
}

function chunkData(b: Buffer): Uint8Array {
  // field 1, length-delimited: 0x0a, varint length, bytes
  if (b.length === 0) return new Uint8Array(0);
  let len = 0, at = 1;
  for (let shift = 0;; shift += 7) {
    const byte = b[at++];
    len += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) break;
  }
  return new Uint8Array(b.subarray(at, at + len));
}

async function grpcNode(md: Record<string, unknown>, serve: (c: Conn) => Promise<void> = echo) {
  const sink = new MemorySink();
  const logger = createLogger({ level: "debug" }, sink);
  const ln = new GrpcListener({ addr: "127.0.0.1:0", logger, service: "t", router: new DefaultRouter({}) });
  await ln.init(new Metadata(md));
  (async () => {
    for (;;) {
      let c: Conn;
      try {
        c = await ln.accept();
      } catch {
        return;
      }
      serve(c).catch(() => {}).finally(() => c.close());
    }
  })();
  return { port: (ln.addr as Deno.NetAddr).port, lines: sink.lines, close: () => ln.close() };
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

Deno.test("grpc-js client → our grpc listener (grpcInsecure): a bidi Tunnel call echoes Chunks; a wrong path is UNIMPLEMENTED", async () => {
  const grpc = await loadGrpc();
  const n = await grpcNode({ grpcInsecure: true });
  const client = new grpc.Client(`127.0.0.1:${n.port}`, grpc.credentials.createInsecure());
  try {
    const call = client.makeBidiStreamRequest("/GostTunel/Tunnel", chunkBody, chunkData);
    const got: string[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      call.on("data", (d: Uint8Array) => got.push(dec.decode(d)));
      call.on("end", resolve);
      call.on("error", reject);
    });
    call.write(enc.encode("hello "));
    call.write(enc.encode("x".repeat(10_000)));
    call.end();
    await ended;
    equal(got.join(""), "hello " + "x".repeat(10_000));
    const status = await new Promise<{ code: number; details: string }>((resolve) => {
      const bad = client.makeBidiStreamRequest("/Other/Tunnel", chunkBody, chunkData);
      bad.on("error", (e: { code: number; details: string }) => resolve(e));
      bad.on("data", () => {});
      bad.end();
    });
    equal(status.code, grpc.status.UNIMPLEMENTED);
    match(status.details, /unknown service Other/);
    await until(() => n.lines.some((l) => l.includes("call refused (UNIMPLEMENTED)")), "the log line");
  } finally {
    client.close();
    n.close();
  }
});

/** A grpc-js server of GOST's Tunnel that echoes each Chunk (cleartext). */
async function grpcJsServer() {
  const grpc = await loadGrpc();
  const server = new grpc.Server();
  server.addService({
    Tunnel: {
      path: "/GostTunel/Tunnel",
      requestStream: true,
      responseStream: true,
      requestSerialize: chunkBody,
      requestDeserialize: chunkData,
      responseSerialize: chunkBody,
      responseDeserialize: chunkData,
    },
  }, {
    // deno-lint-ignore no-explicit-any
    Tunnel: (call: any) => {
      call.on("data", (d: Uint8Array) => call.write(d));
      call.on("end", () => call.end());
    },
  });
  const creds = grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", creds, (e: Error | null, p: number) => (e ? reject(e) : resolve(p)))
  );
  return { port, close: () => server.forceShutdown() };
}

// grpc-js's TLS server does not work under Deno's node:http2 (openssl s_client fails against it too): TLS is tested
// against our own listener (tests/conformance, tests/e2e/h2_grpc_test.ts)
Deno.test(`our grpc dialer → a grpc-js server (grpcInsecure): two calls, writes, half-close, EOF on grpc-status 0`, async () => {
  const s = await grpcJsServer();
  const d = new GrpcDialer({ logger: createLogger({ level: "error" }, new MemorySink()) });
  await d.init(new Metadata({ grpcInsecure: true }));
  const addr = `127.0.0.1:${s.port}`;
  const session = await d.multiplex(await d.dial(addr), addr);
  try {
    const conns = await Promise.all([session.open(), session.open()]);
    const texts = await Promise.all(conns.map(async (c, i) => {
      await writeFull(c, enc.encode(`call ${i} `));
      await writeFull(c, new Uint8Array(200_000).fill(0x61));
      await c.closeWrite();
      let n = 0, head = "";
      const buf = new Uint8Array(65536);
      for (;;) {
        const k = await c.read(buf);
        if (k === null) break;
        if (head.length < 7) head += dec.decode(buf.subarray(0, Math.min(k, 7)));
        n += k;
      }
      c.close();
      return `${head.slice(0, 7)}${n}`;
    }));
    deepEqual(texts, [`call 0 ${200_007}`, `call 1 ${200_007}`]);
    equal(session.stats!().transport, "grpc");
  } finally {
    session.close();
    s.close();
  }
});

Deno.test("grpc listener: a message prefix over 4 MiB ends that call (RESOURCE_EXHAUSTED), logged; the connection goes on", async () => {
  const n = await grpcNode({ grpcInsecure: true }, async (c) => {
    try {
      await echo(c);
    } catch (err) {
      // the handler sees the error, as a relay would
      n.lines.push(`handler: ${(err as Error).message}`);
    }
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: n.port });
  const session = H2Session.client(conn, { transport: "grpc" });
  try {
    await session.ready;
    const headers = [
      { name: ":method", value: "POST" },
      { name: ":scheme", value: "http" },
      { name: ":path", value: "/GostTunel/Tunnel" },
      { name: ":authority", value: "x" },
      { name: "content-type", value: "application/grpc" },
    ];
    const bad = await session.open(headers);
    await bad.write(Uint8Array.of(0, 0xff, 0xff, 0xff, 0xff, 0x0a));
    // the answer: headers, then trailers with grpc-status 8 (or a trailers-only answer)
    const buf = new Uint8Array(64);
    while ((await bad.read(buf).catch(() => null)) !== null);
    const trailers = bad.trailers ?? bad.headers;
    equal(trailers.find((f) => f.name === "grpc-status")?.value, "8");
    await until(() => n.lines.some((l) => l.includes("received message larger than max")), "the log line");
    // another call on the same connection
    const good = await session.open(headers);
    await good.write(encodeChunk(enc.encode("fine")));
    await good.closeWrite();
    const out: number[] = [];
    for (;;) {
      const k = await good.read(buf);
      if (k === null) break;
      out.push(...buf.subarray(0, k));
    }
    deepEqual(out.slice(0, 5), [0, 0, 0, 0, 6]);
    equal(dec.decode(Uint8Array.from(out.slice(7))), "fine");
    equal(good.trailers?.find((f) => f.name === "grpc-status")?.value, "0");
  } finally {
    session.close();
    n.close();
  }
});

Deno.test("grpc listener: curl's non-gRPC requests get grpc-go's 415 and 405, each logged", async () => {
  const n = await grpcNode({ grpcInsecure: true });
  try {
    const status = async (...args: string[]) =>
      (await run("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--http2-prior-knowledge", ...args])).stdout;
    equal(
      await status("-X", "POST", "-H", "content-type: text/plain", `http://127.0.0.1:${n.port}/GostTunel/Tunnel`),
      "415",
    );
    equal(await status(`http://127.0.0.1:${n.port}/GostTunel/Tunnel`), "405");
    await until(() => n.lines.some((l) => l.includes("call refused (HTTP 415)")), "the 415 line");
    await until(() => n.lines.some((l) => l.includes("call refused (HTTP 405)")), "the 405 line");
  } finally {
    n.close();
  }
});
