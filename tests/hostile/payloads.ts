/**
 * Fuzz inputs for every handler: valid first messages of each protocol (seeds), and generated variants of them —
 * truncated, bit-flipped, spliced, stretched length fields, oversized, random — from a seeded generator, so a
 * failing run is replayed from its seed.
 * @module
 */
import { encodeRequest } from "../../handlers/relay/wire.ts";
import { prng } from "./support.ts";

const enc = new TextEncoder();

function concat(...parts: (Uint8Array | number[])[]): Uint8Array {
  const arrays = parts.map((p) => p instanceof Uint8Array ? p : Uint8Array.from(p));
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let off = 0;
  for (const a of arrays) {
    out.set(a, off);
    off += a.length;
  }
  return out;
}

const u16 = (n: number) => [n >> 8, n & 0xff];
const ip4 = (s: string) => s.split(".").map(Number);

/** The protocols a fuzz run can speak. */
export type Protocol = "http" | "socks4" | "socks5" | "relay" | "tls" | "api" | "raw";

/** Valid first messages of `protocol` aimed at `127.0.0.1:target`. */
export function seeds(protocol: Protocol, target: number): Uint8Array[] {
  const host = `127.0.0.1:${target}`;
  switch (protocol) {
    case "http":
      return [
        enc.encode(`GET http://${host}/ HTTP/1.1\r\nHost: ${host}\r\n\r\n`),
        enc.encode(`CONNECT ${host} HTTP/1.1\r\nHost: ${host}\r\n\r\nhello`),
        enc.encode(`POST http://${host}/ HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 5\r\n\r\nhello`),
        enc.encode(
          `POST http://${host}/ HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
        ),
        enc.encode(`GET http://${host}/ HTTP/1.1\r\nProxy-Authorization: Basic dTpw\r\n\r\n`),
      ];
    case "socks4":
      return [
        concat([4, 1], u16(target), ip4("127.0.0.1"), enc.encode("user"), [0]),
        concat([4, 1], u16(target), [0, 0, 0, 1], [0], enc.encode("localhost"), [0]), // 4a
        concat([4, 2], u16(target), ip4("127.0.0.1"), [0]), // BIND
      ];
    case "socks5":
      return [
        concat([5, 1, 0], [5, 1, 0, 1], ip4("127.0.0.1"), u16(target)),
        concat([5, 2, 0, 2], [5, 1, 0, 3, 9], enc.encode("localhost"), u16(target)),
        concat([5, 1, 2], [1, 1], enc.encode("u"), [1], enc.encode("p"), [5, 1, 0, 1], ip4("127.0.0.1"), u16(target)),
        concat([5, 1, 0], [5, 3, 0, 1], [0, 0, 0, 0], [0, 0]), // UDP ASSOCIATE
        concat([5, 1, 0], [5, 2, 0, 1], [0, 0, 0, 0], [0, 0]), // BIND
        concat([5, 1, 0], [5, 1, 0, 4], new Uint8Array(15), [1], u16(target)), // ::1
      ];
    case "relay":
      return [
        encodeRequest({ cmd: 1, flags: 0, features: [{ kind: "addr", host: "127.0.0.1", port: target }] }),
        encodeRequest({
          cmd: 1,
          flags: 0,
          features: [{ kind: "auth", username: "u", password: "p" }, {
            kind: "addr",
            host: "localhost",
            port: target,
          }],
        }),
        encodeRequest({
          cmd: 1,
          flags: 0x80,
          features: [{ kind: "addr", host: "127.0.0.1", port: target }, { kind: "network", network: 1 }],
        }),
        encodeRequest({ cmd: 2, flags: 0, features: [{ kind: "addr", host: "127.0.0.1", port: 0 }] }),
      ];
    case "tls":
      return [
        // a TLS 1.2 ClientHello record header and the start of a hello: enough for the server to start parsing
        concat([0x16, 3, 1], u16(60), [1, 0, 0, 56, 3, 3], new Uint8Array(32), [0, 0, 2, 0x13, 1, 1, 0, 0, 0]),
        concat([0x16, 3, 3, 0xff, 0xff]),
        concat([0x15, 3, 3, 0, 2, 2, 40]), // an alert
      ];
    case "api":
      return [
        enc.encode("GET /config HTTP/1.1\r\nHost: x\r\n\r\n"),
        enc.encode("POST /config/services HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"),
        enc.encode(
          "PUT /config/services/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n0\r\n\r\n",
        ),
        enc.encode("DELETE /config/chains/none HTTP/1.1\r\nHost: x\r\n\r\n"),
      ];
    case "raw":
      return [enc.encode("hello\n"), new Uint8Array(4096).fill(0x41)];
  }
}

/**
 * `count` inputs for `protocol`: the seeds, then variants drawn from them by a seeded generator.
 * @param seed the generator's seed (print it with a failure)
 */
export function fuzzInputs(protocol: Protocol, target: number, count: number, seed: number): Uint8Array[] {
  const rnd = prng(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const base = seeds(protocol, target);
  const out: Uint8Array[] = base.slice(0, count);
  const mutations: ((s: Uint8Array) => Uint8Array)[] = [
    (s) => s.subarray(0, int(s.length)), // truncated
    (s) => {
      const b = s.slice();
      for (let i = 0, n = 1 + int(4); i < n && b.length; i++) b[int(b.length)] ^= 1 << int(8);
      return b;
    },
    (s) => {
      const b = s.slice();
      for (let i = 0, n = 1 + int(3); i < n && b.length; i++) b[int(b.length)] = [0, 0xff, 0x7f, 0x80, 0x0a][int(5)];
      return b;
    },
    (s) => {
      const other = base[int(base.length)];
      return concat(s.subarray(0, int(s.length + 1)), other.subarray(int(other.length)));
    },
    (s) => concat(s, randomBytes(int(2048))), // a tail of garbage after a valid message
    (s) => {
      const at = int(s.length + 1); // a run of one byte inserted: stretched fields, long lines
      return concat(
        s.subarray(0, at),
        new Uint8Array(1 + int(protocol === "http" || protocol === "api" ? 70_000 : 600))
          .fill([0x41, 0x20, 0x00, 0xff, 0x3a][int(5)]),
        s.subarray(at),
      );
    },
    () => randomBytes(1 + int(512)),
    () => new Uint8Array(0),
    (s) => {
      const b = s.slice(); // every 2-byte length-like field stretched to the maximum
      if (b.length > 3) {
        const at = 1 + int(b.length - 2);
        b[at] = 0xff;
        b[at + 1] = 0xff;
      }
      return b;
    },
  ];
  function randomBytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = int(256);
    return b;
  }
  while (out.length < count) {
    const s = base[int(base.length)];
    let m = mutations[int(mutations.length)](s);
    if (rnd() < 0.2) m = mutations[int(mutations.length)](m); // sometimes twice
    out.push(m);
  }
  return out;
}
