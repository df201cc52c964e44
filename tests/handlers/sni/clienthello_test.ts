/**
 * The SNI proxy's ClientHello codec on real ClientHellos (captured from node:tls and openssl clients) and on broken
 * ones, GOST's hidden-name encoding against vectors computed with Python's zlib and base64, and the cover/uncover
 * round trip (byte for byte).
 */
import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import { HandshakeReader } from "../../../core/bufio.ts";
import { concatBytes } from "../../../core/bytes.ts";
import { PrefixConn } from "../../../core/conn.ts";
import { HandshakeError, UnexpectedEofError } from "../../../core/errors.ts";
import { readClientHello } from "../../../core/tls_client_hello.ts";
import {
  EXT_GOST_TARGET,
  EXT_SERVER_NAME,
  extensionData,
  frameRecords,
  helloMessage,
  locateExtensions,
  MAX_HELLO_BYTES,
  MAX_RECORD_BYTES,
} from "../../../handlers/sni/clienthello.ts";
import { coverHello, coverHttpHead, hiddenTarget, uncoverHello } from "../../../handlers/sni/cover.ts";
import { crc32, decodeTargetName, encodeTargetName } from "../../../handlers/sni/target_name.ts";
import { memConnPair } from "../../helpers/mem_conn.ts";
import { captureClientHello } from "../../helpers/sni_origins.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Reads a ClientHello from bytes (an in-memory conn that ends after them) as the SNI handler does. */
async function readFrom(bytes: Uint8Array) {
  const [a, b] = memConnPair();
  await a.write(bytes);
  await a.closeWrite();
  const { hello, raw } = await readClientHello(new HandshakeReader(b), MAX_HELLO_BYTES);
  return { hello, raw, message: helloMessage(raw), recordVersion: (raw[1] << 8) | raw[2] };
}

Deno.test("GOST's hidden name encoding matches vectors from Python's zlib.crc32 and base64", () => {
  equal(crc32(enc.encode("123456789")), 0xcbf43926);
  equal(encodeTargetName("example.com"), "tvpOuVpYaGhiWEJzWlM1amIyMA");
  equal(encodeTargetName("a.test:8443"), "Kqjd1FlTNTBaWE4wT2pnME5ETQ");
  equal(decodeTargetName("tvpOuVpYaGhiWEJzWlM1amIyMA"), "example.com");
  equal(decodeTargetName("uvpOuVpYaGhiWEJzWlM1amIyMA"), null, "a changed character fails the checksum");
  equal(decodeTargetName("not base64!"), null);
  equal(decodeTargetName("AAAA"), null, "too short");
  equal(hiddenTarget(encodeTargetName("A.Test:8443")), "a.test:8443");
  equal(hiddenTarget(encodeTargetName("a.test:99999")), null, "a port out of range");
  equal(hiddenTarget(encodeTargetName("bad name/x")), null, "not a host name");
});

Deno.test("a node:tls ClientHello is read whole and its server_name found", async () => {
  const raw = await captureClientHello("Origin.Test");
  const hello = await readFrom(raw);
  deepEqual(hello.raw, raw);
  equal(hello.hello.serverName, "origin.test", "lower-cased (core/tls_client_hello.ts)");
  const parsed = locateExtensions(hello.message);
  equal(parsed.serverName, "origin.test", "lower-cased");
  ok(parsed.extensions.some((e) => e.type === 0x10), "ALPN extension located");
  equal(frameRecords(hello.message, hello.recordVersion).length, raw.length, "one record, framed the same");
});

Deno.test("cover then uncover gives the ClientHello back byte for byte; the covered one names the cover", async () => {
  for (const name of ["origin.test", "a-much-longer-name.example.org"]) {
    const { message } = await readFrom(await captureClientHello(name));
    const hello = locateExtensions(message);
    const covered = coverHello(message, hello, "cover.example")!;
    const ch = locateExtensions(covered);
    equal(ch.serverName, "cover.example");
    equal(ch.extensions.at(-1)!.type, EXT_GOST_TARGET, "0xFFFE appended last");
    equal(dec.decode(extensionData(covered, ch, EXT_GOST_TARGET)), encodeTargetName(name));
    const back = uncoverHello(covered, ch)!;
    equal(back.target, name);
    deepEqual(back.message, message, "restored exactly");
    equal(uncoverHello(message, hello), null, "nothing hidden in the original");
    equal(coverHello(covered, ch, "x.example"), null, "already covered: left alone");
  }
});

Deno.test("a ClientHello split over several records is reassembled, and framed again in 16 KiB records", async () => {
  const { message, recordVersion } = await readFrom(await captureClientHello("split.test"));
  const parts = [message.subarray(0, 7), message.subarray(7, 100), message.subarray(100)];
  const raw = concatBytes(parts.flatMap((p) => [new Uint8Array([0x16, 3, 1, p.length >> 8, p.length & 0xff]), p]));
  const hello = await readFrom(raw);
  deepEqual(hello.message, message);
  equal(locateExtensions(hello.message).serverName, "split.test");
  equal(frameRecords(new Uint8Array(MAX_RECORD_BYTES + 1), recordVersion).length, MAX_RECORD_BYTES + 1 + 10);
});

Deno.test("broken ClientHellos are refused with a HandshakeError naming why", async () => {
  const raw = await captureClientHello("origin.test");
  await rejects(readFrom(raw.subarray(0, raw.length >> 1)), UnexpectedEofError, "cut in half");
  await rejects(readFrom(raw.subarray(0, 3)), UnexpectedEofError, "cut in the record header");
  await rejects(readFrom(new Uint8Array([0x16, 3, 1, 0x40, 0x01])), /TLS record of 16385 bytes/, "record over the cap");
  await rejects(readFrom(new Uint8Array([0x16, 3, 1, 0, 0])), /TLS record of 0 bytes/);
  await rejects(readFrom(new Uint8Array([0x16, 3, 1, 0, 4, 2, 0, 0, 0])), /type 2, not a ClientHello/);
  await rejects(
    readFrom(new Uint8Array([0x16, 3, 1, 0, 4, 1, 1, 0, 1])),
    /ClientHello of 65537 bytes/,
    "a message over 64 KiB",
  );
  // a record of another type in the middle of the message
  const bad = concatBytes([
    new Uint8Array([0x16, 3, 1, 0, 10]),
    raw.subarray(5, 15),
    new Uint8Array([0x17, 3, 3, 0, 1, 0]),
  ]);
  await rejects(readFrom(bad), /expected a TLS handshake record, got type 0x17/);
  // lengths that run past their containers
  const { message } = await readFrom(raw);
  const h = locateExtensions(message);
  const sni = h.extensions.find((e) => e.type === EXT_SERVER_NAME)!;
  const m1 = message.slice();
  m1[sni.start + 3] += 50; // the server_name extension claims more than there is
  throws(() => locateExtensions(m1), HandshakeError);
  const m2 = message.slice();
  m2[sni.start + 9] = 0x2f; // a '/' in the name
  throws(() => locateExtensions(m2), /is not a host name/);
  throws(() => locateExtensions(message.subarray(0, 40)), HandshakeError);
  throws(() => locateExtensions(enc.encode("GET / HTTP/1.1\r\n\r\n")), /not a ClientHello/);
  throws(() => locateExtensions(message.slice(0, message.length - 1)), HandshakeError, "one byte short");
});

Deno.test("the read stops at the end of the ClientHello: later bytes stay for the relay", async () => {
  const raw = await captureClientHello("origin.test");
  const [a, b] = memConnPair();
  await a.write(concatBytes([raw, enc.encode("early")]));
  const r = new HandshakeReader(b);
  await readClientHello(r);
  const rest = new Uint8Array(16);
  const conn = new PrefixConn(r.conn(), new Uint8Array(0));
  const n = await conn.read(rest);
  equal(dec.decode(rest.subarray(0, n!)), "early");
  a.close();
  b.close();
});

Deno.test("an HTTP head is covered as GOST's connector does: Host replaced, Gost-Target added after it", () => {
  const head = enc.encode("GET /x HTTP/1.1\r\nAccept: */*\r\nhost:  a.test:8080 \r\nX: y\r\n\r\n");
  const out = dec.decode(coverHttpHead(head, "cover.example")!);
  equal(
    out,
    `GET /x HTTP/1.1\r\nAccept: */*\r\nHost: cover.example\r\nGost-Target: ${
      encodeTargetName("a.test:8080")
    }\r\nX: y\r\n\r\n`,
  );
  equal(coverHttpHead(enc.encode("GET / HTTP/1.0\r\n\r\n"), "c.example"), null, "no Host: nothing to cover");
});
