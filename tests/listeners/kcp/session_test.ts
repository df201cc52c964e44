/**
 * kcp sessions under bad input, in-process over loopback: garbage datagrams are dropped and counted while a session
 * goes on, an absurd segment `len` is refused without ending the session, a session whose peer vanished ends after its
 * idle timeout (its timer stopped: the test sanitizers would see it), the accept backlog bounds sessions nobody takes,
 * and a listener and dialer close cleanly.
 */
import { equal, ok, rejects } from "node:assert/strict";
import { type Conn, writeFull } from "../../../core/conn.ts";
import { TimeoutError } from "../../../core/errors.ts";
import { nopLogger } from "../../../core/log.ts";
import { Metadata } from "../../../core/metadata.ts";
import { DefaultRouter } from "../../../core/routing/router.ts";
import { KCP_DEFAULTS } from "../../../listeners/kcp/config.ts";
import { CRYPT_HEADER_SIZE, deriveKey, packetCipher, seal } from "../../../listeners/kcp/crypt.ts";
import { KcpDialer } from "../../../listeners/kcp/dialer.ts";
import { encodeHeader, IKCP_CMD_PUSH, IKCP_CMD_WASK, IKCP_OVERHEAD } from "../../../listeners/kcp/kcp.ts";
import { ACCEPT_BACKLOG, KcpListener } from "../../../listeners/kcp/listener.ts";
import { KcpSession } from "../../../listeners/kcp/session.ts";
import { readExactly } from "../../helpers/io.ts";
import { until } from "../../helpers/wait.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

async function listener(
  md: Record<string, unknown> = {},
): Promise<{ ln: KcpListener; port: number; done: Promise<void> }> {
  const ln = new KcpListener({
    addr: "127.0.0.1:0",
    logger: nopLogger,
    service: "kcp-test",
    router: new DefaultRouter({}),
  });
  await ln.init(new Metadata(md));
  const done = (async () => {
    for (;;) {
      let c: Conn;
      try {
        c = await ln.accept();
      } catch {
        return;
      }
      (async () => {
        const b = new Uint8Array(4096);
        for (;;) {
          const n = await c.read(b);
          if (n === null) break;
          await writeFull(c, b.subarray(0, n));
        }
      })().catch(() => {}).finally(() => c.close());
    }
  })();
  return { ln, port: (ln.addr as Deno.NetAddr).port, done };
}

Deno.test("kcp listener: garbage datagrams are dropped and counted; the session in progress goes on", async () => {
  const { ln, port, done } = await listener();
  const d = new KcpDialer({ logger: nopLogger });
  await d.init(new Metadata({}));
  const session = await d.multiplex(await d.dial(`127.0.0.1:${port}`));
  const junk = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  try {
    const s = await session.open();
    await writeFull(s, enc.encode("before"));
    equal(dec.decode(await readExactly(s, 6)), "before");
    // in batches the socket's buffer holds (Deno cannot enlarge it), each counted before the next
    for (let batch = 1; batch <= 25; batch++) {
      for (let i = 0; i < 20; i++) {
        const g = crypto.getRandomValues(new Uint8Array(20 + ((batch * 20 + i) * 37) % 1400));
        await junk.send(g, { transport: "udp", hostname: "127.0.0.1", port });
      }
      await until(() => ln.badDatagrams >= batch * 20, `${batch * 20} bad datagrams counted`);
    }
    await writeFull(s, enc.encode("after"));
    equal(dec.decode(await readExactly(s, 5)), "after");
    equal(ln.sessions, 1, "no session was opened by the garbage");
    s.close();
  } finally {
    junk.close();
    session.close();
    ln.close();
    await done;
  }
});

/** A session over nothing: what it sends is dropped. */
function lonelySession(idleTimeoutMs: number): KcpSession {
  const addr: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port: 9 };
  return new KcpSession({
    conv: 42,
    config: { ...KCP_DEFAULTS, datashard: 0, parityshard: 0 },
    cipher: packetCipher("none", deriveKey("")),
    send: () => {},
    localAddr: addr,
    remoteAddr: addr,
    idleTimeoutMs,
  });
}

Deno.test("kcp session: a peer that vanished ends the session at the idle timeout; reads fail, the timer stops", async () => {
  const s = lonelySession(150);
  await writeFull(s, enc.encode("into the void"));
  const heard = await s.nextInput();
  equal(heard, false, "the session ended without a word from the peer");
  ok(s.closed);
  await rejects(
    s.read(new Uint8Array(10)),
    (e: Error) => e instanceof TimeoutError && /nothing received/.test(e.message),
  );
  await rejects(s.write(enc.encode("x")));
});

Deno.test("kcp session: an absurd segment len is refused and counted; the session goes on", async () => {
  const s = lonelySession(60_000);
  try {
    const bad = new Uint8Array(IKCP_OVERHEAD + 8);
    encodeHeader(bad, 0, 42, IKCP_CMD_PUSH, 0, 32, 0, 0, 0, 0xffffffff);
    equal(s.input(bad), false);
    equal(s.figures().inputErrors, 1);
    const good = new Uint8Array(IKCP_OVERHEAD + 2);
    encodeHeader(good, 0, 42, IKCP_CMD_PUSH, 0, 32, 0, 0, 0, 2);
    good.set([0x68, 0x69], IKCP_OVERHEAD);
    equal(s.input(good), true);
    equal(dec.decode(await readExactly(s, 2)), "hi");
    ok(!s.closed);
  } finally {
    s.close();
  }
});

Deno.test("kcp listener: at most the accept backlog of sessions wait to be taken; more are dropped", async () => {
  const ln = new KcpListener({
    addr: "127.0.0.1:0",
    logger: nopLogger,
    service: "kcp-test",
    router: new DefaultRouter({}),
  });
  await ln.init(new Metadata({ "kcp.crypt": "none", config: { datashard: 0, parityshard: 0 } }));
  const port = (ln.addr as Deno.NetAddr).port;
  const cipher = packetCipher("none", deriveKey(""));
  const socks: Deno.DatagramConn[] = [];
  try {
    for (let i = 0; i < ACCEPT_BACKLOG + 5; i++) {
      const sock = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
      socks.push(sock);
      const p = new Uint8Array(CRYPT_HEADER_SIZE + IKCP_OVERHEAD);
      encodeHeader(p, CRYPT_HEADER_SIZE, 1000 + i, IKCP_CMD_WASK, 0, 32, 0, 0, 0, 0);
      seal(p, cipher);
      await sock.send(p, { transport: "udp", hostname: "127.0.0.1", port });
    }
    await until(() => ln.sessions === ACCEPT_BACKLOG, `${ACCEPT_BACKLOG} sessions`);
    // the last five arrive after the backlog filled: each was dropped (a later datagram of theirs would be too)
    const more = socks.at(-1)!;
    const p = new Uint8Array(CRYPT_HEADER_SIZE + IKCP_OVERHEAD);
    encodeHeader(p, CRYPT_HEADER_SIZE, 99, IKCP_CMD_WASK, 0, 32, 0, 0, 0, 0);
    seal(p, cipher);
    await more.send(p, { transport: "udp", hostname: "127.0.0.1", port });
    equal(ln.sessions, ACCEPT_BACKLOG);
  } finally {
    for (const s of socks) s.close();
    ln.close();
  }
  equal(ln.sessions, 0, "closing the listener ends its sessions");
});
