import { deepEqual, equal, rejects, throws } from "node:assert/strict";
import { FieldTooLongError, HandshakeReader, UnexpectedEofError } from "../../../core/bufio.ts";
import type { Conn } from "../../../core/conn.ts";
import { BadVersionError, HandshakeError } from "../../../core/errors.ts";
import { Metadata } from "../../../core/metadata.ts";
import { formatIPv6, normalizeIP, parseIPv4, parseIPv6 } from "../../../core/ip.ts";
import { parseSocksMetadata } from "../../../handlers/socks5/metadata.ts";
import { DEFAULT_MUX_CONFIG } from "../../../core/mux/config.ts";
import {
  AddrTypeError,
  decodeAddr,
  decodeUdpHeader,
  encodeAddr,
  encodeGreeting,
  encodeMethodReply,
  encodeReply,
  encodeRequest,
  encodeUdpHeader,
  encodeUserPassReply,
  encodeUserPassRequest,
  readAddr,
  readGreeting,
  readReply,
  readRequest,
  readUserPassRequest,
} from "../../../handlers/socks5/wire.ts";
import { encodeSocks4Reply, encodeSocks4Request, readSocks4Request } from "../../../handlers/socks4/wire.ts";

const b = (...xs: (number | string)[]) =>
  Uint8Array.from(xs.flatMap((x) => typeof x === "string" ? [...new TextEncoder().encode(x)] : [x]));

/** A reader over fixed bytes, delivered `chunk` bytes per read to exercise partial reads. */
function reader(bytes: Uint8Array, chunk = 1): HandshakeReader {
  let off = 0;
  const conn: Conn = {
    localAddr: { transport: "tcp", hostname: "127.0.0.1", port: 1 },
    remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 2 },
    read(p) {
      if (off >= bytes.length) return Promise.resolve(null);
      const n = Math.min(chunk, p.length, bytes.length - off);
      p.set(bytes.subarray(off, off + n));
      off += n;
      return Promise.resolve(n);
    },
    write: (p) => Promise.resolve(p.length),
    closeWrite: () => Promise.resolve(),
    close() {},
  };
  return new HandshakeReader(conn, 16);
}

Deno.test("socks address block encodes IPv4, IPv6, IPv4-mapped, empty and domain hosts", () => {
  deepEqual(encodeAddr("127.0.0.1", 80), b(1, 127, 0, 0, 1, 0, 80));
  deepEqual(encodeAddr("::1", 443), b(4, ...new Array(15).fill(0), 1, 1, 187));
  deepEqual(encodeAddr("[2001:db8::1]", 1), b(4, 0x20, 1, 0x0d, 0xb8, ...new Array(11).fill(0), 1, 0, 1));
  deepEqual(encodeAddr("::ffff:10.0.0.2", 53), b(1, 10, 0, 0, 2, 0, 53));
  deepEqual(encodeAddr("", 0), b(1, 0, 0, 0, 0, 0, 0));
  deepEqual(encodeAddr("example.com", 8080), b(3, 11, "example.com", 0x1f, 0x90));
  deepEqual(encodeAddr("1.2.3", 1), b(3, 5, "1.2.3", 0, 1));
  throws(() => encodeAddr("x".repeat(256), 1), RangeError);
  throws(() => encodeAddr("a", 65536), RangeError);
});

Deno.test("socks address block decodes every type and rejects unknown or truncated ones", async () => {
  deepEqual(decodeAddr(b(1, 10, 0, 0, 1, 0x1f, 0x90)), { addr: { host: "10.0.0.1", port: 8080 }, end: 7 });
  deepEqual(decodeAddr(b(9, 4, ...new Array(15).fill(0), 1, 0, 80), 1), { addr: { host: "::1", port: 80 }, end: 20 });
  deepEqual(decodeAddr(b(3, 9, "localhost", 0, 80)).addr, { host: "localhost", port: 80 });
  const long = "d".repeat(255);
  deepEqual(decodeAddr(b(3, 255, long, 0, 1)).addr, { host: long, port: 1 });
  throws(() => decodeAddr(b(2, 1, 2, 3, 4, 0, 0)), AddrTypeError);
  throws(() => decodeAddr(b(1, 1, 2, 3, 4, 0)), HandshakeError);
  throws(() => decodeAddr(b(3, 5, "abc", 0, 1)), HandshakeError);
  throws(() => decodeAddr(b()), HandshakeError);
  deepEqual(await readAddr(reader(b(3, 9, "localhost", 0, 80))), { host: "localhost", port: 80 });
  deepEqual(await readAddr(reader(encodeAddr("fe80::1:2", 7))), { host: "fe80::1:2", port: 7 });
  await rejects(readAddr(reader(b(5, 0))), AddrTypeError);
  await rejects(readAddr(reader(b(1, 127, 0))), UnexpectedEofError);
});

Deno.test("socks ip helpers parse and format literals canonically", () => {
  deepEqual(parseIPv4("1.2.3.4"), b(1, 2, 3, 4));
  equal(parseIPv4("256.1.1.1"), null);
  equal(parseIPv4("1.2.3"), null);
  equal(parseIPv6("1.2.3.4"), null);
  equal(parseIPv6("1:2:3:4:5:6:7:8:9"), null);
  equal(parseIPv6("1::2::3"), null);
  equal(formatIPv6(parseIPv6("2001:0db8:0:0:1:0:0:1")!), "2001:db8::1:0:0:1");
  equal(formatIPv6(parseIPv6("::")!), "::");
  equal(formatIPv6(parseIPv6("1:0:2:3:4:5:6:7")!), "1:0:2:3:4:5:6:7");
  equal(formatIPv6(parseIPv6("fe80::1%eth0")!), "fe80::1");
  equal(normalizeIP("::ffff:127.0.0.1"), "127.0.0.1");
  equal(normalizeIP("0:0::1"), "::1");
  equal(normalizeIP("localhost"), "localhost");
});

Deno.test("socks4 request codec handles SOCKS4, SOCKS4a and malformed requests", async () => {
  const v4 = b(4, 1, 0, 80, 127, 0, 0, 1, "bob", 0);
  deepEqual(encodeSocks4Request({ cmd: 1, host: "127.0.0.1", port: 80, userid: "bob" }), v4);
  deepEqual(await readSocks4Request(reader(v4)), { cmd: 1, host: "127.0.0.1", port: 80, userid: "bob" });
  const v4a = b(4, 1, 0x1f, 0x90, 0, 0, 0, 1, 0, "localhost", 0);
  deepEqual(encodeSocks4Request({ cmd: 1, host: "localhost", port: 8080, userid: "" }), v4a);
  deepEqual(await readSocks4Request(reader(v4a, 3)), { cmd: 1, host: "localhost", port: 8080, userid: "" });
  await rejects(readSocks4Request(reader(b(5, 1, 0, 80, 1, 2, 3, 4, 0))), BadVersionError);
  await rejects(readSocks4Request(reader(b(4, 1, 0, 80, 0, 0, 0, 1, 0, 0))), HandshakeError);
  await rejects(readSocks4Request(reader(b(4, 1, 0, 80, 1, 2, 3, 4, "x".repeat(256), 0), 64)), FieldTooLongError);
  await rejects(readSocks4Request(reader(b(4, 1, 0, 80, 0, 0, 0, 1, 0, "h".repeat(300), 0))), FieldTooLongError);
  await rejects(readSocks4Request(reader(b(4, 1, 0, 80, 1, 2, 3, 4, "bob"))), UnexpectedEofError);
  deepEqual(await readSocks4Request(reader(b(4, 1, 0, 80, 1, 2, 3, 4, "u".repeat(255), 0))), {
    cmd: 1,
    host: "1.2.3.4",
    port: 80,
    userid: "u".repeat(255),
  });
  throws(() => encodeSocks4Request({ cmd: 1, host: "h", port: 1, userid: "u".repeat(256) }), RangeError);
});

Deno.test("socks4 reply encodes the code with a zero address by default", () => {
  deepEqual(encodeSocks4Reply(0x5a), b(0, 0x5a, 0, 0, 0, 0, 0, 0));
  deepEqual(encodeSocks4Reply(0x5b, "10.0.0.1", 1080), b(0, 0x5b, 4, 0x38, 10, 0, 0, 1));
});

Deno.test("socks5 greeting and method reply codecs", async () => {
  deepEqual(encodeGreeting([0, 2]), b(5, 2, 0, 2));
  deepEqual(await readGreeting(reader(b(5, 2, 0, 2))), [0, 2]);
  deepEqual(await readGreeting(reader(b(5, 0))), []);
  await rejects(readGreeting(reader(b(4, 1, 0))), BadVersionError);
  await rejects(readGreeting(reader(b(5, 3, 0))), UnexpectedEofError);
  deepEqual(encodeMethodReply(0xff), b(5, 0xff));
});

Deno.test("socks5 RFC 1929 sub-negotiation codecs", async () => {
  const req = b(1, 4, "user", 4, "pass");
  deepEqual(encodeUserPassRequest("user", "pass"), req);
  deepEqual(await readUserPassRequest(reader(req)), { username: "user", password: "pass" });
  deepEqual(await readUserPassRequest(reader(b(1, 0, 0))), { username: "", password: "" });
  await rejects(readUserPassRequest(reader(b(5, 1, "u", 1, "p"))), BadVersionError);
  await rejects(readUserPassRequest(reader(b(1, 4, "us"))), UnexpectedEofError);
  throws(() => encodeUserPassRequest("u".repeat(256), "p"), RangeError);
  deepEqual(encodeUserPassReply(0), b(1, 0));
  deepEqual(encodeUserPassReply(1), b(1, 1));
});

Deno.test("socks5 request and reply codecs", async () => {
  const req = b(5, 1, 0, 3, 9, "localhost", 0, 80);
  deepEqual(encodeRequest(1, "localhost", 80), req);
  deepEqual(await readRequest(reader(req)), { code: 1, addr: { host: "localhost", port: 80 } });
  deepEqual(encodeReply(0), b(5, 0, 0, 1, 0, 0, 0, 0, 0, 0));
  deepEqual(encodeReply(5, "::1", 1), b(5, 5, 0, 4, ...new Array(15).fill(0), 1, 0, 1));
  deepEqual(await readReply(reader(encodeReply(0, "10.1.2.3", 1080))), {
    code: 0,
    addr: { host: "10.1.2.3", port: 1080 },
  });
  await rejects(readRequest(reader(b(4, 1, 0, 1, 1, 1, 1, 1, 0, 80))), BadVersionError);
  await rejects(readRequest(reader(b(5, 1, 0, 7, 1, 1, 1, 1, 0, 80))), AddrTypeError);
  await rejects(readRequest(reader(b(5, 1, 0, 1, 1, 1))), UnexpectedEofError);
});

Deno.test("socks5 UDP datagram header codec", () => {
  deepEqual(encodeUdpHeader("127.0.0.1", 53), b(0, 0, 0, 1, 127, 0, 0, 1, 0, 53));
  deepEqual(encodeUdpHeader("a.b", 53, 2), b(0, 0, 2, 3, 3, "a.b", 0, 53));
  const dgram = b(0, 0, 0, 1, 10, 0, 0, 1, 0, 53, "data");
  deepEqual(decodeUdpHeader(dgram), { frag: 0, addr: { host: "10.0.0.1", port: 53 }, dataOffset: 10 });
  equal(decodeUdpHeader(b(0, 0, 1, 3, 1, "x", 0, 1)).frag, 1);
  throws(() => decodeUdpHeader(b(0, 0, 0)), HandshakeError);
  throws(() => decodeUdpHeader(b(0, 0, 0, 6, 1, 2)), AddrTypeError);
  throws(() => decodeUdpHeader(b(0, 0, 0, 4, 1, 2, 3)), HandshakeError);
});

Deno.test("socks metadata parses defaults, aliases and bad values", () => {
  deepEqual(parseSocksMetadata(new Metadata()), {
    readTimeoutMs: 15_000,
    bind: false,
    udp: false,
    udpBufferSize: 65_535,
    noTls: false,
    compat: false,
    mux: DEFAULT_MUX_CONFIG,
  });
  const md = parseSocksMetadata(new Metadata({ readTimeout: "300ms", BIND: "true", udp: 1, "udp.bufferSize": 100 }));
  equal(md.readTimeoutMs, 300);
  equal(md.bind, true);
  equal(md.udp, true);
  equal(md.udpBufferSize, 512);
  equal(parseSocksMetadata(new Metadata({ udpBufferSize: 1 << 20 })).udpBufferSize, 65_535);
  throws(() => parseSocksMetadata(new Metadata({ readTimeout: "15x" })), /readTimeout/);
  throws(() => parseSocksMetadata(new Metadata({ udp: "maybe" })), /udp/);
});
