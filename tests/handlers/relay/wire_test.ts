import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import { HandshakeReader } from "../../../core/bufio.ts";
import type { Conn } from "../../../core/conn.ts";
import { BadVersionError, ConfigError, HandshakeError } from "../../../core/errors.ts";
import { Metadata } from "../../../core/metadata.ts";
import { DatagramFrameConn, TruncatedFrameError } from "../../../handlers/relay/frames.ts";
import { parseRelayConnectorMetadata, parseRelayHandlerMetadata } from "../../../handlers/relay/metadata.ts";
import { DEFAULT_MUX_CONFIG } from "../../../core/mux/config.ts";
import {
  Cmd,
  decodeFeatures,
  decodeTunHeader,
  describeStatus,
  encodeDatagramHeader,
  encodeRequest,
  encodeResponse,
  encodeTunHeader,
  FLAG_UDP,
  MAX_FEATURES_LEN,
  NetworkId,
  readRequest,
  readResponse,
  requestFacts,
  Status,
  tunHeaderLength,
} from "../../../handlers/relay/wire.ts";

const enc = new TextEncoder();
const b = (...xs: (number | string | Uint8Array | number[])[]) =>
  Uint8Array.from(
    xs.flatMap((x) => typeof x === "string" ? [...enc.encode(x)] : typeof x === "number" ? [x] : Array.from(x)),
  );

/** An in-memory conn that returns `data` in `chunk`-byte reads, then EOF; records writes. */
function memConn(data: Uint8Array, chunk = 3): Conn & { written: number[] } {
  let off = 0;
  const written: number[] = [];
  const addr: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: 1 };
  return {
    written,
    localAddr: addr,
    remoteAddr: addr,
    read(p: Uint8Array) {
      if (off >= data.length) return Promise.resolve(null);
      const n = Math.min(chunk, p.length, data.length - off);
      p.set(data.subarray(off, off + n));
      off += n;
      return Promise.resolve(n);
    },
    write(p: Uint8Array) {
      written.push(...p);
      return Promise.resolve(p.length);
    },
    closeWrite: () => Promise.resolve(),
    close() {},
  };
}

const reader = (bytes: Uint8Array, chunk = 3) => new HandshakeReader(memConn(bytes, chunk));

// CONNECT example.com:443 without auth, as docs/wire.md ("Relay request and response") prints it
const EXAMPLE_443 = b(1, 1, 0, 0x12, 2, 0, 0x0f, 3, 0x0b, "example.com", 0x01, 0xbb);

Deno.test("relay request codec encodes CONNECT to a domain exactly as GOST's connector", async () => {
  const bytes = encodeRequest({
    cmd: Cmd.Connect,
    flags: 0,
    features: [{ kind: "addr", host: "example.com", port: 443 }],
  });
  deepEqual(bytes, EXAMPLE_443);
  const req = await readRequest(reader(bytes));
  deepEqual(req, { cmd: 1, flags: 0, features: [{ kind: "addr", host: "example.com", port: 443 }] });
});

Deno.test("relay request codec encodes user auth, IPv4, IPv6 and the UDP flag with the Network feature", async () => {
  const tcp = encodeRequest({
    cmd: Cmd.Connect,
    flags: 0,
    features: [{ kind: "auth", username: "user", password: "pass" }, { kind: "addr", host: "127.0.0.1", port: 80 }],
  });
  deepEqual(tcp, b(1, 1, 0, 0x17, 1, 0, 0x0a, 4, "user", 4, "pass", 2, 0, 7, 1, 127, 0, 0, 1, 0, 80));
  const udp = encodeRequest({
    cmd: Cmd.Connect,
    flags: FLAG_UDP,
    features: [{ kind: "network", network: NetworkId.Udp }, { kind: "addr", host: "::1", port: 53 }],
  });
  deepEqual(udp, b(1, 0x81, 0, 0x1b, 4, 0, 2, 0, 1, 2, 0, 0x13, 4, new Array(15).fill(0), 1, 0, 53));
  const req = await readRequest(reader(udp));
  equal(req.cmd, Cmd.Connect);
  equal(req.flags, FLAG_UDP);
  deepEqual(requestFacts(req.features), { network: 1, host: "::1", port: 53 });
  // empty credentials still encode both length bytes
  deepEqual(
    encodeRequest({ cmd: Cmd.Bind, flags: 0, features: [{ kind: "auth", username: "", password: "" }] }),
    b(1, 2, 0, 5, 1, 0, 2, 0, 0),
  );
});

Deno.test("relay response codec encodes bare statuses and an Addr feature", async () => {
  deepEqual(encodeResponse({ status: Status.OK, features: [] }), b(1, 0, 0, 0));
  deepEqual(encodeResponse({ status: Status.Unauthorized, features: [] }), b(1, 2, 0, 0));
  const bound = encodeResponse({ status: Status.OK, features: [{ kind: "addr", host: "0.0.0.0", port: 8080 }] });
  deepEqual(bound, b(1, 0, 0, 10, 2, 0, 7, 1, 0, 0, 0, 0, 0x1f, 0x90));
  deepEqual(await readResponse(reader(bound, 1)), {
    status: 0,
    features: [{ kind: "addr", host: "0.0.0.0", port: 8080 }],
  });
  equal(describeStatus(Status.NetworkUnreachable), "0x07 Network Unreachable");
  equal(describeStatus(0x42), "0x42 Unknown Status");
});

Deno.test("relay features decode tunnel ids, keep unknown types and let the last Addr win", () => {
  const id = Uint8Array.from({ length: 20 }, (_, i) => i);
  const fs = decodeFeatures(
    b(3, 0, 20, id, 0x09, 0, 2, 0xaa, 0xbb, 2, 0, 4, 3, 0, 0, 80, 2, 0, 7, 1, 10, 0, 0, 1, 0, 81),
  );
  deepEqual(fs[0], { kind: "tunnel", id });
  deepEqual(fs[1], { kind: "unknown", type: 9, data: b(0xaa, 0xbb) });
  deepEqual(fs[2], { kind: "addr", host: "", port: 80 });
  deepEqual(requestFacts(fs), { tunnel: id, host: "10.0.0.1", port: 81 });
});

Deno.test("relay request reader rejects bad versions, truncation and absurd lengths", async () => {
  await rejects(readRequest(reader(b(2, 1, 0, 0))), BadVersionError);
  await rejects(readRequest(reader(b(0x05, 1, 0))), BadVersionError);
  await rejects(readRequest(reader(b(1, 1, 0))), HandshakeError); // header cut short
  await rejects(readRequest(reader(b(1, 1, 0, 0x12, 2, 0, 0x0f, 3))), HandshakeError); // FEALEN not there
  await rejects(readRequest(reader(b(1, 1, 0xff, 0xff))), /exceeds 8192/); // FEALEN over the cap
  await rejects(readRequest(reader(b(1, 1, 0, 5, 2, 0xff, 0xff, 0, 0))), /claims 65535 bytes/); // feature > FEALEN
  await rejects(readRequest(reader(b(1, 1, 0, 2, 2, 0))), /Truncated relay feature header/);
  await rejects(readRequest(reader(b(1, 1, 0, 7, 2, 0, 4, 9, 0, 0, 80))), /address type/); // ATYP 9
  await rejects(readRequest(reader(b(1, 1, 0, 6, 2, 0, 3, 1, 127, 0))), /Truncated address/);
  await rejects(readRequest(reader(b(1, 1, 0, 6, 1, 0, 3, 4, "ab"))), /UserAuth/); // ULEN past the end
  await rejects(readRequest(reader(b(1, 1, 0, 7, 1, 0, 4, 1, "a", 5, "b"))), /UserAuth/); // PLEN past the end
  await rejects(readRequest(reader(b(1, 1, 0, 4, 4, 0, 1, 1))), /Network/);
  await rejects(readRequest(reader(b(1, 1, 0, 5, 3, 0, 2, 1, 2))), /Tunnel/);
  await rejects(readResponse(reader(b(0, 0, 0, 0))), BadVersionError);
  // the cap is a parameter; the largest legal request fits the default
  await rejects(readRequest(reader(b(1, 1, 0, 8, 4, 0, 2, 0, 1, 4, 0, 2, 0, 0)), 7), /exceeds 7/);
  ok(MAX_FEATURES_LEN >= 3 + 512 + 3 + 262 + 5 + 23);
});

Deno.test("relay encoders refuse over-long fields", () => {
  throws(() => encodeRequest({ cmd: 1, flags: 0, features: [{ kind: "addr", host: "a".repeat(256), port: 1 }] }));
  throws(() =>
    encodeRequest({ cmd: 1, flags: 0, features: [{ kind: "auth", username: "u".repeat(256), password: "p" }] })
  );
  throws(() => encodeDatagramHeader(65_536), RangeError);
  deepEqual(encodeDatagramHeader(258), b(1, 2));
});

Deno.test("relay UDP-tun frame header codec (RSV = length, FRAG = 0xFF)", () => {
  const v4 = encodeTunHeader("127.0.0.1", 53, 3);
  deepEqual(v4, b(0, 3, 0xff, 1, 127, 0, 0, 1, 0, 53));
  deepEqual(decodeTunHeader(b(v4, "abc")), { host: "127.0.0.1", port: 53, dataLen: 3, headerLen: 10 });
  const dn = encodeTunHeader("example.com", 443, 300);
  deepEqual(dn, b(1, 0x2c, 0xff, 3, 11, "example.com", 1, 0xbb));
  equal(tunHeaderLength(dn), dn.length);
  equal(tunHeaderLength(encodeTunHeader("::1", 1, 0)), 22);
  throws(() => tunHeaderLength(b(0, 1, 0xff, 7, 0)), HandshakeError);
  throws(() => decodeTunHeader(b(0, 1, 0xff, 1, 127)), HandshakeError);
  throws(() => encodeTunHeader("127.0.0.1", 1, 70_000), RangeError);
});

Deno.test("relay datagram frame conn reads one frame per read and writes one frame per write", async () => {
  const big = new Uint8Array(1000).fill(7);
  const conn = memConn(b(0, 3, "abc", 0, 0, 3, 0xe8, big, 0, 2, "xy"), 7);
  const d = new DatagramFrameConn(conn);
  equal(d.datagram, true);
  const buf = new Uint8Array(2000);
  equal(await d.read(buf), 3);
  deepEqual(buf.subarray(0, 3), b("abc"));
  equal(await d.read(buf), 0); // an empty datagram
  equal(await d.read(buf), 1000);
  deepEqual(buf.subarray(0, 1000), big);
  const small = new Uint8Array(1);
  equal(await d.read(small), 1); // truncated to the caller's buffer, as GOST does
  deepEqual(small, b("x"));
  equal(await d.read(buf), null);
  equal(await d.write(b("hello")), 5);
  deepEqual(conn.written, [0, 5, ...enc.encode("hello")]);
  await rejects(d.write(new Uint8Array(65_536)), RangeError);
  await rejects(new DatagramFrameConn(memConn(b(0, 9, "abc"))).read(buf), TruncatedFrameError);
  await rejects(new DatagramFrameConn(memConn(b(0))).read(buf), TruncatedFrameError);
});

Deno.test("relay metadata parses defaults, GOST keys and bad values", () => {
  deepEqual(parseRelayHandlerMetadata(new Metadata({})), {
    readTimeoutMs: 15_000,
    bind: false,
    noDelay: false,
    mux: DEFAULT_MUX_CONFIG,
  });
  deepEqual(parseRelayHandlerMetadata(new Metadata({ readTimeout: "300ms", bind: "true", noDelay: true })), {
    readTimeoutMs: 300,
    bind: true,
    noDelay: true,
    mux: DEFAULT_MUX_CONFIG,
  });
  equal(parseRelayHandlerMetadata(new Metadata({ readTimeout: 0 })).readTimeoutMs, 15_000);
  deepEqual(parseRelayConnectorMetadata(new Metadata({})), {
    connectTimeoutMs: 10_000,
    noDelay: false,
    lazyFlushMs: 100,
    mux: DEFAULT_MUX_CONFIG,
  });
  deepEqual(parseRelayConnectorMetadata(new Metadata({ nodelay: "1", connectTimeout: "2s", lazyFlush: 0 })), {
    connectTimeoutMs: 2000,
    noDelay: true,
    lazyFlushMs: 0,
    mux: DEFAULT_MUX_CONFIG,
  });
  throws(() => parseRelayHandlerMetadata(new Metadata({ readTimeout: "15x" })), ConfigError);
  throws(() => parseRelayHandlerMetadata(new Metadata({ bind: "maybe" })), ConfigError);
  throws(() => parseRelayConnectorMetadata(new Metadata({ connectTimeout: "soon" })), ConfigError);
  throws(() => parseRelayConnectorMetadata(new Metadata({ lazyFlush: "-1s" })), /"lazyFlush" must not be negative/);
});
