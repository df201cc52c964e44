/**
 * Shadowsocks 2022 over UDP (SIP022) in-process: our ssu connector ↔ our ssu handler for each 2022 method through a
 * UDP echo; on a raw socket, a replayed packet, a stale timestamp and a wrong PSK dropped without a reply (and
 * counted); the packets' headers opened by hand as SIP022 lays them out; the replay window and HChaCha20 on known
 * values.
 * @module
 */
import { createDecipheriv } from "node:crypto";
import { deepEqual, equal, ok } from "node:assert/strict";
import { closeQuietly } from "../../../core/conn.ts";
import { createLogger, MemorySink } from "../../../core/log.ts";
import { Metadata } from "../../../core/metadata.ts";
import { dialUdp } from "../../../core/udp.ts";
import { parseMethod } from "../../../handlers/ss/cipher.ts";
import { blake3Keys } from "../../../handlers/ss/ss2022/keys.ts";
import { clock } from "../../../handlers/ss/ss2022/preamble.ts";
import { decodeAddr } from "../../../handlers/socks5/wire.ts";
import { SsuConnector } from "../../../handlers/ssu/connector.ts";
import { SsuHandler } from "../../../handlers/ssu/handler.ts";
import { OwnSession, PacketWindow, REPLAY_WINDOW, seal2022, Udp2022Keys } from "../../../handlers/ssu/ss2022.ts";
import { hchacha20, xchachaOpen } from "../../../handlers/ssu/xchacha.ts";
import { concatBytes } from "../../helpers/io.ts";
import { pattern } from "../../helpers/mux_pair.ts";
import { udpEcho } from "../../helpers/servers.ts";
import { startService } from "../../helpers/service.ts";
import { until } from "../../helpers/wait.ts";

const METHODS = ["2022-blake3-aes-128-gcm", "2022-blake3-aes-256-gcm", "2022-blake3-chacha20-poly1305"];
const enc = new TextEncoder(), dec = new TextDecoder();
const toB64 = (b: Uint8Array) => btoa(String.fromCharCode(...b));
const pskFor = (method: string) => toB64(new Uint8Array(parseMethod(method).keySize).map((_, i) => i * 7 + 1));
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

async function serve(method: string, sink = new MemorySink()) {
  let h: SsuHandler | undefined;
  const svc = await startService({
    handler: (o) => (h = new SsuHandler(o)),
    listener: "udp",
    credentials: { username: method, password: pskFor(method) },
    logger: createLogger({ level: "debug" }, sink),
  });
  return { svc, handler: () => h!, sink };
}

for (const method of METHODS) {
  Deno.test(`ssu ${method}: our connector ↔ our handler, datagrams of 1, 1,400 and 3,000 bytes through an echo`, async () => {
    const echo = udpEcho("echo:");
    const { svc } = await serve(method);
    const c = new SsuConnector({
      logger: createLogger({ level: "error" }),
      auth: { username: method, password: pskFor(method) },
    });
    await c.init(new Metadata({}));
    const pc = await c.connectPacket(dialUdp("127.0.0.1", svc.port));
    try {
      for (const size of [1, 1400, 3000]) {
        const d = pattern(size, size);
        await pc.writeTo(d, { host: "127.0.0.1", port: echo.port });
        const got = await pc.readFrom();
        ok(got, "a reply");
        deepEqual(got.data, concatBytes([enc.encode("echo:"), d]), `${size} bytes`);
        deepEqual(got.addr, { host: "127.0.0.1", port: echo.port });
      }
    } finally {
      closeQuietly(pc);
      await svc.close();
      echo.close();
    }
  });
}

/** The plaintext of a packet (separate header ‖ main header ‖ …), opened by hand with the PSK. */
function openByHand(method: string, psk: Uint8Array, pkt: Uint8Array): Uint8Array {
  const spec = parseMethod(method);
  if (spec.kind === "chacha20-poly1305") return xchachaOpen(psk, pkt.subarray(0, 24), pkt.subarray(24))!;
  const ecb = createDecipheriv(psk.length === 16 ? "aes-128-ecb" : "aes-256-ecb", psk, null).setAutoPadding(false);
  const sep = new Uint8Array(ecb.update(pkt.subarray(0, 16)));
  const key = blake3Keys(spec, psk).subkey(sep.subarray(0, 8));
  const alg = key.length === 16 ? "aes-128-gcm" : "aes-256-gcm";
  const d = createDecipheriv(alg, key, sep.subarray(4, 16), { authTagLength: 16 });
  d.setAuthTag(pkt.subarray(pkt.length - 16));
  const body = d.update(pkt.subarray(16, pkt.length - 16));
  d.final();
  return concatBytes([sep, new Uint8Array(body)]);
}

for (const method of ["2022-blake3-aes-128-gcm", "2022-blake3-chacha20-poly1305"]) {
  Deno.test(`ssu ${method}: headers opened by hand; a replay, a stale timestamp and a wrong PSK dropped and counted`, async () => {
    const echo = udpEcho("echo:");
    const { svc, handler, sink } = await serve(method);
    const keys = new Udp2022Keys(parseMethod(method), pskFor(method));
    const sock = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
    const server: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port: svc.port };
    const to = { host: "127.0.0.1", port: echo.port };
    const own = new OwnSession();
    try {
      // the client's packet as SIP022 lays it out
      const first = await seal2022(keys, own, to, enc.encode("one"));
      const p = openByHand(method, keys.psk, first);
      const dv = new DataView(p.buffer, p.byteOffset, p.length);
      equal(hex(p.subarray(0, 8)), hex(own.id), "session id");
      equal(dv.getBigUint64(8), 0n, "packet id");
      equal(p[16], 0, "type");
      ok(Math.abs(Number(dv.getBigUint64(17)) - Date.now() / 1000) < 5, "timestamp");
      equal(dv.getUint16(25), 0, "padding length");
      const { addr, end } = decodeAddr(p.subarray(27));
      deepEqual(addr, to);
      equal(dec.decode(p.subarray(27 + end)), "one");

      await sock.send(crypto.getRandomValues(new Uint8Array(100)), server); // garbage first
      await sock.send(first, server);
      const [r1] = await sock.receive();
      const q = openByHand(method, keys.psk, r1);
      const qv = new DataView(q.buffer, q.byteOffset, q.length);
      ok(hex(q.subarray(0, 8)) !== hex(own.id), "the server's own session id");
      equal(qv.getBigUint64(8), 0n, "the server's first packet id");
      equal(q[16], 1, "type");
      ok(Math.abs(Number(qv.getBigUint64(17)) - Date.now() / 1000) < 5, "timestamp");
      equal(hex(q.subarray(25, 33)), hex(own.id), "the client session id");
      equal(qv.getUint16(33), 0, "padding length");
      const back = decodeAddr(q.subarray(35));
      deepEqual(back.addr, to, "the reply names its source");
      equal(dec.decode(q.subarray(35 + back.end)), "echo:one");

      // the same packet again, then one 60 s stale, then one under another PSK: none answered
      await sock.send(first, server);
      const real = clock.now;
      clock.now = () => real() - 60;
      const stale = await seal2022(keys, own, to, enc.encode("stale"));
      clock.now = real;
      await sock.send(stale, server);
      const other = new Udp2022Keys(keys.spec, toB64(new Uint8Array(keys.psk.length).fill(9)));
      await sock.send(await seal2022(other, new OwnSession(), to, enc.encode("other")), server);
      await sock.send(await seal2022(keys, own, to, enc.encode("two")), server);
      const [r2] = await sock.receive();
      const q2 = openByHand(method, keys.psk, r2);
      equal(new DataView(q2.buffer, q2.byteOffset).getBigUint64(8), 1n, "the server's second packet id");
      ok(dec.decode(q2).endsWith("echo:two"), "the next reply is the next good packet's");
      equal(handler().replays, 1);
      ok(handler().dropped >= 4, `dropped ${handler().dropped}`);
      await until(() => sink.lines.some((l) => l.includes("replayed packet id 0 (1 refused so far)")), "replay line");
      ok(sink.lines.some((l) => l.includes("timestamp -60 s off")), "the stale line");
      ok(sink.lines.some((l) => l.includes("wrong key or method")), "the wrong-key line");
    } finally {
      sock.close();
      await svc.close();
      echo.close();
    }
  });
}

Deno.test("ssu 2022: the packet-id window takes each id once, out of order, and nothing older than the window", () => {
  const w = new PacketWindow();
  ok(w.check(5n));
  ok(w.check(3n), "out of order");
  ok(!w.check(5n) && !w.check(3n), "each once");
  ok(w.check(4n));
  const far = 5n + BigInt(REPLAY_WINDOW);
  ok(w.check(far));
  ok(!w.check(5n), "too old");
  ok(w.check(far - 1n));
  ok(!w.check(far - 1n));
  ok(w.check(far + 10n * BigInt(REPLAY_WINDOW)), "a jump clears the window");
  ok(!w.check(far), "now too old");
});

Deno.test("ssu 2022: HChaCha20 gives draft-irtf-cfrg-xchacha's value", () => {
  const key = Uint8Array.from({ length: 32 }, (_, i) => i);
  const nonce = Uint8Array.from([0, 0, 0, 9, 0, 0, 0, 0x4a, 0, 0, 0, 0, 0x31, 0x41, 0x59, 0x27]);
  equal(hex(hchacha20(key, nonce)), "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc");
});
