/**
 * DNS messages as the proxy handles them, on their bytes: a client's query checked as a DNS server checks it
 * (miekg/dns's accept rules, which GOST's listener runs), the replies the proxy makes itself (FORMERR, SERVFAIL,
 * an empty answer, A/AAAA from the hosts table), the EDNS0 client subnet option GOST adds (RFC 7871), and the edits
 * an upstream's answer gets on its way back (its OPT record removed for a client that sent none, truncated to the
 * client's UDP size). The wire is in docs/wire.md, "DNS proxy".
 * @module
 */
import { concatBytes } from "../../core/bytes.ts";
import { HandshakeError } from "../../core/errors.ts";
import type { IP } from "../../core/routing/matcher.ts";
import {
  decodeMessage,
  type DnsMessage,
  type DnsQuestion,
  type DnsRecord,
  DnsType,
} from "../../core/routing/dns_wire.ts";

/** The DNS header's size. */
export const HEADER_SIZE = 12;
/** The UDP payload a client without EDNS0 takes (RFC 1035 §4.2.1). */
export const CLASSIC_UDP_SIZE = 512;
/** The UDP payload size the proxy advertises in the OPT records it writes (the DNS flag day 2020 value). */
export const EDNS_UDP_SIZE = 1232;
/** EDNS0 option code of the client subnet (RFC 7871). */
export const OPTION_CLIENT_SUBNET = 8;
/** EDNS0 option code of DNS cookies (RFC 7873). */
export const OPTION_COOKIE = 10;

const QR = 0x8000, TC = 0x0200, RD = 0x0100, RA = 0x0080, CD = 0x0010;
/** The DO bit (DNSSEC OK) in an OPT record's TTL field. */
const DO = 0x8000;

/** Opcodes the proxy answers; others get NOTIMP, as miekg/dns answers them. */
const OPCODE_QUERY = 0;
const OPCODE_NOTIFY = 4;

/**
 * What a datagram looks like before it is decoded: a query to answer, one to answer with only a header (FORMERR,
 * NOTIMP), or bytes to drop without a word (shorter than a header, or a response: answering those would make the
 * proxy a reflector).
 * @example screenQuery(bytes) // { kind: "reject", rcode: 1, why: "2 questions" }
 */
export type Screened =
  | { kind: "query" }
  | { kind: "reject"; rcode: number; why: string }
  | { kind: "drop"; why: string };

/**
 * Checks the header of a client's message as miekg/dns's default accept function does: a response or a message
 * shorter than a header is dropped, an opcode other than QUERY/NOTIFY gets NOTIMP, and a question count other than
 * 1, more than one answer or authority record, or more than two additional records gets FORMERR.
 * @example screenQuery(new Uint8Array(5)).kind // "drop"
 */
export function screenQuery(b: Uint8Array): Screened {
  if (b.length < HEADER_SIZE) return { kind: "drop", why: `${b.length}-byte message, shorter than a DNS header` };
  const flags = (b[2] << 8) | b[3];
  if (flags & QR) return { kind: "drop", why: "a response, not a query" };
  const opcode = (flags >> 11) & 0xf;
  if (opcode !== OPCODE_QUERY && opcode !== OPCODE_NOTIFY) {
    return { kind: "reject", rcode: 4, why: `opcode ${opcode}` };
  }
  const [qd, an, ns, ar] = [u16(b, 4), u16(b, 6), u16(b, 8), u16(b, 10)];
  if (qd !== 1) return { kind: "reject", rcode: 1, why: `${qd} questions` };
  if (an > 1 || ns > 1 || ar > 2) return { kind: "reject", rcode: 1, why: `section counts ${an}/${ns}/${ar}` };
  return { kind: "query" };
}

/**
 * A client's query, decoded.
 * @example const q = parseQuery(bytes); q.question.name // "example.com"
 */
export interface ParsedQuery {
  readonly bytes: Uint8Array;
  readonly message: DnsMessage;
  readonly question: DnsQuestion;
  /** The question's bytes (name, type, class), from offset 12. */
  readonly questionBytes: Uint8Array;
  /** The query's OPT record, when it has one (EDNS0). */
  readonly opt?: DnsRecord;
  /** The largest UDP reply the client takes: its OPT's size (at least 512), else 512. */
  readonly udpSize: number;
  /** DNSSEC OK (in the OPT record) and Checking Disabled: they change the answer, so they key the cache. */
  readonly dnssecOk: boolean;
  readonly checkingDisabled: boolean;
}

/**
 * Decodes a query that passed {@link screenQuery}.
 * @throws {HandshakeError} on anything malformed: a compression loop or forward pointer, a label longer than 63
 *   bytes, a name longer than 255, truncation, a compressed question name, a second OPT record
 */
export function parseQuery(raw: Uint8Array): ParsedQuery {
  const message = decodeMessage(raw);
  const end = message.questionEnd!;
  // bytes after the last record are ignored (as miekg/dns does) and not passed on
  const last = [...message.answers, ...message.authorities, ...message.additionals].at(-1);
  const bytes = raw.subarray(0, last?.span?.end ?? end);
  // the question is the first name: a pointer in it could only point into the header
  for (let at = HEADER_SIZE; bytes[at] !== 0; at += bytes[at] + 1) {
    if (bytes[at] & 0xc0) throw new HandshakeError("Malformed DNS message: compressed question name");
  }
  const opts = message.additionals.filter((r) => r.type === DnsType.OPT);
  if (opts.length > 1) throw new HandshakeError("Malformed DNS message: more than one OPT record");
  const opt = opts[0];
  if (opt && opt.name !== "") throw new HandshakeError("Malformed DNS message: OPT record not owned by the root");
  const flags = u16(bytes, 2);
  return {
    bytes,
    message,
    question: message.questions[0],
    questionBytes: bytes.subarray(HEADER_SIZE, end),
    opt,
    udpSize: opt ? Math.max(CLASSIC_UDP_SIZE, opt.class) : CLASSIC_UDP_SIZE,
    dnssecOk: opt ? (opt.ttl & DO) !== 0 : false,
    checkingDisabled: (flags & CD) !== 0,
  };
}

function u16(b: Uint8Array, at: number): number {
  return (b[at] << 8) | b[at + 1];
}

function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >> 8) & 0xff;
  b[at + 1] = v & 0xff;
}

/**
 * A reply of only a header (miekg/dns's FORMERR and NOTIMP): the query's id, opcode and RD, QR set, `rcode`, no
 * sections.
 * @example headerReply(query, 1) // 12 bytes: FORMERR
 */
export function headerReply(query: Uint8Array, rcode: number): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE);
  out[0] = query[0] ?? 0;
  out[1] = query[1] ?? 0;
  const flags = query.length >= 4 ? u16(query, 2) : 0;
  put16(out, 2, QR | (flags & (0x7800 | RD)) | (rcode & 0xf));
  return out;
}

/** One A or AAAA record of a reply the proxy makes (the owner is the question's name). */
export interface AddressAnswer {
  readonly address: IP;
  readonly ttl: number;
}

/** The minimal OPT record (root owner, our UDP size, no options) the proxy's own replies carry for EDNS0 clients. */
const OWN_OPT = new Uint8Array([0, 0, DnsType.OPT, EDNS_UDP_SIZE >> 8, EDNS_UDP_SIZE & 0xff, 0, 0, 0, 0, 0, 0]);

/**
 * A reply the proxy makes itself: the query's header (id, opcode, RD, CD) with QR and RA set, `rcode`, the question,
 * `answers` (A/AAAA owned by the question's name, compressed to it) and an OPT record when the query had one.
 * @example ownReply(q, 0, []) // an empty NOERROR answer (a bypassed name)
 */
export function ownReply(q: ParsedQuery, rcode: number, answers: readonly AddressAnswer[] = []): Uint8Array {
  const parts: Uint8Array[] = [new Uint8Array(HEADER_SIZE), q.questionBytes];
  for (const a of answers) {
    const v6 = a.address.family === 6;
    const rec = new Uint8Array(12 + a.address.bytes.length);
    rec.set([0xc0, HEADER_SIZE, 0, v6 ? DnsType.AAAA : DnsType.A, 0, 1]);
    new DataView(rec.buffer).setUint32(6, a.ttl >>> 0);
    put16(rec, 10, a.address.bytes.length);
    rec.set(a.address.bytes, 12);
    parts.push(rec);
  }
  if (q.opt) parts.push(OWN_OPT);
  const out = concatBytes(parts);
  out[0] = q.bytes[0];
  out[1] = q.bytes[1];
  put16(out, 2, QR | RA | (u16(q.bytes, 2) & (0x7800 | RD | CD)) | (rcode & 0xf));
  put16(out, 4, 1);
  put16(out, 6, answers.length);
  put16(out, 10, q.opt ? 1 : 0);
  return out;
}

/**
 * The query with GOST's EDNS0 client subnet option for `ip` (an IPv4 address as a /24, an IPv6 one as a /128, as
 * GOST sends them): added to the query's OPT record (replacing a subnet option the client sent) or in a new OPT
 * record.
 * @example withClientSubnet(q, parseIP("1.2.3.4")!) // … 00 08 00 07 00 01 18 00 01 02 03
 */
export function withClientSubnet(q: ParsedQuery, ip: IP): Uint8Array {
  const prefix = ip.family === 4 ? 24 : 128;
  const addr = ip.bytes.subarray(0, Math.ceil(prefix / 8));
  const option = new Uint8Array(8 + addr.length);
  put16(option, 0, OPTION_CLIENT_SUBNET);
  put16(option, 2, 4 + addr.length);
  put16(option, 4, ip.family === 4 ? 1 : 2);
  option[6] = prefix;
  option.set(addr, 8);
  const b = q.bytes;
  if (!q.opt?.span) {
    const rr = new Uint8Array(11);
    rr.set([0, 0, DnsType.OPT, EDNS_UDP_SIZE >> 8, EDNS_UDP_SIZE & 0xff]);
    put16(rr, 9, option.length);
    const out = concatBytes([b, rr, option]);
    put16(out, 10, u16(b, 10) + 1);
    return out;
  }
  const { ttl, end } = q.opt.span;
  const kept: Uint8Array[] = [];
  const data = b.subarray(ttl + 6, end);
  for (let at = 0; at + 4 <= data.length;) {
    const len = u16(data, at + 2);
    if (u16(data, at) !== OPTION_CLIENT_SUBNET) kept.push(data.subarray(at, at + 4 + len));
    at += 4 + len;
  }
  const rdata = concatBytes([...kept, option]);
  const rdlen = new Uint8Array(2);
  put16(rdlen, 0, rdata.length);
  return concatBytes([b.subarray(0, ttl + 4), rdlen, rdata, b.subarray(end)]);
}

/**
 * Where an answer's question ends and its OPT record sits: what the edits below need (a cached answer keeps it).
 * @example layoutOf(decodeMessage(reply)) // { questionEnd: 29, opt: { start: 45, end: 56 } }
 */
export interface AnswerLayout {
  readonly questionEnd: number;
  readonly opt?: { readonly start: number; readonly end: number };
}

/** The layout of a decoded answer. */
export function layoutOf(m: DnsMessage): AnswerLayout {
  const span = m.additionals.find((r) => r.type === DnsType.OPT)?.span;
  return { questionEnd: m.questionEnd!, ...(span ? { opt: { start: span.start, end: span.end } } : {}) };
}

/**
 * An answer as it goes to the client of `q` (in place where it can be): the client's id and question spelling;
 * without the OPT record when the query had none (RFC 6891 §7); over UDP, cut to the client's UDP size when longer
 * (RFC 1035 §4.2.1, RFC 6891 §7: the header with TC set, the question, and the OPT record for an EDNS0 client).
 * @param reply the answer; its bytes may be changed
 */
export function forClient(reply: Uint8Array, layout: AnswerLayout, q: ParsedQuery, udp: boolean): Uint8Array {
  reply[0] = q.bytes[0];
  reply[1] = q.bytes[1];
  const name = q.questionBytes.length - 4;
  if (layout.questionEnd === HEADER_SIZE + name + 4) reply.set(q.questionBytes.subarray(0, name), HEADER_SIZE);
  const opt = layout.opt;
  const dropOpt = opt !== undefined && !q.opt;
  const size = dropOpt ? reply.length - (opt.end - opt.start) : reply.length;
  if (udp && size > q.udpSize) {
    const parts = [reply.subarray(0, layout.questionEnd)];
    if (opt && q.opt) parts.push(reply.subarray(opt.start, opt.end));
    const out = concatBytes(parts);
    put16(out, 2, u16(out, 2) | TC);
    put16(out, 6, 0);
    put16(out, 8, 0);
    put16(out, 10, opt && q.opt ? 1 : 0);
    return out;
  }
  if (!dropOpt) return reply;
  const out = concatBytes([reply.subarray(0, opt.start), reply.subarray(opt.end)]);
  put16(out, 10, u16(out, 10) - 1);
  return out;
}

/**
 * An upstream answer without its DNS cookie option (RFC 7873): the cookies are the first client's and the upstream's,
 * and a cookie-aware client that gets another client's cookie (a cached answer) must drop the answer.
 * @returns `reply` itself when its OPT record has no cookie
 */
export function withoutCookie(reply: Uint8Array, m: DnsMessage): Uint8Array {
  const opt = m.additionals.find((r) => r.type === DnsType.OPT)?.span;
  if (!opt) return reply;
  const data = reply.subarray(opt.ttl + 6, opt.end);
  const kept: Uint8Array[] = [];
  let found = false;
  for (let at = 0; at + 4 <= data.length;) {
    const len = u16(data, at + 2);
    if (u16(data, at) === OPTION_COOKIE) found = true;
    else kept.push(data.subarray(at, at + 4 + len));
    at += 4 + len;
  }
  if (!found) return reply;
  const rdata = concatBytes(kept);
  const rdlen = new Uint8Array(2);
  put16(rdlen, 0, rdata.length);
  return concatBytes([reply.subarray(0, opt.ttl + 4), rdlen, rdata, reply.subarray(opt.end)]);
}

/** The id of a message. */
export function messageId(b: Uint8Array): number {
  return u16(b, 0);
}

/** Sets the id of a message in place. */
export function setMessageId(b: Uint8Array, id: number): void {
  put16(b, 0, id);
}
