import assert from "node:assert/strict";
import { HandshakeError } from "../../../core/errors.ts";
import {
  CLASS_IN,
  decodeMessage,
  type DnsMessage,
  DnsType,
  encodeMessage,
  encodeQuery,
  Rcode,
} from "../../../core/routing/dns_wire.ts";

const hex = (s: string) => new Uint8Array(s.replace(/\s+/g, "").match(/../g)!.map((b) => parseInt(b, 16)));
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("");

Deno.test("encodeQuery produces the exact RFC 1035 bytes", () => {
  const want = hex(`1234 0100 0001 0000 0000 0000 07${ascii("example")}03${ascii("com")}00 0001 0001`);
  assert.deepEqual(encodeQuery(0x1234, "example.com", DnsType.A), want);
  assert.deepEqual(encodeQuery(0x1234, "example.com.", DnsType.A), want, "a trailing dot is the same name");
  const aaaa = encodeQuery(0xffff, "a.b", DnsType.AAAA);
  assert.deepEqual(aaaa, hex(`ffff 0100 0001 0000 0000 0000 01${ascii("a")}01${ascii("b")}00 001c 0001`));
  assert.deepEqual(encodeQuery(0, "bücher.example", DnsType.A).subarray(12, 27), hex(`0d${ascii("xn--bcher-kva")}07`));
});

Deno.test("encodeQuery rejects names that cannot be encoded", () => {
  assert.throws(() => encodeQuery(1, "a..b", DnsType.A), RangeError);
  assert.throws(() => encodeQuery(1, "x".repeat(64) + ".com", DnsType.A), RangeError);
  assert.throws(() => encodeQuery(1, Array(130).fill("ab").join("."), DnsType.A), RangeError);
});

// www.example.com A → CNAME cdn.example.com (compressed against the question), A 93.184.215.14 (name pointing into
// the CNAME's RDATA), as a recursive server sends it.
const captured = hex(`
  1234 8180 0001 0002 0000 0000
  03${ascii("www")}07${ascii("example")}03${ascii("com")}00 0001 0001
  c00c 0005 0001 00000e10 0006 03${ascii("cdn")}c010
  c02d 0001 0001 0000012c 0004 5db8d70e
`);

Deno.test("decodeMessage follows compression pointers in names and RDATA", () => {
  const m = decodeMessage(captured);
  assert.equal(m.id, 0x1234);
  assert.deepEqual([m.qr, m.opcode, m.aa, m.tc, m.rd, m.ra, m.rcode], [true, 0, false, false, true, true, 0]);
  assert.deepEqual(m.questions, [{ name: "www.example.com", type: DnsType.A, class: CLASS_IN }]);
  assert.equal(m.answers.length, 2);
  assert.deepEqual(
    [m.answers[0].name, m.answers[0].type, m.answers[0].ttl, m.answers[0].target],
    ["www.example.com", DnsType.CNAME, 3600, "cdn.example.com"],
  );
  assert.deepEqual(
    [m.answers[1].name, m.answers[1].type, m.answers[1].ttl, m.answers[1].address],
    ["cdn.example.com", DnsType.A, 300, "93.184.215.14"],
  );
});

Deno.test("encodeMessage and decodeMessage round-trip A, AAAA, CNAME, SOA, OPT and raw records", () => {
  const msg: DnsMessage = {
    id: 7,
    qr: true,
    opcode: 0,
    aa: true,
    tc: true,
    rd: true,
    ra: false,
    rcode: Rcode.NXDOMAIN,
    questions: [{ name: "x.test", type: DnsType.AAAA, class: CLASS_IN }],
    answers: [
      { name: "x.test", type: DnsType.CNAME, class: CLASS_IN, ttl: 5, target: "y.test" },
      { name: "y.test", type: DnsType.AAAA, class: CLASS_IN, ttl: 6, address: "2001:db8::1" },
      { name: "y.test", type: DnsType.A, class: CLASS_IN, ttl: 0xffffffff, address: "10.0.0.1" },
    ],
    authorities: [{
      name: "test",
      type: DnsType.SOA,
      class: CLASS_IN,
      ttl: 30,
      soa: { mname: "ns.test", rname: "h.test", serial: 1, refresh: 2, retry: 3, expire: 4, minimum: 5 },
    }],
    additionals: [{ name: "", type: DnsType.OPT, class: 1232, ttl: 0, data: new Uint8Array() }],
  };
  const back = decodeMessage(encodeMessage(msg));
  assert.deepEqual(
    [back.id, back.qr, back.aa, back.tc, back.rd, back.ra, back.rcode],
    [7, true, true, true, true, false, Rcode.NXDOMAIN],
  );
  assert.deepEqual(back.questions, msg.questions);
  assert.deepEqual(back.answers.map((r) => r.target ?? r.address), ["y.test", "2001:db8::1", "10.0.0.1"]);
  assert.equal(back.answers[2].ttl, 0xffffffff);
  assert.deepEqual(back.authorities[0].soa, msg.authorities[0].soa);
  assert.deepEqual([back.additionals[0].name, back.additionals[0].type, back.additionals[0].class], ["", 41, 1232]);
});

Deno.test("decodeMessage rejects every truncation of a valid response", () => {
  for (let n = 0; n < captured.length; n++) {
    assert.throws(() => decodeMessage(captured.subarray(0, n)), HandshakeError, `prefix of ${n} bytes`);
  }
});

function longNameChain(): Uint8Array {
  // question: L63 at 12; answer 1 owner: L63 → question name; its CNAME RDATA: L63 → answer 1 owner;
  // answer 2 owner: L63 → that RDATA = 4 × 64 + 1 = 257 bytes > 255.
  const label = `3f${ascii("a".repeat(63))}`;
  const q = `${label}00 0001 0001`; // offsets 12..80
  const a1Name = 12 + 65 + 4; // 81
  const a1 = `${label}c00c 0005 0001 00000001 0042 ${label}${(0xc000 | a1Name).toString(16)}`;
  const a1Rdata = a1Name + 64 + 2 + 10; // 157
  const a2 = `${label}${(0xc000 | a1Rdata).toString(16)} 0001 0001 00000001 0004 01020304`;
  return hex(`0001 8180 0001 0002 0000 0000 ${q}${a1}${a2}`);
}

Deno.test("decodeMessage rejects malformed input with HandshakeError", () => {
  const header = "0001 8180";
  const cases: [string, Uint8Array, RegExp][] = [
    ["short header", hex("0001 8180 0000"), /header/],
    ["question count without a question", hex(`${header} 0001 0000 0000 0000`), /truncated/],
    ["label longer than the buffer", hex(`${header} 0001 0000 0000 0000 07${ascii("exa")}`), /truncated label/],
    ["pointer to itself", hex(`${header} 0001 0000 0000 0000 c00c 0001 0001`), /point back/],
    ["forward pointer", hex(`${header} 0001 0000 0000 0000 c020 0001 0001`), /point back/],
    ["half a pointer", hex(`${header} 0001 0000 0000 0000 c0`), /truncated pointer/],
    ["extended label type", hex(`${header} 0001 0000 0000 0000 4001 0001 0001`), /label type/],
    ["5-byte A record", hex(`${header} 0000 0001 0000 0000 00 0001 0001 00000001 0005 0102030405`), /5-byte/],
    ["3-byte AAAA record", hex(`${header} 0000 0001 0000 0000 00 001c 0001 00000001 0003 010203`), /3-byte/],
    ["RDATA past the end", hex(`${header} 0000 0001 0000 0000 00 0001 0001 00000001 0004 0102`), /record data/],
    ["CNAME that overruns its RDATA", hex(`${header} 0000 0001 0000 0000 00 0005 0001 00000001 0001 0161 00`), /fill/],
    ["name over 255 bytes via pointers", longNameChain(), /longer than 255/],
    ["counts far beyond the data", hex(`${header} ffff ffff ffff ffff`), /truncated/],
  ];
  for (const [what, bytes, re] of cases) {
    assert.throws(() => decodeMessage(bytes), (err: Error) => {
      assert.ok(err instanceof HandshakeError, `${what}: ${err}`);
      assert.match(err.message, re, what);
      return true;
    }, what);
  }
});

Deno.test("decodeMessage never hangs or throws anything but HandshakeError on random bytes", () => {
  let seed = 42;
  const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 16;
  const started = performance.now();
  for (let i = 0; i < 20_000; i++) {
    const buf = new Uint8Array(12 + (rand() % 300));
    for (let j = 0; j < buf.length; j++) buf[j] = rand() & 0xff;
    if (i % 2 === 0) buf.set(captured.subarray(0, Math.min(12, buf.length))); // plausible header, random body
    if (i % 3 === 0) { for (let j = 12; j < buf.length; j += 7) buf[j] = 0xc0; // many pointers
     }
    try {
      decodeMessage(buf);
    } catch (err) {
      assert.ok(err instanceof HandshakeError, String(err));
    }
  }
  assert.ok(performance.now() - started < 5_000);
});
