/**
 * A session's live figures (MuxSession.stats) against a raw TCP peer the test drives byte by byte, why it ended,
 * and MuxSessions counting ended sessions by reason and telling its onEnd hook.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { MuxSession } from "../../../core/mux/session.ts";
import { Cmd, encodeFrame, FrameReader, HELLO_SID } from "../../../core/mux/frame.ts";
import { TimeoutError } from "../../../core/errors.ts";
import { MuxSessions } from "../../../core/routing/mux_sessions.ts";
import { smuxClientSession } from "../../../listeners/mtcp/dialer.ts";
import type { MuxCloseReason } from "../../../core/contracts.ts";
import { readN, tcpPair, within, writeAll } from "../../helpers/mux_pair.ts";
import { until } from "../../helpers/wait.ts";

const enc = new TextEncoder();

Deno.test("mux stats: streams open/total, frame bytes each way, last frame and keep-alive received", async () => {
  const [a, raw] = await tcpPair();
  const s = MuxSession.server(a, { keepAliveDisabled: true });
  try {
    const fresh = s.stats("mtcp");
    deepEqual(
      [fresh.transport, fresh.streamsOpen, fresh.streamsTotal, fresh.bytesIn, fresh.bytesOut, fresh.lastReceivedAt],
      ["mtcp", 0, 0, 0, 0, null],
    );
    equal(fresh.keepaliveTimeoutMs, 0, "keep-alive disabled");
    await writeAll(raw, encodeFrame(1, Cmd.SYN, 3));
    await writeAll(raw, encodeFrame(1, Cmd.PSH, 3, enc.encode("hello")));
    const st = await within(s.acceptStream(), 2000);
    await readN(st, 5);
    await st.write(enc.encode("hi"));
    const r = new FrameReader(raw);
    deepEqual([(await within(r.next(1), 2000))?.sid], [HELLO_SID], "the hello first");
    equal((await within(r.next(1), 2000))?.cmd, Cmd.PSH);
    await writeAll(raw, encodeFrame(1, Cmd.NOP, 0));
    // the NOP is read once the session has read what came before it: wait for its mark
    await until(() => s.stats().lastKeepaliveAt !== null, "the NOP read", 2000);
    const now = s.stats();
    deepEqual([now.streamsOpen, now.streamsTotal], [1, 1]);
    equal(now.bytesIn, 8 + (8 + 5) + 8, "SYN, PSH(5), NOP with 8-byte headers");
    equal(now.bytesOut, 8 + 8 + 2, "hello, PSH(2)");
    ok(now.lastKeepaliveAt !== null && now.lastReceivedAt === now.lastKeepaliveAt);
    equal(now.closeReason, null);
    raw.close();
    await within(s.done, 2000);
    equal(s.closeReason, "peer");
  } finally {
    s.close();
    try {
      raw.close();
    } catch { /* closed */ }
  }
});

Deno.test("mux: a stream waiting on a silent peer fails with the keep-alive timeout; MuxSessions counts it", async () => {
  const [a, raw] = await tcpPair();
  const ended: [string, MuxCloseReason][] = [];
  const sessions = new MuxSessions<{ name: string }>({ onEnd: (k, _s, why) => ended.push([k.name, why]) });
  const key = { name: "node-0" };
  try {
    const { session } = await sessions.session(
      key,
      () => Promise.resolve(smuxClientSession(a, { keepAliveIntervalMs: 30, keepAliveTimeoutMs: 150 }, 0, "mtcp")),
    );
    equal(sessions.entries().length, 1);
    const stream = await session.open();
    const reading = stream.read(new Uint8Array(10)).then(() => null, (e: Error) => e);
    const err = await within(reading, 3000, "the waiting read");
    ok(err instanceof TimeoutError, String(err));
    ok(/keep-alive timeout/.test(err.message), err.message);
    await within(session.done, 2000);
    equal(session.stats?.().closeReason, "keepalive");
    deepEqual(ended, [["node-0", "keepalive"]]);
    deepEqual(sessions.endedCounts(), { keepalive: 1 });
    equal(sessions.entries().length, 0, "forgotten");
  } finally {
    sessions.close();
    raw.close();
  }
});
