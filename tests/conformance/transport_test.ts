/**
 * The transport conformance suite: every registered listener/dialer pair (a listener and a dialer of the same name)
 * must pass it, in-process over loopback. Byte streams: echo, half-close both ways, 1,000 concurrent conns, a
 * 100 MB transfer whose sha256 matches, the peer vanishing mid-stream, and listener close semantics. Datagram
 * transports: echo, 1,000 concurrent sessions, datagrams kept whole, close semantics. A transport that cannot run
 * here is in {@link SKIP} with its reason; a new transport is picked up by registering it (listeners/mod.ts).
 * @module
 */
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { createHash } from "node:crypto";
import { type Conn, nextDatagram, writeFull } from "../../core/conn.ts";
import { nopLogger } from "../../core/log.ts";
import { Metadata } from "../../core/metadata.ts";
import { type Dialer, type Listener, ListenerClosedError } from "../../core/contracts.ts";
import { createRegistries } from "../../core/registries.ts";
import { MuxSessions } from "../../core/routing/mux_sessions.ts";
import { DefaultRouter } from "../../core/routing/router.ts";
import { registerListeners } from "../../listeners/mod.ts";
import { eventually } from "../helpers/wait.ts";
import { datagramRoundTrip, readAll } from "../helpers/io.ts";

/** Transports that are registered but cannot be run pairwise here, and why. */
const SKIP: Record<string, string> = {
  rtcp: "a reverse listener: it listens on the far end of a chain (tests/e2e/remote_forward_test.ts)",
  rudp: "a reverse listener: it listens on the far end of a chain (tests/e2e/remote_forward_test.ts)",
  http2: "GOST's HTTP/2 proxy transport: the listener's conns are requests the http2 handler answers and the " +
    "dialer's conns are sessions for the http2 connector, no bytes without them (tests/conformance/proxy_test.ts " +
    "runs it with its handler and connector; tests/e2e/http2_test.ts)",
  dns: "a DNS server front end: its conns are DNS queries for the dns handler, no dialer speaks it " +
    "(tests/e2e/dns_proxy_test.ts with dig +tcp/+tls/+https, tests/handlers/dns/handler_test.ts)",
};

const CONCURRENT = 1000;
const BULK_BYTES = 100 * 1024 * 1024;
const enc = new TextEncoder();
const dec = new TextDecoder();

const reg = createRegistries();
registerListeners(reg); // each transport registers its listener and its dialer
const pairs = reg.listeners.names().filter((n) => reg.dialers.has(n) && !(n in SKIP));
/** Pairs whose dialer multiplexes: their conns are streams of one session (see {@link streams}). */
const MULTIPLEXED = new Set(
  (await Promise.all(pairs.map(async (n) => (await reg.dialers.mustGet(n)({ logger: nopLogger })).multiplex ? n : "")))
    .filter(Boolean),
);

/** A listener of `type` on an ephemeral loopback port, and a dialer of the same type aimed at it. */
async function pair(type: string): Promise<{ ln: Listener; dialer: Dialer; addr: string }> {
  const ln = await reg.listeners.mustGet(type)({
    addr: "127.0.0.1:0",
    logger: nopLogger,
    service: `conformance-${type}`,
    router: new DefaultRouter({}),
  });
  await ln.init(new Metadata({}));
  const dialer = await reg.dialers.mustGet(type)({ logger: nopLogger });
  await dialer.init(new Metadata({}));
  return {
    ln,
    dialer: dialer.multiplex ? streams(dialer) : dialer,
    addr: `127.0.0.1:${(ln.addr as Deno.NetAddr).port}`,
  };
}

/** A multiplexing dialer as a chain uses it: every conn is a stream of one session to the listener. */
function streams(d: Dialer): Dialer {
  const sessions = new MuxSessions<Dialer>();
  return {
    init: (md) => d.init(md),
    dial: async (addr) => {
      const { session } = await sessions.session(d, async () => await d.multiplex!(await d.dial(addr), addr));
      return await session.open();
    },
  };
}

/** Accepts until the listener closes, serving each conn with `serve` (errors end that conn only). */
function serveAll(ln: Listener, serve: (c: Conn) => Promise<void>): Promise<void> {
  return (async () => {
    for (;;) {
      let c: Conn;
      try {
        c = await ln.accept();
      } catch {
        return;
      }
      serve(c).catch(() => {}).finally(() => {
        try {
          c.close();
        } catch { /* closed */ }
      });
    }
  })();
}

/** Echoes a stream until EOF, then half-closes. */
async function echoStream(c: Conn): Promise<void> {
  const buf = new Uint8Array(64 * 1024);
  for (;;) {
    const n = await c.read(buf);
    if (n === null) break;
    await writeFull(c, buf.subarray(0, n));
  }
  await c.closeWrite();
}

/** Echoes datagrams until the session ends. */
async function echoDatagrams(c: Conn): Promise<void> {
  for (;;) {
    const d = await nextDatagram(c);
    if (d === null) return;
    await c.write(d);
  }
}

/** Listener close: a pending accept and later accepts reject with ListenerClosedError; new dials fail. */
async function closeSemantics(ln: Listener, dialer: Dialer, addr: string, datagram: boolean): Promise<void> {
  const pending = ln.accept();
  ln.close();
  await rejects(pending, ListenerClosedError);
  await rejects(ln.accept(), ListenerClosedError);
  if (!datagram) await rejects(dialer.dial(addr));
}

for (const type of pairs) {
  Deno.test(`transport conformance: ${type}`, async (t) => {
    const { ln, dialer, addr } = await pair(type);
    const served = serveAll(ln, (c) => c.datagram ? echoDatagrams(c) : echoStream(c));
    try {
      const probe = await dialer.dial(addr);
      const datagram = probe.datagram === true;
      probe.close();
      if (datagram) {
        await t.step("echo", async () => {
          const c = await dialer.dial(addr);
          try {
            await c.write(enc.encode(`${type} datagram`));
            equal(dec.decode((await nextDatagram(c))!), `${type} datagram`);
          } finally {
            c.close();
          }
        });
        await t.step("datagrams are kept whole (1, 1,400 and 60,000 bytes)", async () => {
          const c = await dialer.dial(addr);
          try {
            for (const size of [1, 1400, 60_000]) {
              const d = new Uint8Array(size).map((_, i) => (i * 7 + size) & 0xff);
              deepEqual(await datagramRoundTrip(c, d), d, `${size}-byte datagram`);
            }
          } finally {
            c.close();
          }
        });
        await t.step(`${CONCURRENT} concurrent sessions`, async () => {
          const ok1 = await Promise.all(Array.from({ length: CONCURRENT }, async (_, i) => {
            const c = await dialer.dial(addr);
            try {
              await c.write(enc.encode(`s${i}`));
              return dec.decode((await nextDatagram(c))!) === `s${i}`;
            } finally {
              c.close();
            }
          }));
          equal(ok1.filter(Boolean).length, CONCURRENT);
        });
      } else {
        await t.step("echo", async () => {
          const c = await dialer.dial(addr);
          try {
            await writeFull(c, enc.encode(`${type} ping`));
            await c.closeWrite();
            equal(dec.decode(await readAll(c)), `${type} ping`);
          } finally {
            c.close();
          }
        });
        await t.step(
          "half-close both ways: the reply comes after the client's EOF, then the server's EOF",
          async () => {
            const { ln: ln2, dialer: d2, addr: a2 } = await pair(type);
            const done = serveAll(ln2, async (c) => {
              const got = dec.decode(await readAll(c)); // until the client's EOF
              await writeFull(c, enc.encode(`after eof: ${got}`));
              await c.closeWrite();
              equal(await c.read(new Uint8Array(1)), null);
            });
            try {
              const c = await d2.dial(a2);
              try {
                await writeFull(c, enc.encode("question"));
                await c.closeWrite();
                equal(dec.decode(await readAll(c)), "after eof: question");
              } finally {
                c.close();
              }
            } finally {
              ln2.close();
              await done;
            }
          },
        );
        await t.step(`${CONCURRENT} concurrent conns`, async () => {
          const results = await Promise.all(Array.from({ length: CONCURRENT }, async (_, i) => {
            const c = await dialer.dial(addr);
            try {
              await writeFull(c, enc.encode(`conn ${i}`));
              await c.closeWrite();
              return dec.decode(await readAll(c)) === `conn ${i}`;
            } finally {
              c.close();
            }
          }));
          equal(results.filter(Boolean).length, CONCURRENT);
        });
        await t.step("100 MB each way, sha256 matching", async () => {
          const c = await dialer.dial(addr);
          try {
            const chunk = new Uint8Array(1024 * 1024).map((_, i) => (i * 31) & 0xff);
            const sent = createHash("sha256");
            const got = createHash("sha256");
            let received = 0;
            const reader = (async () => {
              const buf = new Uint8Array(256 * 1024);
              for (;;) {
                const n = await c.read(buf);
                if (n === null) return;
                got.update(buf.subarray(0, n));
                received += n;
              }
            })();
            for (let off = 0; off < BULK_BYTES; off += chunk.length) {
              chunk[0] = off & 0xff; // each MiB differs
              sent.update(chunk);
              await writeFull(c, chunk);
            }
            await c.closeWrite();
            await reader;
            equal(received, BULK_BYTES);
            equal(got.digest("hex"), sent.digest("hex"));
          } finally {
            c.close();
          }
        });
        await t.step(
          "the peer vanishing mid-stream ends the client's read (EOF or an error), never a hang",
          async () => {
            const { ln: ln2, dialer: d2, addr: a2 } = await pair(type);
            let accepted = false;
            const done = serveAll(ln2, async (c) => {
              accepted = true;
              await c.read(new Uint8Array(16));
              await writeFull(c, new Uint8Array(32 * 1024));
              c.close(); // gone, without a half-close
            });
            try {
              const c = await d2.dial(a2);
              try {
                await writeFull(c, enc.encode("hello"));
                const ended = (async () => {
                  const buf = new Uint8Array(64 * 1024);
                  try {
                    while ((await c.read(buf)) !== null);
                  } catch {
                    // a reset: also an end
                  }
                  return true;
                })();
                ok(await ended);
                ok(accepted);
                // writes fail once the peer is gone (possibly after the kernel's buffer took a few). Not on a stream
                // of a multiplexed session: its end (an smux FIN) is also its half-close, so the session goes on
                // and the peer drops what comes after it (docs/wire.md, "smux").
                if (!MULTIPLEXED.has(type)) {
                  ok(
                    await eventually(async () => {
                      try {
                        await c.write(new Uint8Array(64 * 1024));
                        return false;
                      } catch {
                        return true;
                      }
                    }, 10_000),
                    "writes to a vanished peer never failed",
                  );
                }
              } finally {
                c.close();
              }
            } finally {
              ln2.close();
              await done;
            }
          },
        );
      }
      await t.step("listener close: pending and later accepts reject, new dials fail", async () => {
        const { ln: ln2, dialer: d2, addr: a2 } = await pair(type);
        await closeSemantics(ln2, d2, a2, datagram);
      });
    } finally {
      ln.close();
      await served;
    }
  });
}

Deno.test("transport conformance covers every registered pair or names why not", () => {
  const listeners = reg.listeners.names();
  for (const n of listeners) ok(pairs.includes(n) || n in SKIP, `listener ${n} has no dialer and no skip reason`);
  ok(pairs.length >= 3, `pairs: ${pairs}`);
});
