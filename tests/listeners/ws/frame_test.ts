/**
 * WebSocket framing against hand-written frames over loopback TCP: a ping is answered with a pong, fragmented and
 * text frames read as one stream, a close frame is echoed and ends the stream, and bad frames (an absurd length, an
 * unmasked client frame, reserved bits) get a close frame with the right status and an error.
 */
import { deepEqual, equal, rejects } from "node:assert/strict";
import type { Conn } from "../../../core/conn.ts";
import { applyMask, encodeFrame, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, WsConn } from "../../../listeners/ws/conn.ts";

/** A connected loopback TCP pair. */
async function tcpPair(): Promise<[Deno.TcpConn, Deno.TcpConn]> {
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const [a, b] = await Promise.all([ln.accept(), Deno.connect({ hostname: "127.0.0.1", port: ln.addr.port })]);
  ln.close();
  return [a, b];
}

/** Reads one whole frame (unmasked, as the server sends) from a raw conn. */
async function readFrame(c: Conn): Promise<{ opcode: number; payload: Uint8Array } | null> {
  const buf: number[] = [];
  const one = new Uint8Array(1);
  const need = async (n: number) => {
    while (buf.length < n) {
      const r = await c.read(one);
      if (r === null) return false;
      buf.push(one[0]);
    }
    return true;
  };
  if (!(await need(2))) return null;
  let len = buf[1] & 0x7f, h = 2;
  if (len === 126) {
    await need(4);
    len = (buf[2] << 8) | buf[3];
    h = 4;
  }
  await need(h + len);
  return { opcode: buf[0] & 0x0f, payload: new Uint8Array(buf.slice(h, h + len)) };
}

/** A masked client frame with the given first byte and payload. */
function clientFrame(b0: number, payload: Uint8Array): Uint8Array {
  const f = encodeFrame(b0 & 0x0f, payload, true);
  f[0] = b0;
  return f;
}

const enc = new TextEncoder();

Deno.test("ws framing: ping gets a pong, fragments and text read as one stream, close is echoed then EOF", async () => {
  const [server, raw] = await tcpPair();
  const ws = new WsConn(server, false);
  try {
    await raw.write(clientFrame(0x80 | OP_PING, enc.encode("hi")));
    await raw.write(clientFrame(0x00 | OP_BINARY, enc.encode("ab"))); // no FIN: a fragmented message
    await raw.write(clientFrame(0x80 | 0x0, enc.encode("cd"))); // its final continuation
    await raw.write(clientFrame(0x80 | 0x1, enc.encode("ef"))); // a text message: bytes too
    await raw.write(clientFrame(0x80 | OP_CLOSE, new Uint8Array([0x03, 0xe8])));
    const got: number[] = [];
    const p = new Uint8Array(3);
    for (let i = 0; i < 10; i++) {
      const n = await ws.read(p);
      if (n === null) break;
      got.push(...p.subarray(0, n));
    }
    equal(new TextDecoder().decode(new Uint8Array(got)), "abcdef");
    const pong = await readFrame(raw);
    equal(pong?.opcode, OP_PONG);
    deepEqual([...pong!.payload], [...enc.encode("hi")]);
    const close = await readFrame(raw);
    equal(close?.opcode, OP_CLOSE);
    deepEqual([...close!.payload], [0x03, 0xe8]);
  } finally {
    ws.close();
    raw.close();
  }
});

for (
  const [what, frame, code] of [
    ["a 2^40-byte frame", new Uint8Array([0x82, 0xff, 0, 0, 1, 0, 0, 0, 0, 0, 1, 2, 3, 4]), 1009],
    ["an unmasked client frame", new Uint8Array([0x82, 0x01, 0x61]), 1002],
    ["reserved bits", clientFrame(0x80 | 0x40 | OP_BINARY, enc.encode("x")), 1002],
    ["an unknown opcode", clientFrame(0x80 | 0x3, enc.encode("x")), 1002],
    ["a fragmented ping", clientFrame(OP_PING, enc.encode("x")), 1002],
  ] as const
) {
  Deno.test(`ws framing: ${what} gets close ${code} and an error`, async () => {
    const [server, raw] = await tcpPair();
    const ws = new WsConn(server, false);
    try {
      await raw.write(frame);
      await rejects(ws.read(new Uint8Array(16)), /WebSocket/);
      const close = await readFrame(raw);
      equal(close?.opcode, OP_CLOSE);
      equal((close!.payload[0] << 8) | close!.payload[1], code);
      equal(await readFrame(raw), null, "then the conn is closed");
    } finally {
      ws.close();
      raw.close();
    }
  });
}

Deno.test("ws framing: masking round-trips at every alignment and key phase", () => {
  const key = new Uint8Array([1, 2, 3, 4]);
  for (let off = 0; off < 5; off++) {
    for (let n = 0; n < 40; n++) {
      const b = new Uint8Array(64).map((_, i) => i);
      const orig = b.slice();
      const ph = applyMask(b, off, n, key, off & 3);
      for (let i = 0; i < n; i++) equal(b[off + i], orig[off + i] ^ key[(off + i) & 3]);
      equal(ph, (off + n) & 3);
      applyMask(b, off, n, key, off & 3);
      deepEqual(b, orig);
    }
  }
});

for (
  const [side, n] of [["client", 5], ["client", 300], ["client", 70_000], ["server", 5], ["server", 70_000]] as const
) {
  Deno.test(`ws framing: writeInPlace from the ${side}, ${n} bytes, reads back as written (masked as a client's)`, async () => {
    const [a, b] = await tcpPair();
    const writer = new WsConn(a, side === "client");
    const reader = new WsConn(b, side !== "client");
    try {
      const data = new Uint8Array(n).map((_, i) => (i * 7) & 0xff);
      const buf = new Uint8Array(16 + n);
      buf.set(data, 16);
      const got = new Uint8Array(n);
      const reading = (async () => {
        let off = 0;
        while (off < n) off += (await reader.read(got.subarray(off)))!;
      })();
      await writer.writeInPlace(buf, 16, 16 + n);
      await reading;
      deepEqual(got, data);
    } finally {
      writer.close();
      reader.close();
    }
  });
}
