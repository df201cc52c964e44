/**
 * Unit tests of core/relay.ts over in-memory conn pairs: `client ⇄ a | relay | b ⇄ target`. Bytes both ways (short
 * writes, every buffer tier), half-close both ways, an error or abort on one side ending the other, each conn
 * closed once, the byte counts, datagram relays. relay.ts has no idle or other timeout of its own (the handlers'
 * deadlines bound handshakes, not relays), so there is none to test here.
 * @module
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { copy, relay } from "../../core/relay.ts";
import { writeFull } from "../../core/conn.ts";
import { readAll, readExactly } from "../helpers/io.ts";
import { type MemConn, type MemConnOptions, memConnPair } from "../helpers/mem_conn.ts";
import { pattern } from "../helpers/mux_pair.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** client ⇄ a, b ⇄ target, and the relay between a and b. */
function relayed(opts: MemConnOptions = {}) {
  const [client, a] = memConnPair(opts);
  const [b, target] = memConnPair(opts);
  const done = relay(a, b);
  return { client, a, b, target, done };
}

/** Both relay-side conns were closed exactly once. */
function closedOnce(...conns: MemConn[]): void {
  for (const c of conns) equal(c.closeCalls, 1, `${c.localAddr.port} closed ${c.closeCalls} times`);
}

Deno.test("relay copies bytes both ways, through every buffer tier and short writes, and counts them", async () => {
  const { client, a, b, target, done } = relayed({ maxWrite: 7000 });
  const up = pattern(3 * 1024 * 1024 + 17, 3);
  const down = pattern(2 * 1024 * 1024 + 5, 9);
  const sending = (async () => {
    await writeFull(client, up);
    await client.closeWrite();
  })();
  const answering = (async () => {
    await writeFull(target, down);
    await target.closeWrite();
  })();
  const [atTarget, atClient] = await Promise.all([readAll(target), readAll(client)]);
  await Promise.all([sending, answering]);
  deepEqual(atTarget, up);
  deepEqual(atClient, down);
  deepEqual(await done, { input: up.length, output: down.length });
  closedOnce(a, b);
});

Deno.test("relay: the client's half-close reaches the target, which still answers; then its EOF reaches the client", async () => {
  const { client, a, b, target, done } = relayed();
  await writeFull(client, enc.encode("question"));
  await client.closeWrite();
  equal(dec.decode(await readAll(target)), "question"); // EOF arrived at the target
  ok(b.writeClosed, "the relay half-closed the target side");
  ok(!a.closed && !b.closed, "a half-close must not close the relay");
  await writeFull(target, enc.encode("answer after eof"));
  equal(dec.decode(await readExactly(client, 16)), "answer after eof");
  await target.closeWrite();
  equal(await client.read(new Uint8Array(1)), null);
  deepEqual(await done, { input: 8, output: 16 });
  closedOnce(a, b);
});

Deno.test("relay: the target's half-close reaches the client, which can still send to the target", async () => {
  const { client, a, b, target, done } = relayed();
  await writeFull(target, enc.encode("banner"));
  await target.closeWrite();
  equal(dec.decode(await readAll(client)), "banner");
  ok(a.writeClosed && !a.closed, "the client side is half-closed, not closed");
  await writeFull(client, enc.encode("late"));
  equal(dec.decode(await readExactly(target, 4)), "late");
  await client.closeWrite();
  equal(await target.read(new Uint8Array(1)), null);
  deepEqual(await done, { input: 4, output: 6 });
  closedOnce(a, b);
});

Deno.test("relay: a read error on the client side ends both sides and keeps the counts so far", async () => {
  const { client, a, b, target, done } = relayed();
  await writeFull(client, enc.encode("12345"));
  equal(dec.decode(await readExactly(target, 5)), "12345");
  await writeFull(target, enc.encode("abc"));
  equal(dec.decode(await readExactly(client, 3)), "abc");
  a.fail(new Deno.errors.ConnectionReset("reset by the client"));
  deepEqual(await done, { input: 5, output: 3 }); // resolves, never rejects
  equal(await target.read(new Uint8Array(1)), null, "the target sees the end");
  closedOnce(a, b);
});

Deno.test("relay: a read error on the target side ends the client's side too", async () => {
  const { client, a, b, target, done } = relayed();
  await writeFull(target, enc.encode("xy"));
  equal(dec.decode(await readExactly(client, 2)), "xy");
  b.fail(new Error("transport broke"));
  deepEqual(await done, { input: 0, output: 2 });
  equal(await client.read(new Uint8Array(1)), null);
  closedOnce(a, b);
});

Deno.test("relay: a failing write ends both sides; only the bytes written are counted", async () => {
  const { client, a, b, target, done } = relayed();
  await writeFull(client, enc.encode("first"));
  equal(dec.decode(await readExactly(target, 5)), "first");
  b.failWrites(new Deno.errors.BrokenPipe("target gone"));
  await writeFull(client, enc.encode("second"));
  deepEqual(await done, { input: 5, output: 0 });
  equal(await client.read(new Uint8Array(1)), null);
  closedOnce(a, b);
});

Deno.test("relay: the client aborting (close, no half-close) ends the relay once the target's bytes cannot go", async () => {
  const { client, a, b, target, done } = relayed();
  client.close(); // the relay reads EOF from a and half-closes b; writes to a now fail
  equal(await target.read(new Uint8Array(1)), null, "EOF forwarded to the target");
  await writeFull(target, enc.encode("into the void"));
  const r = await done;
  equal(r.input, 0);
  equal(r.output, 0, "nothing reached the aborted client");
  ok(a.closed && b.closed);
  closedOnce(a, b);
});

Deno.test("relay: a half-close that fails still ends that direction", async () => {
  const { client, a, b, target, done } = relayed();
  b.failCloseWrite(new Deno.errors.NotConnected("shutdown failed"));
  await client.closeWrite();
  equal(await target.read(new Uint8Array(1)), null);
  await target.closeWrite();
  equal(await client.read(new Uint8Array(1)), null);
  deepEqual(await done, { input: 0, output: 0 });
  closedOnce(a, b);
});

Deno.test("copy: src to dst until EOF, then half-closes dst and returns the count; rejects on an error", async () => {
  const [src, srcPeer] = memConnPair();
  const [dst, dstPeer] = memConnPair({ maxWrite: 3 });
  await writeFull(srcPeer, enc.encode("copied bytes"));
  await srcPeer.closeWrite();
  equal(await copy(src, dst), 12);
  equal(dec.decode(await readAll(dstPeer)), "copied bytes");

  const [src2] = memConnPair();
  const [dst2] = memConnPair();
  const err = new Deno.errors.ConnectionReset("reset");
  const copying = copy(src2, dst2);
  src2.fail(err);
  let caught: unknown;
  await copying.catch((e) => (caught = e));
  equal(caught, err);
});

Deno.test("relay of datagram conns keeps messages whole both ways and counts their bytes", async () => {
  const { client, a, b, target, done } = relayed({ datagram: true });
  const sizes = [1, 1400, 60_000];
  for (const size of sizes) await client.write(pattern(size, size));
  for (const size of sizes) {
    const buf = new Uint8Array(65_536);
    const n = await target.read(buf);
    deepEqual(buf.subarray(0, n!), pattern(size, size), `${size}-byte datagram`);
  }
  await target.write(enc.encode("reply"));
  const buf = new Uint8Array(100);
  equal(dec.decode(buf.subarray(0, (await client.read(buf))!)), "reply");
  client.close(); // a datagram session has no half-close: the first direction to end closes both
  const r = await done;
  deepEqual(r, { input: 61_401, output: 5 });
  equal(await target.read(buf), null);
  closedOnce(a, b);
});

Deno.test("relay of datagram conns: an error on one side ends the other", async () => {
  const { client, a, b, target, done } = relayed({ datagram: true });
  await target.write(enc.encode("d1"));
  const buf = new Uint8Array(16);
  equal(await client.read(buf), 2);
  b.fail(new Error("socket error"));
  deepEqual(await done, { input: 0, output: 2 });
  equal(await client.read(buf), null);
  closedOnce(a, b);
});
