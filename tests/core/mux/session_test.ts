import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { MuxSession } from "../../../core/mux/session.ts";
import { INITIAL_PEER_WINDOW, type MuxStream } from "../../../core/mux/stream.ts";
import { Cmd, encodeFrame, encodeUpd, FrameReader, HELLO_SID } from "../../../core/mux/frame.ts";
import type { MuxConfig } from "../../../core/mux/config.ts";
import { TimeoutError } from "../../../core/errors.ts";
import { pattern, readAll, readN, tcpPair, until, within, writeAll } from "../../helpers/mux_pair.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
/**
 * How long a test watches for something that must not happen: a session reading past its receive budget, a sender
 * going past its window. A correct session never does it, so a slow machine cannot fail these checks; a broken one
 * shows it well within this window on loopback (megabytes wait to be sent).
 */
const MUST_NOT_HAPPEN_MS = 200;
/**
 * How long idle sessions with keepalive are watched: two of their idle checks (every 500 ms). The peer's NOPs come
 * every 50 ms, so only an event-loop stall of about 450 ms could make a check find none.
 */
const KEEPALIVE_WATCH_MS = 1200;

/** A client and a server session over one loopback TCP connection. */
async function sessions(client: Partial<MuxConfig> = {}, server: Partial<MuxConfig> = client) {
  const [a, b] = await tcpPair();
  const c = MuxSession.client(a, client);
  const s = MuxSession.server(b, server);
  return {
    c,
    s,
    async [Symbol.asyncDispose]() {
      c.close();
      s.close();
      await Promise.all([c.done, s.done]);
    },
  };
}

/** A session facing a raw TCP peer that the test drives byte by byte (the session's hello read already). */
async function rawPeer(config: Partial<MuxConfig> = {}, client = false) {
  const [a, raw] = await tcpPair();
  const session = new MuxSession(a, { client, config });
  deepEqual([...await within(readN(raw, 8), 2000)], [...encodeFrame(config.version ?? 1, Cmd.NOP, HELLO_SID)]);
  return {
    session,
    raw,
    async [Symbol.asyncDispose]() {
      session.close();
      try {
        raw.close();
      } catch { /* closed */ }
      await session.done;
    },
  };
}

Deno.test("mux client opens odd stream ids from 3, server even ids from 2; data flows both ways", async () => {
  await using p = await sessions();
  const c1 = await p.c.openStream();
  const c2 = await p.c.openStream();
  deepEqual([c1.id, c2.id], [3, 5]);
  const s1 = await p.s.openStream();
  equal(s1.id, 2);
  await c1.write(enc.encode("hello"));
  const a1 = await within(p.s.acceptStream(), 2000);
  const a2 = await within(p.s.acceptStream(), 2000);
  deepEqual([a1.id, a2.id], [3, 5]);
  equal(dec.decode(await readN(a1, 5)), "hello");
  await a1.write(enc.encode("world"));
  equal(dec.decode(await readN(c1, 5)), "world");
  const b1 = await within(p.c.acceptStream(), 2000);
  equal(b1.id, 2);
  for (const s of [c1, c2, s1, a1, a2, b1]) s.close();
});

Deno.test("mux client writes SYN then PSH frames on the wire, split at maxFrameSize", async () => {
  await using p = await rawPeer({ maxFrameSize: 4 }, true);
  const st = await p.session.openStream();
  await st.write(enc.encode("abcdefghij"));
  const r = new FrameReader(p.raw);
  const frames = [];
  for (let i = 0; i < 4; i++) {
    const f = (await within(r.next(1), 2000))!;
    frames.push([f.cmd, f.sid, dec.decode(f.payload)]);
  }
  deepEqual(frames, [[Cmd.SYN, 3, ""], [Cmd.PSH, 3, "abcd"], [Cmd.PSH, 3, "efgh"], [Cmd.PSH, 3, "ij"]]);
  st.close();
  const fin = (await within(r.next(1), 2000))!;
  deepEqual([fin.cmd, fin.sid], [Cmd.FIN, 3]);
});

Deno.test("mux carries 200 concurrent streams of 64 KiB each, echoed, without mixing them up", async () => {
  await using p = await sessions();
  const echo = (async () => {
    const loops: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) {
      const st = await p.s.acceptStream();
      loops.push((async () => {
        const data = await readAll(st);
        await writeAll(st, data);
        st.close();
      })());
    }
    await Promise.all(loops);
  })();
  await within(
    Promise.all(Array.from({ length: 200 }, async (_, i) => {
      const st = await p.c.openStream();
      const data = pattern(64 * 1024, i + 1);
      await writeAll(st, data);
      await st.closeWrite();
      const back = await readAll(st);
      st.close();
      ok(back.length === data.length && back.every((v, j) => v === data[j]), `stream ${i} echoed intact`);
    })),
    20_000,
    "200 streams",
  );
  await within(echo, 5000);
  await until(() => p.c.numStreams === 0 && p.s.numStreams === 0, 2000, "every stream forgotten");
});

Deno.test("mux half-close: after closeWrite the peer reads EOF and can still answer", async () => {
  await using p = await sessions();
  const a = await p.c.openStream();
  await a.write(enc.encode("request"));
  await a.closeWrite();
  const b = await within(p.s.acceptStream(), 2000);
  equal(dec.decode(await within(readAll(b), 2000)), "request");
  await b.write(enc.encode("response"));
  await b.closeWrite();
  equal(dec.decode(await within(readAll(a), 2000)), "response");
  await rejects(a.write(enc.encode("late")), /closed/);
  await until(() => p.c.numStreams === 0 && p.s.numStreams === 0, 2000, "both FINs forget the stream");
  a.close();
  b.close();
});

Deno.test("mux close sends FIN: the peer drains buffered data, then reads EOF", async () => {
  await using p = await sessions();
  const a = await p.c.openStream();
  await a.write(enc.encode("last words"));
  a.close();
  const b = await within(p.s.acceptStream(), 2000);
  equal(dec.decode(await within(readAll(b), 2000)), "last words");
  b.close();
  equal(await a.read(new Uint8Array(4)), null);
});

Deno.test("mux v1 flow control: a slow reader stops the session reading at maxReceiveBuffer", async () => {
  await using p = await sessions({ maxReceiveBuffer: 64 * 1024 });
  const a = await p.c.openStream();
  const data = pattern(8 * 1024 * 1024, 7);
  const writing = writeAll(a, data).then(() => a.closeWrite());
  const b = await within(p.s.acceptStream(), 2000);
  await until(() => b.buffered >= 64 * 1024, 3000, "receive buffer filled");
  await new Promise((r) => setTimeout(r, MUST_NOT_HAPPEN_MS));
  ok(b.buffered <= 64 * 1024 + 32 * 1024, `buffered ${b.buffered} stays near maxReceiveBuffer`);
  const back = await within(readAll(b), 20_000, "slow reader drain");
  await within(writing, 5000);
  equal(back.length, data.length);
  ok(back.every((v, i) => v === data[i]));
  b.close();
  a.close();
});

Deno.test("mux v2 window: a stalled stream holds at most the peer window in flight, others keep flowing", async () => {
  await using p = await sessions({ version: 2, maxStreamBuffer: 32 * 1024 });
  const slow = await p.c.openStream();
  const data = pattern(1024 * 1024, 3);
  const writing = writeAll(slow, data).then(() => slow.closeWrite());
  const slowPeer = await within(p.s.acceptStream(), 2000);
  await until(() => slowPeer.buffered >= INITIAL_PEER_WINDOW, 3000, "initial window used");
  await new Promise((r) => setTimeout(r, MUST_NOT_HAPPEN_MS));
  equal(slowPeer.buffered, INITIAL_PEER_WINDOW, "no more than the initial 256 KiB before any UPD");

  const fast = await p.c.openStream();
  await fast.write(enc.encode("still flowing"));
  await fast.closeWrite();
  const fastPeer = await within(p.s.acceptStream(), 2000);
  equal(dec.decode(await within(readAll(fastPeer), 2000)), "still flowing");

  // after the first UPD (window 32 KiB) the in-flight bytes shrink to the announced window
  const first = await readN(slowPeer, INITIAL_PEER_WINDOW);
  await new Promise((r) => setTimeout(r, MUST_NOT_HAPPEN_MS));
  ok(slowPeer.buffered <= 32 * 1024, `buffered ${slowPeer.buffered} within the 32 KiB window`);
  const rest = await within(readAll(slowPeer), 10_000, "v2 drain");
  await within(writing, 5000);
  const back = new Uint8Array(first.length + rest.length);
  back.set(first);
  back.set(rest, first.length);
  equal(back.length, data.length);
  ok(back.every((v, i) => v === data[i]));
  for (const s of [slow, slowPeer, fast, fastPeer]) s.close();
});

Deno.test("mux v2 sends UPD after the first read and every half window", async () => {
  await using p = await rawPeer({ version: 2, maxStreamBuffer: 100 });
  await writeAll(p.raw, encodeFrame(2, Cmd.SYN, 3));
  await writeAll(p.raw, encodeFrame(2, Cmd.PSH, 3, new Uint8Array(120)));
  const st = await within(p.session.acceptStream(), 2000);
  await readN(st, 10);
  await readN(st, 40);
  await readN(st, 70);
  const r = new FrameReader(p.raw);
  const upd = [];
  for (let i = 0; i < 2; i++) {
    const f = (await within(r.next(2), 2000))!;
    equal(f.cmd, Cmd.UPD);
    upd.push([...f.payload]);
  }
  deepEqual(upd, [[...encodeUpd(2, 3, 10, 100).subarray(8)], [...encodeUpd(2, 3, 120, 100).subarray(8)]]);
  st.close();
});

Deno.test("mux keepalive: NOPs every interval keep an idle session open", async () => {
  await using p = await sessions({ keepAliveIntervalMs: 50, keepAliveTimeoutMs: 500 });
  await new Promise((r) => setTimeout(r, KEEPALIVE_WATCH_MS));
  ok(!p.c.closed && !p.s.closed, "idle sessions with keepalive stay open");
});

Deno.test("mux keepalive: a silent peer is dropped after the keepalive timeout, with NOPs sent meanwhile", async () => {
  await using p = await rawPeer({ keepAliveIntervalMs: 30, keepAliveTimeoutMs: 150 });
  const accepting = p.session.acceptStream().then(() => null, (e: Error) => e);
  const r = new FrameReader(p.raw);
  const nop = (await within(r.next(1), 2000))!;
  deepEqual([nop.cmd, nop.sid, nop.length], [Cmd.NOP, 0, 0]);
  await within(p.session.done, 2000, "idle timeout");
  ok(p.session.error instanceof TimeoutError);
  ok((await accepting) instanceof TimeoutError);
});

for (
  const [name, bytes] of [
    ["a frame of another version", [...encodeFrame(2, Cmd.SYN, 3)]],
    ["an unknown command", [0x01, 0x07, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00]],
    ["a SYN with a payload", [0x01, 0x00, 0x02, 0x00, 0x03, 0x00, 0x00, 0x00, 0x61, 0x62]],
    ["a UPD in a version 1 session", [...encodeUpd(1, 3, 0, 0)]],
    ["a SYN for a stream that is open", [...encodeFrame(1, Cmd.SYN, 3)]],
    ["a SYN for stream id 0", [...encodeFrame(1, Cmd.SYN, 0)]],
    ["a PSH for a stream no SYN named", [...encodeFrame(1, Cmd.PSH, 99, enc.encode("lost"))]],
    ["a FIN for a stream no SYN named", [...encodeFrame(1, Cmd.FIN, 77)]],
    ["EOF inside a frame", [0x01, 0x02, 0x10, 0x00, 0x03, 0x00, 0x00, 0x00, 0x61]],
  ] as [string, number[]][]
) {
  Deno.test(`mux closes the session on ${name}, failing every pending operation`, async () => {
    await using p = await rawPeer();
    await writeAll(p.raw, encodeFrame(1, Cmd.SYN, 3));
    await writeAll(p.raw, encodeFrame(1, Cmd.PSH, 3, enc.encode("ok")));
    const st = await within(p.session.acceptStream(), 2000);
    equal(dec.decode(await readN(st, 2)), "ok");
    const caught = (x: Promise<unknown>) => x.then(() => null, (e: Error) => e);
    const reading = caught(st.read(new Uint8Array(10)));
    const accepting = caught(p.session.acceptStream());
    await writeAll(p.raw, Uint8Array.from(bytes));
    if (name.startsWith("EOF")) await p.raw.closeWrite();
    await within(p.session.done, 2000, "session end");
    ok(p.session.closed);
    equal((await within(reading, 1000))?.name, "ConnectionReset");
    ok((await within(accepting, 1000)) instanceof Error);
    await rejects(st.write(enc.encode("x")));
    await rejects(p.session.openStream());
    equal(await p.raw.read(new Uint8Array(64)).catch(() => null), null, "the conn is closed");
  });
}

Deno.test("mux ignores empty PSH and the frames still in flight for a stream it closed", async () => {
  await using p = await rawPeer();
  await writeAll(p.raw, encodeFrame(1, Cmd.SYN, 3));
  await writeAll(p.raw, encodeFrame(1, Cmd.PSH, 3));
  await writeAll(p.raw, encodeFrame(1, Cmd.SYN, 5));
  const st = await within(p.session.acceptStream(), 2000);
  const gone = await within(p.session.acceptStream(), 2000);
  gone.close();
  equal(p.session.numStreams, 1);
  await writeAll(p.raw, encodeFrame(1, Cmd.PSH, 5, enc.encode("late")));
  await writeAll(p.raw, encodeFrame(1, Cmd.FIN, 5));
  await writeAll(p.raw, encodeFrame(1, Cmd.NOP, 0));
  await writeAll(p.raw, encodeFrame(1, Cmd.PSH, 3, enc.encode("kept")));
  await writeAll(p.raw, encodeFrame(1, Cmd.FIN, 3));
  equal(dec.decode(await within(readAll(st), 2000)), "kept");
  equal(p.session.numStreams, 1);
  st.close();
  ok(!p.session.closed);
});

Deno.test("mux session close fails reads and writes of open streams with ConnectionReset", async () => {
  await using p = await sessions();
  const a = await p.c.openStream();
  const b = await within(p.s.acceptStream(), 2000).catch(() => null as MuxStream | null);
  const reading = a.read(new Uint8Array(8)).then(() => null, (e: Error) => e);
  p.s.close();
  equal((await within(reading, 2000))?.name, "ConnectionReset");
  await within(p.c.done, 2000);
  await rejects(a.write(enc.encode("x")), (e: Error) => e.name === "ConnectionReset");
  b?.close();
});

Deno.test("mux between gost.ts sessions: FIN is a half-close; close() while the peer writes stops its writes", async () => {
  await using p = await sessions();
  const a = await p.c.openStream();
  await a.write(enc.encode("req"));
  await a.closeWrite();
  const b = await within(p.s.acceptStream(), 2000);
  equal(dec.decode(await within(readAll(b), 2000)), "req");
  await b.write(enc.encode("answer after the half-close"));
  equal(dec.decode(await within(readN(a, 27), 2000)), "answer after the half-close");
  a.close(); // its second FIN: nobody reads what b writes now
  const failed = await within(
    (async () => {
      for (;;) await b.write(new Uint8Array(1024));
    })().catch((e: Error) => e),
    2000,
    "b's writes failing",
  );
  equal(failed.name, "BrokenPipe", String(failed));
  b.close();
});

Deno.test("mux with a GOST peer (no hello): its FIN is a full close, writes fail as GOST's do", async () => {
  await using p = await rawPeer();
  await writeAll(p.raw, encodeFrame(1, Cmd.SYN, 3));
  const st = await within(p.session.acceptStream(), 2000);
  await st.write(enc.encode("before"));
  await writeAll(p.raw, encodeFrame(1, Cmd.FIN, 3));
  equal(await within(st.read(new Uint8Array(8)), 2000), null);
  await rejects(st.write(enc.encode("after")), (e: Error) => e.name === "BrokenPipe");
  st.close();
});

Deno.test("mux with a peer that said hello: close() sends FIN twice while the peer may write, once after its FIN", async () => {
  await using p = await rawPeer();
  await writeAll(p.raw, encodeFrame(1, Cmd.NOP, HELLO_SID));
  await writeAll(p.raw, encodeFrame(1, Cmd.SYN, 3));
  await writeAll(p.raw, encodeFrame(1, Cmd.SYN, 5));
  await writeAll(p.raw, encodeFrame(1, Cmd.FIN, 5));
  const open = await within(p.session.acceptStream(), 2000);
  const ended = await within(p.session.acceptStream(), 2000);
  equal(await within(ended.read(new Uint8Array(8)), 2000), null);
  await ended.write(enc.encode("x")); // a half-close: this side may still write
  open.close();
  ended.close();
  const r = new FrameReader(p.raw);
  const frames = [];
  for (let i = 0; i < 4; i++) {
    const f = (await within(r.next(1), 2000))!;
    frames.push([f.cmd, f.sid]);
  }
  deepEqual(frames, [[Cmd.PSH, 5], [Cmd.FIN, 3], [Cmd.FIN, 3], [Cmd.FIN, 5]]);
});

Deno.test("mux caps the streams a peer holds open: a SYN past maxPeerStreams gets a FIN at once, a freed slot is reused", async () => {
  await using p = await rawPeer({ maxPeerStreams: 2 });
  const frames = new FrameReader(p.raw);
  await writeAll(p.raw, encodeFrame(1, Cmd.SYN, 3));
  await writeAll(p.raw, encodeFrame(1, Cmd.SYN, 5));
  await writeAll(p.raw, encodeFrame(1, Cmd.SYN, 7));
  await writeAll(p.raw, encodeFrame(1, Cmd.PSH, 7, enc.encode("dropped")));
  const a = await within(p.session.acceptStream(), 2000);
  await within(p.session.acceptStream(), 2000);
  const fin = await within(frames.next(1), 2000);
  deepEqual([fin?.cmd, fin?.sid], [Cmd.FIN, 7]);
  equal(p.session.refusedStreams, 1);
  equal(p.session.numStreams, 2);
  a.close(); // frees a slot: the next SYN is accepted
  await until(() => p.session.numStreams === 1, 2000, "the closed stream forgotten");
  await writeAll(p.raw, encodeFrame(1, Cmd.SYN, 9));
  await writeAll(p.raw, encodeFrame(1, Cmd.PSH, 9, enc.encode("kept")));
  await writeAll(p.raw, encodeFrame(1, Cmd.FIN, 9));
  const c = await within(p.session.acceptStream(), 2000);
  equal(dec.decode(await within(readAll(c), 2000)), "kept");
  equal(p.session.refusedStreams, 1);
  ok(!p.session.closed);
});
