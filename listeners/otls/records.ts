/**
 * TLS-looking records of GOST's obfs-tls (simple-obfs "tls" mode, docs/wire.md "obfs-http / obfs-tls"): the fake
 * ClientHello that carries the first payload in its session-ticket extension, the fixed 91-byte ServerHello, and
 * the record stream after them (`[type u8][03 03][len u16][data]`, data at most 16,384 bytes a record). Nothing is
 * encrypted: the records only look like TLS 1.2.
 * @module
 */
import type { Conn } from "../../core/conn.ts";
import { concatBytes } from "../../core/bytes.ts";
import { HandshakeError, UnexpectedEofError } from "../../core/errors.ts";

/** The most data bytes in one record, both ways (GOST's and simple-obfs's cap). */
export const MAX_RECORD_DATA = 16_384;
/**
 * The most payload the dialer puts in the ClientHello's session ticket; the rest of the first write follows as
 * application-data records, so the ClientHello record stays under simple-obfs's 16 KiB receive buffer.
 */
export const MAX_TICKET = 15_872;

/** Record content types. */
export const HANDSHAKE = 0x16;
export const CHANGE_CIPHER_SPEC = 0x14;
export const APPLICATION_DATA = 0x17;

const SUITES = [
  0xc02c,
  0xc030,
  0x009f,
  0xcca9,
  0xcca8,
  0xccaa,
  0xc02b,
  0xc02f,
  0x009e,
  0xc024,
  0xc028,
  0x006b,
  0xc023,
  0xc027,
  0x0067,
  0xc00a,
  0xc014,
  0x0039,
  0xc009,
  0xc013,
  0x0033,
  0x009d,
  0x009c,
  0x003d,
  0x003c,
  0x0035,
  0x002f,
  0x00ff,
];
const SIG_ALGS = [
  0x0601,
  0x0602,
  0x0603,
  0x0501,
  0x0502,
  0x0503,
  0x0401,
  0x0402,
  0x0403,
  0x0301,
  0x0302,
  0x0303,
  0x0201,
  0x0202,
  0x0203,
];

/** A byte builder for the handshake messages. */
class Out {
  readonly b: number[] = [];
  u8(...v: number[]): this {
    this.b.push(...v);
    return this;
  }
  u16(...v: number[]): this {
    for (const x of v) this.b.push(x >> 8, x & 0xff);
    return this;
  }
  bytes(p: Uint8Array): this {
    for (const x of p) this.b.push(x);
    return this;
  }
  /** An extension: type, u16 length, body. */
  ext(type: number, body: Out | Uint8Array): this {
    const data = body instanceof Out ? Uint8Array.from(body.b) : body;
    return this.u16(type, data.length).bytes(data);
  }
}

/** One record's header and data. */
export function record(type: number, minor: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + data.length);
  out.set([type, 0x03, minor, data.length >> 8, data.length & 0xff]);
  out.set(data, 5);
  return out;
}

/** `data` as records of at most {@link MAX_RECORD_DATA} bytes: the first of type `first`, the others app data. */
export function dataRecords(data: Uint8Array, first = APPLICATION_DATA): Uint8Array {
  const parts: Uint8Array[] = [];
  let type = first;
  for (let off = 0; off < data.length || (off === 0 && type !== APPLICATION_DATA); off += MAX_RECORD_DATA) {
    parts.push(record(type, 0x03, data.subarray(off, off + MAX_RECORD_DATA)));
    type = APPLICATION_DATA;
  }
  return parts.length === 1 ? parts[0] : concatBytes(parts);
}

function random(): Uint8Array {
  const r = crypto.getRandomValues(new Uint8Array(32));
  new DataView(r.buffer).setUint32(0, Math.floor(Date.now() / 1000));
  return r;
}

/** The client's first record: the ClientHello with `ticket` (the first payload) and `host` as SNI, as GOST builds it. */
export function clientHello(ticket: Uint8Array, host: string): Uint8Array {
  const name = new TextEncoder().encode(host);
  const exts = new Out()
    .ext(0x0023, ticket)
    .ext(0x0000, new Out().u16(name.length + 3).u8(0).u16(name.length).bytes(name))
    .ext(0x000b, Uint8Array.of(3, 0x01, 0x00, 0x02))
    .ext(0x000a, new Out().u16(8, 0x001d, 0x0017, 0x0019, 0x0018))
    .ext(0x000d, new Out().u16(SIG_ALGS.length * 2, ...SIG_ALGS))
    .ext(0x0016, new Uint8Array(0))
    .ext(0x0017, new Uint8Array(0));
  const body = new Out().u16(0x0303).bytes(random()).u8(32).bytes(crypto.getRandomValues(new Uint8Array(32)))
    .u16(SUITES.length * 2, ...SUITES).u8(1, 0).u16(exts.b.length);
  const msg = concatBytes([Uint8Array.from(body.b), Uint8Array.from(exts.b)]);
  const hs = concatBytes([Uint8Array.of(1, msg.length >> 16, (msg.length >> 8) & 0xff, msg.length & 0xff), msg]);
  return record(HANDSHAKE, 0x01, hs);
}

/** The server's ServerHello (91 bytes of handshake, `session` echoed) and ChangeCipherSpec records. */
export function serverHello(session: Uint8Array): Uint8Array {
  const exts = new Out().ext(0xff01, Uint8Array.of(0)).ext(0x0017, new Uint8Array(0)).ext(0x000b, Uint8Array.of(1, 0));
  const body = new Out().u16(0x0303).bytes(random()).u8(32).bytes(session).u16(0xcca8).u8(0).u16(exts.b.length)
    .bytes(Uint8Array.from(exts.b));
  const hs = concatBytes([Uint8Array.of(2, 0, body.b.length >> 8, body.b.length & 0xff), Uint8Array.from(body.b)]);
  return concatBytes([record(HANDSHAKE, 0x01, hs), record(CHANGE_CIPHER_SPEC, 0x03, Uint8Array.of(1))]);
}

/** What the server takes from a ClientHello. */
export interface ParsedHello {
  /** The session-ticket extension's data: the first payload (empty when absent). */
  ticket: Uint8Array;
  /** The session id (32 bytes from GOST and simple-obfs clients). */
  session: Uint8Array;
}

/**
 * Parses a ClientHello handshake message (a record's data), every length checked against its container.
 * @throws {HandshakeError} on anything malformed
 */
export function parseClientHello(b: Uint8Array): ParsedHello {
  const bad = (why: string) => new HandshakeError(`bad ClientHello: ${why}`);
  if (b.length < 4 || b[0] !== 1) throw bad(`handshake type ${b[0]}, not ClientHello`);
  const len = (b[1] << 16) | (b[2] << 8) | b[3];
  if (len < 34 || len > b.length - 4) throw bad(`length ${len} in a ${b.length}-byte record`);
  const m = b.subarray(4, 4 + len);
  const version = (m[0] << 8) | m[1];
  if (version < 0x0301 || version > 0x0304) throw bad(`version ${version.toString(16)}`);
  let pos = 34;
  const need = (n: number, what: string) => {
    if (pos + n > m.length) throw bad(`${what} runs past the message`);
  };
  need(1, "session id");
  const sidLen = m[pos++];
  need(sidLen, "session id");
  const session = m.slice(pos, pos + sidLen);
  pos += sidLen;
  need(2, "cipher suites");
  const suites = (m[pos] << 8) | m[pos + 1];
  pos += 2;
  need(suites, "cipher suites");
  pos += suites;
  need(1, "compression methods");
  const comps = m[pos++];
  need(comps, "compression methods");
  pos += comps;
  need(2, "extensions");
  const extLen = (m[pos] << 8) | m[pos + 1];
  pos += 2;
  need(extLen, "extensions");
  const end = pos + extLen;
  let ticket: Uint8Array = new Uint8Array(0);
  let found = false;
  while (pos < end) {
    if (pos + 4 > end) throw bad("extension header runs past the extensions");
    const type = (m[pos] << 8) | m[pos + 1];
    const n = (m[pos + 2] << 8) | m[pos + 3];
    pos += 4;
    if (pos + n > end) throw bad(`extension ${type} runs past the extensions`);
    if (type === 0x0023 && !found) {
      ticket = m.slice(pos, pos + n);
      found = true;
    }
    pos += n;
  }
  return { ticket, session };
}

/** What a record header must be: the length of data to take (or skip), or an error. */
export type RecordCheck = (index: number, type: number, major: number, minor: number, len: number) => {
  len: number;
  skip: boolean;
};

/**
 * Reads the data of a record stream: each record header is checked by `check` (by its index), its data handed to
 * the reader or skipped. A stream that ends inside a record is an error; at a record boundary it is EOF.
 */
export class RecordReader {
  readonly #inner: Conn;
  readonly #check: RecordCheck;
  readonly #buf = new Uint8Array(MAX_RECORD_DATA * 2 + 10);
  #start = 0;
  #end = 0;
  #remaining = 0;
  #skip = false;
  #index = 0;

  /** @param initial bytes already read past the handshake */
  constructor(inner: Conn, check: RecordCheck, initial: Uint8Array = new Uint8Array(0)) {
    this.#inner = inner;
    this.#check = check;
    this.#buf.set(initial.subarray(0, this.#buf.length));
    this.#end = Math.min(initial.length, this.#buf.length);
    if (initial.length > this.#buf.length) throw new HandshakeError("too many bytes after the handshake");
  }

  /** Reads record data into `p`: the count, or null at EOF. @throws {HandshakeError} on a bad record */
  async read(p: Uint8Array): Promise<number | null> {
    if (p.length === 0) return 0;
    for (;;) {
      let out = 0;
      const buf = this.#buf;
      while (out < p.length) {
        if (this.#remaining === 0) {
          if (this.#end - this.#start < 5) break;
          const s = this.#start;
          const { len, skip } = this.#check(
            this.#index++,
            buf[s],
            buf[s + 1],
            buf[s + 2],
            (buf[s + 3] << 8) | buf[s + 4],
          );
          this.#start += 5;
          this.#remaining = len;
          this.#skip = skip;
          continue;
        }
        const avail = this.#end - this.#start;
        if (avail === 0) break;
        const n = Math.min(avail, this.#remaining, this.#skip ? avail : p.length - out);
        if (!this.#skip) {
          p.set(buf.subarray(this.#start, this.#start + n), out);
          out += n;
        }
        this.#start += n;
        this.#remaining -= n;
      }
      if (out > 0) return out;
      if (this.#start > 0) {
        buf.copyWithin(0, this.#start, this.#end);
        this.#end -= this.#start;
        this.#start = 0;
      }
      const n = await this.#inner.read(buf.subarray(this.#end));
      if (n === null) {
        if (this.#end > 0 || this.#remaining > 0) throw new UnexpectedEofError("stream ended inside a TLS record");
        return null;
      }
      this.#end += n;
    }
  }
}
