/**
 * The DNS proxy's message handling on raw bytes (handlers/dns/message.ts): the accept rules, every malformed query
 * refused, the replies it makes itself, the EDNS0 client subnet option, and an answer's way to the client (OPT
 * removed, UDP truncation).
 */
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { HandshakeError } from "../../../core/errors.ts";
import { CLASS_IN, decodeMessage, DnsType, encodeMessage, encodeQuery } from "../../../core/routing/dns_wire.ts";
import { parseIP } from "../../../core/routing/matcher.ts";
import {
  forClient,
  headerReply,
  layoutOf,
  ownReply,
  parseQuery,
  screenQuery,
  withClientSubnet,
  withoutCookie,
} from "../../../handlers/dns/message.ts";

const hex = (s: string) => new Uint8Array(s.replace(/\s+/g, "").match(/../g)!.map((b) => parseInt(b, 16)));

/** A query with `name` (wire labels, hex) as its question, header id 0x1234, RD, 1 question. */
const rawQuery = (nameHex: string, counts = "0001 0000 0000 0000") => hex(`1234 0100 ${counts} ${nameHex} 0001 0001`);

/** An OPT record (root, type 41, UDP size, TTL flags) with `rdata` (hex). */
const optRecord = (size: number, flags: number, rdata = "") =>
  hex(
    `00 0029 ${size.toString(16).padStart(4, "0")} ${flags.toString(16).padStart(8, "0")} ${
      (rdata.replace(/\s+/g, "").length / 2).toString(16).padStart(4, "0")
    } ${rdata}`,
  );

const join = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
};

Deno.test("dns message: the accept rules drop runts and responses, refuse other opcodes and absurd counts", () => {
  equal(screenQuery(new Uint8Array(5)).kind, "drop");
  equal(screenQuery(hex("1234 8180 0001 0000 0000 0000")).kind, "drop", "a response (QR) is not answered");
  deepEqual(screenQuery(hex("1234 2800 0001 0000 0000 0000")), { kind: "reject", rcode: 4, why: "opcode 5" });
  equal(screenQuery(hex("1234 0100 ffff 0000 0000 0000")).kind, "reject");
  deepEqual(screenQuery(hex("1234 0100 0000 0000 0000 0000")), { kind: "reject", rcode: 1, why: "0 questions" });
  deepEqual(screenQuery(hex("1234 0100 0001 ffff ffff ffff")), {
    kind: "reject",
    rcode: 1,
    why: "section counts 65535/65535/65535",
  });
  equal(screenQuery(encodeQuery(1, "a.test", DnsType.A)).kind, "query");
});

Deno.test("dns message: every malformed query is a HandshakeError (answered FORMERR)", () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ["a pointer to itself (a loop)", rawQuery("c00c"), /point back/],
    ["a pointer into the header", hex("0000 0100 0001 0000 0000 0000 c000 0001 0001"), /compressed question/],
    ["a 64-byte label (length byte 0x40)", rawQuery(`40${"61".repeat(64)}00`), /label type 0x40/],
    ["a label type 0x80", rawQuery(`80${"61".repeat(2)}00`), /label type 0x80/],
    ["a name over 255 bytes", rawQuery(`${("3f" + "61".repeat(63)).repeat(5)}00`), /longer than 255/],
    ["a cut name", hex("1234 0100 0001 0000 0000 0000 0561626364"), /truncated/],
    ["a question without its type", hex("1234 0100 0001 0000 0000 0000 0161 00 00"), /truncated/],
    ["an announced record that is not there", rawQuery("016100", "0001 0000 0000 0001"), /truncated/],
  ];
  for (const [what, bytes, why] of cases) {
    throws(() => parseQuery(bytes), (err: unknown) => err instanceof HandshakeError && why.test(err.message), what);
  }
  // a loop through a record's name: the pointer at 29 points at itself
  const loop = join(rawQuery("016100", "0001 0000 0000 0001"), hex("c01d 0029 1000 00000000 0000"));
  throws(() => parseQuery(loop), HandshakeError);
  const twoOpts = join(rawQuery("016100", "0001 0000 0000 0002"), optRecord(1232, 0), optRecord(1232, 0));
  throws(() => parseQuery(twoOpts), /more than one OPT/);
});

Deno.test("dns message: a query's EDNS0 size, DO and CD bits; bytes after the last record are not passed on", () => {
  const plain = parseQuery(encodeQuery(7, "A.Test", DnsType.AAAA));
  equal(plain.udpSize, 512);
  equal(plain.dnssecOk, false);
  equal(plain.question.name, "A.Test");
  const edns = join(rawQuery("0161 00", "0001 0000 0000 0001"), optRecord(4096, 0x8000));
  edns[3] |= 0x10; // CD
  const q = parseQuery(join(edns, hex("deadbeef")));
  equal(q.udpSize, 4096);
  equal(q.dnssecOk, true);
  equal(q.checkingDisabled, true);
  deepEqual(q.bytes, edns);
  equal(parseQuery(join(rawQuery("016100", "0001 0000 0000 0001"), optRecord(100, 0))).udpSize, 512);
});

Deno.test("dns message: FORMERR is the header alone; own replies carry the question, answers and an OPT", () => {
  deepEqual(headerReply(hex("abcd 0100 0005 0000 0000 0000"), 1), hex("abcd 8101 0000 0000 0000 0000"));
  deepEqual(headerReply(hex("abcd 2900"), 4), hex("abcd a904 0000 0000 0000 0000"), "opcode and RD kept");
  const q = parseQuery(encodeQuery(0x4242, "h.test", DnsType.A));
  const reply = ownReply(q, 0, [{ address: parseIP("10.1.2.3")!, ttl: 3600 }, {
    address: parseIP("10.1.2.4")!,
    ttl: 3600,
  }]);
  deepEqual(
    reply.subarray(0, 12 + 12),
    hex(`4242 8180 0001 0002 0000 0000 0168 0474657374 00 0001 0001`),
  );
  deepEqual(reply.subarray(24, 40), hex("c00c 0001 0001 00000e10 0004 0a010203"), "owner: a pointer to the question");
  const m = decodeMessage(reply);
  deepEqual(m.answers.map((r) => [r.name, r.address, r.ttl]), [["h.test", "10.1.2.3", 3600], [
    "h.test",
    "10.1.2.4",
    3600,
  ]]);
  const edns = parseQuery(join(rawQuery("0161 00", "0001 0000 0000 0001"), optRecord(1232, 0)));
  const empty = decodeMessage(ownReply(edns, 0));
  equal(empty.answers.length, 0);
  deepEqual(empty.additionals.map((r) => [r.type, r.class]), [[DnsType.OPT, 1232]]);
});

Deno.test("dns message: clientIP as GOST's EDNS0 client subnet, in a new OPT or the query's own", () => {
  const q = parseQuery(encodeQuery(1, "a.test", DnsType.A));
  const v4 = withClientSubnet(q, parseIP("1.2.3.4")!);
  deepEqual(v4.subarray(q.bytes.length), hex("00 0029 04d0 00000000 000b 0008 0007 0001 18 00 010203"));
  equal(decodeMessage(v4).additionals.length, 1);
  const v6 = withClientSubnet(q, parseIP("2001:db8::1")!);
  deepEqual(v6.subarray(q.bytes.length + 11, q.bytes.length + 19), hex("0008 0014 0002 80 00"));
  // the client's own OPT: its cookie kept, its subnet option replaced
  const own = join(
    rawQuery("0161 00", "0001 0000 0000 0001"),
    optRecord(4096, 0, "000a 0008 0102030405060708 0008 0007 0001 18 00 090909"),
  );
  const out = withClientSubnet(parseQuery(own), parseIP("1.2.3.4")!);
  const opt = decodeMessage(out).additionals[0];
  equal(opt.class, 4096);
  deepEqual(opt.data, hex("000a 0008 0102030405060708 0008 0007 0001 18 00 010203"));
});

Deno.test("dns message: an answer gets the client's id and spelling, loses OPT for a non-EDNS client, is cut for UDP", () => {
  const big = encodeMessage({
    id: 9,
    qr: true,
    opcode: 0,
    aa: false,
    tc: false,
    rd: true,
    ra: true,
    rcode: 0,
    questions: [{ name: "big.test", type: DnsType.A, class: CLASS_IN }],
    answers: Array.from({ length: 40 }, (_, i) => ({
      name: "big.test",
      type: DnsType.A,
      class: CLASS_IN,
      ttl: 60,
      address: `10.0.0.${i}`,
    })),
    authorities: [],
    additionals: [{ name: "", type: DnsType.OPT, class: 1232, ttl: 0, data: new Uint8Array() }],
  });
  const m = decodeMessage(big);
  ok(big.length > 512);
  const plainQ = parseQuery(encodeQuery(0x7777, "BIG.test", DnsType.A));
  const overTcp = forClient(big.slice(), layoutOf(m), plainQ, false);
  const back = decodeMessage(overTcp);
  equal(back.id, 0x7777);
  equal(back.questions[0].name, "BIG.test", "the client's spelling");
  equal(back.additionals.length, 0, "no OPT for a client that sent none");
  equal(back.answers.length, 40);
  const overUdp = decodeMessage(forClient(big.slice(), layoutOf(m), plainQ, true));
  deepEqual([overUdp.tc, overUdp.answers.length, overUdp.additionals.length], [true, 0, 0]);
  const ednsQ = parseQuery(join(rawQuery("03626967 0474657374 00", "0001 0000 0000 0001"), optRecord(4096, 0)));
  const fits = decodeMessage(forClient(big.slice(), layoutOf(m), ednsQ, true));
  deepEqual([fits.tc, fits.answers.length, fits.additionals.length], [false, 40, 1], "fits the client's 4096 bytes");
});

Deno.test("dns message: an upstream answer loses its DNS cookie, keeps its other EDNS0 options", () => {
  const reply = join(
    hex("1234 8180 0001 0000 0000 0001 0161 00 0001 0001"),
    optRecord(1232, 0, "000a 0010 0102030405060708 1112131415161718 0008 0004 0001 0000"),
  );
  const out = withoutCookie(reply, decodeMessage(reply));
  const opt = decodeMessage(out).additionals[0];
  deepEqual(opt.data, hex("0008 0004 0001 0000"));
  equal(out.length, reply.length - 20);
  const none = join(hex("1234 8180 0001 0000 0000 0001 0161 00 0001 0001"), optRecord(1232, 0));
  equal(withoutCookie(none, decodeMessage(none)), none, "no cookie: the same bytes");
});
