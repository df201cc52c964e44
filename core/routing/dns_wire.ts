/**
 * DNS messages on the wire (RFC 1035, AAAA from RFC 3596): encode queries and answers, decode anything a server
 * may send. Decoding follows compression pointers only backwards and at most {@link MAX_POINTER_JUMPS} times,
 * checks every length against the buffer, and throws a {@link HandshakeError} on malformed input — it never
 * loops on hostile bytes. A, AAAA, CNAME, NS, PTR and SOA data are decoded; other types keep their raw bytes.
 * @module
 */
import { HandshakeError } from "../errors.ts";
import { formatIP, parseIP } from "./matcher.ts";

/**
 * Record types used here (others pass through as numbers).
 * @example encodeQuery(1, "example.com", DnsType.AAAA)
 */
export const DnsType = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, OPT: 41 } as const;
/**
 * The Internet class.
 * @example const q: DnsQuestion = { name: "example.com", type: DnsType.A, class: CLASS_IN };
 */
export const CLASS_IN = 1;
/**
 * Response codes.
 * @example if (decodeMessage(reply).rcode === Rcode.NXDOMAIN) throw new Error("no such name");
 */
export const Rcode = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
/**
 * The most compression pointers followed while decoding one name.
 * @example MAX_POINTER_JUMPS // 64: a name needing more throws HandshakeError
 */
export const MAX_POINTER_JUMPS = 64;

/**
 * A question: name (no trailing dot), type and class.
 * @example const q: DnsQuestion = { name: "example.com", type: DnsType.A, class: CLASS_IN };
 */
export interface DnsQuestion {
  name: string;
  type: number;
  class: number;
}

/**
 * The SOA fields (for negative-caching TTLs).
 * @example Math.min(rec.ttl, rec.soa!.minimum) // the negative-caching TTL of RFC 2308
 */
export interface DnsSoa {
  mname: string;
  rname: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}

/**
 * A resource record. Decoding fills `data` (raw RDATA) and, by type, `address` (A/AAAA), `target`
 * (CNAME/NS/PTR) or `soa`. Encoding takes `address`, `target` or `soa` when present, else `data`.
 * @example const r: DnsRecord = { name: "a.test", type: DnsType.A, class: CLASS_IN, ttl: 60, address: "10.0.0.1" };
 */
export interface DnsRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  data?: Uint8Array;
  address?: string;
  target?: string;
  soa?: DnsSoa;
  /** Decoded records: where the record sits in the decoded buffer (to patch a TTL or cut the record out). */
  span?: DnsRecordSpan;
}

/**
 * Where a decoded record sits in its buffer: its first byte, its 4-byte TTL field and the byte after its data
 * (its RDATA starts at `ttl + 6`, after the 2-byte RDLENGTH).
 * @example const s = decodeMessage(reply).answers[0].span!; new DataView(reply.buffer).setUint32(s.ttl, 30)
 */
export interface DnsRecordSpan {
  start: number;
  ttl: number;
  end: number;
}

/**
 * A whole message: header fields, then the four sections.
 * @example const m: DnsMessage = decodeMessage(bytes); m.tc // truncated: retry over TCP
 */
export interface DnsMessage {
  id: number;
  /** True in responses. */
  qr: boolean;
  opcode: number;
  aa: boolean;
  /** Truncated: retry over TCP. */
  tc: boolean;
  rd: boolean;
  ra: boolean;
  rcode: number;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  authorities: DnsRecord[];
  additionals: DnsRecord[];
  /** Decoded messages: the offset where the question section ends (the header and questions are the bytes before). */
  questionEnd?: number;
}

const enc = new TextEncoder();

function nameToLabels(name: string): Uint8Array[] {
  let n = name.endsWith(".") ? name.slice(0, -1) : name;
  if (n === "") return [];
  // deno-lint-ignore no-control-regex
  if (/[^\x00-\x7f]/.test(n)) n = new URL(`http://${n}`).hostname; // IDNA → punycode
  const labels = n.split(".").map((l) => enc.encode(l));
  let total = 1;
  for (const l of labels) {
    if (l.length === 0 || l.length > 63) throw new RangeError(`Invalid DNS name "${name}": bad label length`);
    total += l.length + 1;
  }
  if (total > 255) throw new RangeError(`Invalid DNS name "${name}": longer than 255 bytes`);
  return labels;
}

class Writer {
  #buf: Uint8Array<ArrayBuffer> = new Uint8Array(512);
  #len = 0;
  #grow(n: number) {
    if (this.#len + n <= this.#buf.length) return;
    const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + n));
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }
  u8(v: number) {
    this.#grow(1);
    this.#buf[this.#len++] = v;
  }
  u16(v: number) {
    this.u8((v >> 8) & 0xff);
    this.u8(v & 0xff);
  }
  u32(v: number) {
    this.u16((v >>> 16) & 0xffff);
    this.u16(v & 0xffff);
  }
  bytes(b: Uint8Array) {
    this.#grow(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
  }
  name(n: string) {
    for (const l of nameToLabels(n)) {
      this.u8(l.length);
      this.bytes(l);
    }
    this.u8(0);
  }
  get length() {
    return this.#len;
  }
  patch16(at: number, v: number) {
    this.#buf[at] = (v >> 8) & 0xff;
    this.#buf[at + 1] = v & 0xff;
  }
  result(): Uint8Array<ArrayBuffer> {
    return this.#buf.slice(0, this.#len);
  }
}

function writeRecord(w: Writer, r: DnsRecord) {
  w.name(r.name);
  w.u16(r.type);
  w.u16(r.class);
  w.u32(r.ttl >>> 0);
  const lenAt = w.length;
  w.u16(0);
  if (r.address !== undefined) {
    const ip = parseIP(r.address);
    if (!ip) throw new RangeError(`Invalid address "${r.address}" in DNS record ${r.name}`);
    w.bytes(ip.bytes);
  } else if (r.target !== undefined) w.name(r.target);
  else if (r.soa) {
    w.name(r.soa.mname);
    w.name(r.soa.rname);
    for (const v of [r.soa.serial, r.soa.refresh, r.soa.retry, r.soa.expire, r.soa.minimum]) w.u32(v);
  } else w.bytes(r.data ?? new Uint8Array());
  w.patch16(lenAt, w.length - lenAt - 2);
}

/**
 * Encodes a message (no name compression, which is always valid).
 * @throws {RangeError} on a name that cannot be encoded or an invalid address
 * @example encodeMessage({ ...response, answers: [{ name: "a.test", type: 1, class: 1, ttl: 60, address: "10.0.0.1" }] })
 */
export function encodeMessage(m: DnsMessage): Uint8Array<ArrayBuffer> {
  const w = new Writer();
  w.u16(m.id);
  w.u16(
    (m.qr ? 0x8000 : 0) | ((m.opcode & 0xf) << 11) | (m.aa ? 0x400 : 0) | (m.tc ? 0x200 : 0) | (m.rd ? 0x100 : 0) |
      (m.ra ? 0x80 : 0) | (m.rcode & 0xf),
  );
  for (const s of [m.questions, m.answers, m.authorities, m.additionals]) w.u16(s.length);
  for (const q of m.questions) {
    w.name(q.name);
    w.u16(q.type);
    w.u16(q.class);
  }
  for (const r of [...m.answers, ...m.authorities, ...m.additionals]) writeRecord(w, r);
  return w.result();
}

/**
 * Encodes a standard recursive query for one name and type.
 * @param id the message id (0 for DoH, as RFC 8484 recommends)
 * @example encodeQuery(0x1234, "example.com", DnsType.A) // 29 bytes: header, 07example03com00, 0001 0001
 */
export function encodeQuery(id: number, name: string, type: number): Uint8Array<ArrayBuffer> {
  return encodeMessage({
    id,
    qr: false,
    opcode: 0,
    aa: false,
    tc: false,
    rd: true,
    ra: false,
    rcode: 0,
    questions: [{ name, type, class: CLASS_IN }],
    answers: [],
    authorities: [],
    additionals: [],
  });
}

class Reader {
  readonly buf: Uint8Array;
  off = 0;
  constructor(buf: Uint8Array) {
    this.buf = buf;
  }
  need(n: number, what: string) {
    if (this.off + n > this.buf.length) throw new HandshakeError(`Malformed DNS message: truncated ${what}`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.off++];
  }
  u16(what: string): number {
    this.need(2, what);
    const v = (this.buf[this.off] << 8) | this.buf[this.off + 1];
    this.off += 2;
    return v;
  }
  u32(what: string): number {
    return this.u16(what) * 0x10000 + this.u16(what);
  }
  name(): string {
    const labels: string[] = [];
    let pos = this.off, end = -1, jumps = 0, total = 1;
    for (;;) {
      if (pos >= this.buf.length) throw new HandshakeError("Malformed DNS message: truncated name");
      const len = this.buf[pos];
      if (len === 0) {
        pos++;
        break;
      }
      const kind = len & 0xc0;
      if (kind === 0xc0) {
        if (pos + 1 >= this.buf.length) throw new HandshakeError("Malformed DNS message: truncated pointer");
        const target = ((len & 0x3f) << 8) | this.buf[pos + 1];
        if (target >= pos) throw new HandshakeError("Malformed DNS message: compression pointer does not point back");
        if (++jumps > MAX_POINTER_JUMPS) throw new HandshakeError("Malformed DNS message: too many pointers");
        if (end < 0) end = pos + 2;
        pos = target;
        continue;
      }
      if (kind !== 0) throw new HandshakeError(`Malformed DNS message: unsupported label type 0x${len.toString(16)}`);
      if (pos + 1 + len > this.buf.length) throw new HandshakeError("Malformed DNS message: truncated label");
      total += len + 1;
      if (total > 255) throw new HandshakeError("Malformed DNS message: name longer than 255 bytes");
      labels.push(String.fromCharCode(...this.buf.subarray(pos + 1, pos + 1 + len)));
      pos += 1 + len;
    }
    this.off = end >= 0 ? end : pos;
    return labels.join(".");
  }
}

function readRecord(r: Reader): DnsRecord {
  const at = r.off;
  const name = r.name();
  const type = r.u16("record type"), cls = r.u16("record class"), ttlAt = r.off, ttl = r.u32("record TTL");
  const rdlen = r.u16("record length");
  r.need(rdlen, "record data");
  const start = r.off, stop = start + rdlen;
  const rec: DnsRecord = {
    name,
    type,
    class: cls,
    ttl,
    data: r.buf.slice(start, stop),
    span: { start: at, ttl: ttlAt, end: stop },
  };
  const bad = (why: string) => new HandshakeError(`Malformed DNS message: ${why} in ${name} type ${type}`);
  if (type === DnsType.A || type === DnsType.AAAA) {
    const want = type === DnsType.A ? 4 : 16;
    if (rdlen !== want) throw bad(`${rdlen}-byte address`);
    rec.address = formatIP({ family: want === 4 ? 4 : 6, bytes: rec.data! });
  } else if (type === DnsType.CNAME || type === DnsType.NS || type === DnsType.PTR) {
    rec.target = r.name();
    if (r.off !== stop) throw bad("name does not fill the record");
  } else if (type === DnsType.SOA) {
    const mname = r.name(), rname = r.name();
    const nums = [0, 0, 0, 0, 0].map(() => r.u32("SOA"));
    if (r.off !== stop) throw bad("SOA does not fill the record");
    const [serial, refresh, retry, expire, minimum] = nums;
    rec.soa = { mname, rname, serial, refresh, retry, expire, minimum };
  }
  r.off = stop;
  return rec;
}

/**
 * Decodes a message.
 * @throws {HandshakeError} on any malformed or truncated input
 * @example decodeMessage(reply).answers.map((r) => r.address) // ["93.184.215.14"]
 */
export function decodeMessage(buf: Uint8Array): DnsMessage {
  const r = new Reader(buf);
  if (buf.length < 12) throw new HandshakeError(`Malformed DNS message: ${buf.length}-byte header`);
  const id = r.u16("header"), flags = r.u16("header");
  const [qd, an, ns, ar] = [r.u16("header"), r.u16("header"), r.u16("header"), r.u16("header")];
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < qd; i++) questions.push({ name: r.name(), type: r.u16("question"), class: r.u16("question") });
  const questionEnd = r.off;
  const section = (n: number) => {
    const out: DnsRecord[] = [];
    for (let i = 0; i < n; i++) out.push(readRecord(r));
    return out;
  };
  return {
    id,
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    aa: (flags & 0x400) !== 0,
    tc: (flags & 0x200) !== 0,
    rd: (flags & 0x100) !== 0,
    ra: (flags & 0x80) !== 0,
    rcode: flags & 0xf,
    questions,
    answers: section(an),
    authorities: section(ns),
    additionals: section(ar),
    questionEnd,
  };
}
