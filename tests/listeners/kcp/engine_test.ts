/**
 * The KCP engine alone (two engines wired back to back, no sockets): in-order delivery over a lossy wire through fast
 * retransmission, acks and `una`, the window probe answered with the window, stream-mode reads across segments, and
 * the refusal codes for another conv, a `len` past the datagram and an unknown command.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import {
  encodeHeader,
  IKCP_CMD_ACK,
  IKCP_CMD_PUSH,
  IKCP_CMD_WASK,
  IKCP_CMD_WINS,
  IKCP_OVERHEAD,
  Kcp,
} from "../../../listeners/kcp/kcp.ts";

/** Two engines whose datagrams go into each other's queue; `drop(i)` loses the i-th datagram a→b. */
function wire(drop: (i: number) => boolean = () => false) {
  const toB: Uint8Array[] = [], toA: Uint8Array[] = [];
  let sent = 0;
  const clock = { ms: 1000 };
  const now = () => clock.ms;
  const a = new Kcp(7, (buf, size) => {
    if (!drop(sent++)) toB.push(buf.slice(0, size));
  }, now);
  const b = new Kcp(7, (buf, size) => toA.push(buf.slice(0, size)), now);
  for (const k of [a, b]) {
    k.setNoDelay(1, 10, 2, 1);
    k.setWindow(128, 128);
  }
  /** Delivers until both queues are empty (each delivery may answer). */
  const pump = () => {
    for (let guard = 0; guard < 100_000 && (toA.length || toB.length); guard++) {
      const p = toB.shift();
      if (p) b.input(p, true, false);
      const q = toA.shift();
      if (q) a.input(q, true, false);
      if (!toA.length && !toB.length) {
        a.flush(false);
        b.flush(false);
      }
    }
  };
  return { a, b, toA, toB, pump, clock };
}

function drain(k: Kcp): Uint8Array {
  const out: number[] = [];
  const buf = new Uint8Array(700);
  for (let n; (n = k.recv(buf)) > 0;) out.push(...buf.subarray(0, n));
  return Uint8Array.from(out);
}

Deno.test("kcp engine: 200 KB arrive whole and in order although every 7th datagram is lost (fast resend, then RTO)", () => {
  const w = wire((i) => i % 7 === 3);
  const data = new Uint8Array(200_000).map((_, i) => (i * 13) & 0xff);
  const got: number[] = [];
  for (let off = 0; off < data.length; off += 10_000) {
    w.a.send(data.subarray(off, off + 10_000));
    w.a.flush(false);
    for (let round = 0; round < 50 && w.a.waitSnd() > 0; round++) {
      w.pump();
      got.push(...drain(w.b));
      w.a.flush(false);
    }
  }
  for (let round = 0; round < 200 && got.length < data.length; round++) {
    w.clock.ms += 50; // past the retransmission timeout of a lost tail segment
    w.a.flush(false);
    w.pump();
    got.push(...drain(w.b));
  }
  equal(got.length, data.length);
  deepEqual(Uint8Array.from(got), data);
  ok(w.a.counters.retransmits > 0, "losses were retransmitted");
  equal(w.a.waitSnd(), 0, "everything acknowledged");
});

Deno.test("kcp engine: reads in stream mode span segments and split them", () => {
  const w = wire();
  w.a.send(new Uint8Array(3000).fill(1));
  w.a.flush(false);
  w.pump();
  const small = new Uint8Array(100);
  equal(w.b.recv(small), 100);
  const big = new Uint8Array(10_000);
  equal(w.b.recv(big), 2900);
  equal(w.b.recv(big), 0);
});

Deno.test("kcp engine: a window probe (WASK) is answered with the window (WINS)", () => {
  const w = wire();
  w.a.probe |= 1;
  w.a.flush(false);
  const wask = w.toB.shift()!;
  equal(wask[4], IKCP_CMD_WASK);
  w.b.input(wask, true, false);
  w.b.flush(false);
  const wins = w.toA.shift()!;
  equal(wins[4], IKCP_CMD_WINS);
  equal(wins[6] | (wins[7] << 8), 128, "the window it announces");
});

Deno.test("kcp engine: a PUSH is acknowledged with its sn and ts; una moves past it", () => {
  const w = wire();
  w.a.send(Uint8Array.of(1, 2, 3));
  w.a.flush(false);
  const push = w.toB.shift()!;
  equal(push[4], IKCP_CMD_PUSH);
  w.b.input(push, true, false);
  w.b.flush(true);
  const ack = w.toA.shift()!;
  equal(ack[4], IKCP_CMD_ACK);
  deepEqual(ack.subarray(8, 16), push.subarray(8, 16), "ts and sn echoed");
  equal(new DataView(ack.buffer).getUint32(16, true), 1, "una: segment 0 received");
  w.a.input(ack, true, false);
  equal(w.a.waitSnd(), 0);
});

Deno.test("kcp engine: another conv, a len past the datagram and an unknown command are refused", () => {
  const k = new Kcp(7, () => {});
  const seg = (conv: number, cmd: number, len: number, extra = 0) => {
    const b = new Uint8Array(IKCP_OVERHEAD + extra);
    encodeHeader(b, 0, conv, cmd, 0, 32, 0, 0, 0, len);
    return b;
  };
  equal(k.input(seg(8, IKCP_CMD_PUSH, 0), true, false), -1);
  equal(k.input(seg(7, IKCP_CMD_PUSH, 0xffffffff, 10), true, false), -2);
  equal(k.input(seg(7, 99, 0), true, false), -3);
  equal(k.input(new Uint8Array(10), true, false), -1, "shorter than a header");
  equal(k.readable(), false);
  equal(k.input(seg(7, IKCP_CMD_PUSH, 4, 4), true, false), 0, "a good one still goes in");
  ok(k.readable());
});
