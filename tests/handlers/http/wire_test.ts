import { deepEqual, equal, ok } from "node:assert/strict";
import { HandshakeReader } from "../../../core/bufio.ts";
import type { Conn } from "../../../core/conn.ts";
import { latin1Decode } from "../../../handlers/http/wire.ts";
import { newReader, readHead, releaseReader } from "../../../handlers/http/stream.ts";

/** A conn that returns `data` in reads of at most `step` bytes, then EOF. */
function chunked(data: Uint8Array, step: number): Conn {
  let off = 0;
  const addr: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: 1 };
  return {
    localAddr: addr,
    remoteAddr: addr,
    read(p) {
      if (off >= data.length) return Promise.resolve(null);
      const n = Math.min(step, p.length, data.length - off);
      p.set(data.subarray(off, off + n));
      off += n;
      return Promise.resolve(n);
    },
    write: (p) => Promise.resolve(p.length),
    closeWrite: () => Promise.resolve(),
    close() {},
  };
}

const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const limits = { maxLineBytes: 64, maxHeaderBytes: 200 };

/** The lines (or the error's class and status) readHead gives, and the bytes left after the head. */
async function outcome(head: string, step: number): Promise<string> {
  const r = new HandshakeReader(chunked(bytes(head), step), 4096);
  try {
    const lines = await readHead(r, limits);
    const rest = r.conn();
    const buf = new Uint8Array(64);
    let tail = "";
    for (let n; (n = await rest.read(buf)) !== null;) tail += latin1Decode(buf.subarray(0, n));
    return JSON.stringify({ lines, rest: tail });
  } catch (err) {
    return `${(err as Error).constructor.name} ${(err as { status?: number }).status ?? ""}`;
  }
}

Deno.test("an HTTP head reads the same whole or byte by byte: lines, errors and the bytes after it", async () => {
  const heads = [
    "GET http://h/ HTTP/1.1\r\nHost: h\r\nX: \t v \t\r\n\r\nBODY",
    "GET / HTTP/1.1\nHost: h\n\n", // bare LF line ends
    "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", // leading empty lines
    "GET / HTTP/1.1\r\nBad\rCR: x\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: h\r\n", // cut short
    `GET / HTTP/1.1\r\nLong: ${"x".repeat(60)}\r\n\r\n`, // over the line cap
    `GET / HTTP/1.1\r\n${"A: 12345678901234567890\r\n".repeat(8)}\r\n`, // over the head cap
    "GET / HTTP/1.1\r\nLatin: caf\xe9\r\n\r\n",
    "",
  ];
  for (const h of heads) {
    const whole = await outcome(h, 1 << 16);
    equal(await outcome(h, 1), whole, JSON.stringify(h));
    equal(await outcome(h, 7), whole, JSON.stringify(h));
  }
  deepEqual(JSON.parse(await outcome(heads[0], 1 << 16)), {
    lines: ["GET http://h/ HTTP/1.1", "Host: h", "X: \t v \t"],
    rest: "BODY",
  });
  equal(JSON.parse(await outcome(heads[7], 1 << 16)).lines[1], "Latin: caf\xe9");
});

Deno.test("a released reader buffer is reused by the next reader, never while a read into it is pending", async () => {
  const a = newReader(chunked(bytes("GET / HTTP/1.1\r\n\r\n"), 100));
  await readHead(a, limits);
  releaseReader(a);
  let pendingRead: ((n: number | null) => void) | undefined;
  const stalled = newReader({
    ...chunked(new Uint8Array(0), 1),
    read: () => new Promise((resolve) => pendingRead = resolve),
  });
  const reading = stalled.peekByte();
  ok(stalled.detach() === null, "a reader with a read in flight keeps its buffer");
  pendingRead?.(null);
  equal(await reading, null);
  const b = newReader(chunked(bytes("GET /b HTTP/1.1\r\n\r\n"), 100));
  deepEqual(await readHead(b, limits), ["GET /b HTTP/1.1"]);
});
