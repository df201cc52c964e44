import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { MuxSession } from "../../../core/mux/session.ts";
import { MuxListener } from "../../../core/mux/listener.ts";
import { DEFAULT_MUX_CONFIG, muxConfig, parseMuxConfig } from "../../../core/mux/config.ts";
import { Metadata } from "../../../core/metadata.ts";
import { ListenerClosedError } from "../../../core/contracts.ts";
import { PrefixConn } from "../../../core/conn.ts";
import { readAll, readN, tcpPair, within, writeAll } from "../../helpers/mux_pair.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const bound: Deno.NetAddr = { transport: "tcp", hostname: "0.0.0.0", port: 2222 };

/** Prelude used by the tests: one line `host:port\n` naming the peer; bytes after it stay in the conn. */
const linePrelude = async (st: Parameters<ConstructorParameters<typeof MuxListener>[0]["prelude"]>[0]) => {
  const buf = new Uint8Array(256);
  let n = 0;
  for (;;) {
    const got = await st.read(buf.subarray(n));
    if (got === null) throw new Error("no prelude");
    n += got;
    const i = buf.subarray(0, n).indexOf(10);
    if (i >= 0) {
      const [hostname, port] = dec.decode(buf.subarray(0, i)).split(":");
      const peer: Deno.NetAddr = { transport: "tcp", hostname, port: Number(port) };
      return { conn: new PrefixConn(st, buf.slice(i + 1, n)), peer };
    }
  }
};

Deno.test("mux listener hands out streams with the peer and bound addresses, skipping bad ones", async () => {
  const [a, b] = await tcpPair();
  const opener = MuxSession.client(a);
  const ln = new MuxListener({
    session: MuxSession.server(b),
    addr: bound,
    prelude: linePrelude,
    preludeTimeoutMs: 200,
  });
  try {
    const silent = await opener.openStream(); // never sends its prelude: dropped after 200 ms
    const bad = await opener.openStream();
    await bad.closeWrite(); // EOF before the prelude: dropped
    const good = await opener.openStream();
    await writeAll(good, enc.encode("10.0.0.9:4321\nhello"));
    const c = await within(ln.accept(), 2000);
    deepEqual(c.remoteAddr, { transport: "tcp", hostname: "10.0.0.9", port: 4321 });
    deepEqual(c.localAddr, bound);
    equal(dec.decode(await readN(c, 5)), "hello");
    await c.write(enc.encode("back"));
    await c.closeWrite();
    equal(dec.decode(await within(readAll(good), 2000)), "back");
    equal(await within(silent.read(new Uint8Array(1)), 2000), null, "the silent stream is closed by the listener");
    c.close();
  } finally {
    ln.close();
    opener.close();
    await Promise.all([opener.done, ln.session.done]);
  }
});

Deno.test("mux listener: accept rejects with the tunnel error when the session ends, ListenerClosedError after close", async () => {
  const [a, b] = await tcpPair();
  const ln = new MuxListener({ session: MuxSession.server(b), addr: bound, prelude: linePrelude });
  const pending = ln.accept().then(() => null, (e: Error) => e);
  a.close();
  const err = await within(pending, 2000);
  equal(err?.name, "ConnectionReset");
  ok(/tunnel closed/.test(err!.message));
  ln.close();
  const after = await ln.accept().then(() => null, (e: Error) => e);
  ok(after instanceof ListenerClosedError);
  await ln.session.done;
});

Deno.test("mux config: GOST's mux.* keys over smux defaults, bad values refused", () => {
  deepEqual(parseMuxConfig(new Metadata({})), DEFAULT_MUX_CONFIG);
  const c = parseMuxConfig(
    new Metadata({
      "mux.version": 2,
      "mux.keepaliveInterval": "1s",
      "mux.keepAliveTimeout": "3s",
      "mux.maxFrameSize": 1000,
      "mux.maxStreamBuffer": 1 << 20,
    }),
  );
  deepEqual(
    [c.version, c.keepAliveIntervalMs, c.keepAliveTimeoutMs, c.maxFrameSize, c.maxStreamBuffer],
    [2, 1000, 3000, 1000, 1 << 20],
  );
  equal(parseMuxConfig(new Metadata({ "mux.version": 0 }), { version: 2 }).version, 2, "0 keeps the base");
  throws(() => parseMuxConfig(new Metadata({ "mux.version": 3 })), /mux.version/);
  throws(() => parseMuxConfig(new Metadata({ "mux.maxFrameSize": 70000 })), /mux.maxFrameSize/);
  throws(() => muxConfig({ keepAliveIntervalMs: 5000, keepAliveTimeoutMs: 1000 }), /keepaliveTimeout/);
});
