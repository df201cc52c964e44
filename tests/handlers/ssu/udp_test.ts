/**
 * The ssu handler on a udp listener, in-process, from a raw UDP socket: garbage and a replayed packet get no reply
 * (the next reply is the next good packet's), replays are counted and logged; and the packet codec on raw bytes.
 * @module
 */
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { createLogger, MemorySink } from "../../../core/log.ts";
import { aeadKeys, parseMethod } from "../../../handlers/ss/cipher.ts";
import { SaltFilter } from "../../../handlers/ss/salt_filter.ts";
import { SsuHandler } from "../../../handlers/ssu/handler.ts";
import { openPacket, PacketError, sealPacket } from "../../../handlers/ssu/packet.ts";
import { udpEcho } from "../../helpers/servers.ts";
import { startService } from "../../helpers/service.ts";
import { until } from "../../helpers/wait.ts";

const enc = new TextEncoder(), dec = new TextDecoder();

for (const method of ["aes-128-gcm", "aes-192-gcm", "aes-256-gcm", "chacha20-ietf-poly1305"]) {
  Deno.test(`ssu packet ${method}: sealed and opened; a wrong key, a flipped bit, a short packet and a replay refused`, async () => {
    const keys = aeadKeys(parseMethod(method), "pw");
    const pkt = await sealPacket(keys, { host: "example.com", port: 53 }, enc.encode("query"));
    equal(pkt.length, keys.spec.saltSize + 2 + 11 + 2 + 5 + 16);
    const salts = new SaltFilter();
    const got = await openPacket(keys, pkt, salts);
    deepEqual(got.addr, { host: "example.com", port: 53 });
    equal(dec.decode(got.payload), "query");
    await rejects(openPacket(keys, pkt, salts), (e) => e instanceof PacketError && e.replay);
    await rejects(openPacket(aeadKeys(parseMethod(method), "other"), pkt), PacketError);
    const flipped = pkt.slice();
    flipped[flipped.length - 20] ^= 1;
    await rejects(openPacket(keys, flipped), PacketError);
    await rejects(openPacket(keys, pkt.subarray(0, keys.spec.saltSize + 10)), PacketError);
  });
}

Deno.test("ssu handler: garbage and a replayed packet get no reply; replays are counted and logged", async () => {
  const echo = udpEcho("echo:");
  const sink = new MemorySink();
  let h: SsuHandler | undefined;
  await using svc = await startService({
    handler: (o) => (h = new SsuHandler(o)),
    listener: "udp",
    credentials: { username: "chacha20-ietf-poly1305", password: "pw" },
    logger: createLogger({ level: "debug" }, sink),
  });
  const keys = aeadKeys(parseMethod("chacha20-ietf-poly1305"), "pw");
  const sock = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const server: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port: svc.port };
  const to = { host: "127.0.0.1", port: echo.port };
  /** The payload of the next reply that opens. */
  const reply = async () => {
    const [d] = await sock.receive();
    return dec.decode((await openPacket(keys, d)).payload);
  };
  try {
    const first = await sealPacket(keys, to, enc.encode("one"));
    await sock.send(crypto.getRandomValues(new Uint8Array(100)), server); // garbage first
    await sock.send(first, server);
    equal(await reply(), "echo:one");
    await sock.send(first, server); // the same packet again
    await sock.send(await sealPacket(keys, to, enc.encode("two")), server);
    equal(await reply(), "echo:two", "the replay got an answer");
    equal(h!.replays, 1);
    ok(h!.dropped >= 2, `dropped ${h!.dropped}`);
    await until(() => sink.lines.some((l) => l.includes("replayed salt (1 refused so far)")), "the replay log line");
  } finally {
    sock.close();
    echo.close();
  }
});
