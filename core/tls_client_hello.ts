/**
 * Reading a TLS ClientHello off a conn without terminating TLS (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2): the server
 * name (SNI, RFC 6066 §3) and the ALPN list (RFC 7301) a sniffing handler routes by, and the raw records read, to be
 * sent on to the chosen target unchanged. Shared by the handlers that route TLS by name (the forward handler's
 * `sniffing`, the SNI proxy). Every length is checked against what contains it; a hello cut short is an
 * {@link UnexpectedEofError}, a malformed one a {@link HandshakeError} (docs/wire.md, "TLS ClientHello sniffing").
 * @module
 */
import type { HandshakeReader } from "./bufio.ts";
import { HandshakeError, UnexpectedEofError } from "./errors.ts";

/** TLS record type of handshake messages. */
export const TLS_HANDSHAKE_RECORD = 0x16;
/** Handshake message type of a ClientHello. */
const CLIENT_HELLO = 0x01;
/** The largest plaintext record body (RFC 8446 §5.1: 2^14). */
const MAX_RECORD = 1 << 14;
/** The default cap on a whole ClientHello message (real ones are under 2 KiB, post-quantum key shares included). */
export const MAX_CLIENT_HELLO_BYTES = 64 * 1024;

const EXT_SERVER_NAME = 0x0000;
const EXT_ALPN = 0x0010;
const EXT_SUPPORTED_VERSIONS = 0x002b;

/** What a ClientHello says about where the client is going. */
export interface ClientHello {
  /** The SNI host name (lower case), `""` when the hello carries none. */
  serverName: string;
  /** The ALPN protocols offered, most preferred first (empty without the extension). */
  alpn: string[];
  /** `legacy_version` of the hello (0x0303 for TLS 1.2 and 1.3). */
  version: number;
  /** The `supported_versions` extension's list (TLS 1.3 clients), empty without it. */
  supportedVersions: number[];
}

/** A ClientHello read off a conn, and the bytes it came in. */
export interface ReadClientHello {
  /** The parsed hello. */
  hello: ClientHello;
  /** The TLS records read (headers included), exactly as the client sent them: write them to the target first. */
  raw: Uint8Array;
}

/**
 * Tells whether the first bytes of a stream look like a TLS handshake record (GOST's sniffing rule: type 0x16 and a
 * record version from TLS 1.0 to 1.3).
 * @param head at least 3 bytes
 * @example looksLikeTls(new Uint8Array([0x16, 0x03, 0x01])) // true
 */
export function looksLikeTls(head: Uint8Array): boolean {
  return head.length >= 3 && head[0] === TLS_HANDSHAKE_RECORD && head[1] === 0x03 && head[2] >= 0x01 &&
    head[2] <= 0x04;
}

/** A bounded cursor over one message: every read past its end is a {@link HandshakeError}. */
class Cursor {
  readonly #b: Uint8Array;
  #at: number;
  readonly #end: number;
  constructor(b: Uint8Array, from = 0, end = b.length) {
    this.#b = b;
    this.#at = from;
    this.#end = end;
  }
  get left(): number {
    return this.#end - this.#at;
  }
  #need(n: number, what: string): void {
    if (n > this.left) throw new HandshakeError(`ClientHello: ${what} runs past its container`);
  }
  u8(what: string): number {
    this.#need(1, what);
    return this.#b[this.#at++];
  }
  u16(what: string): number {
    this.#need(2, what);
    const v = (this.#b[this.#at] << 8) | this.#b[this.#at + 1];
    this.#at += 2;
    return v;
  }
  bytes(n: number, what: string): Uint8Array {
    this.#need(n, what);
    const out = this.#b.subarray(this.#at, this.#at + n);
    this.#at += n;
    return out;
  }
  /** A sub-cursor over the next `n` bytes (consumed here). */
  sub(n: number, what: string): Cursor {
    this.#need(n, what);
    const c = new Cursor(this.#b, this.#at, this.#at + n);
    this.#at += n;
    return c;
  }
}

const ascii = new TextDecoder();

/** A host name as SNI may carry it (RFC 6066: a DNS name, no trailing dot, no IP literal required to be refused). */
const HOST_NAME = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*$/;

function serverName(c: Cursor): string {
  const list = c.sub(c.u16("server_name list length"), "server_name list");
  let name = "";
  while (list.left > 0) {
    const type = list.u8("server_name type");
    const value = list.bytes(list.u16("server_name length"), "server_name");
    if (type !== 0 || name) continue; // host_name is the only type; RFC 6066 allows one of each type
    const s = ascii.decode(value);
    if (s.length > 253 || !HOST_NAME.test(s)) {
      throw new HandshakeError(`ClientHello: invalid server name ${JSON.stringify(s.slice(0, 80))}`);
    }
    name = s.toLowerCase();
  }
  return name;
}

function alpnList(c: Cursor): string[] {
  const list = c.sub(c.u16("ALPN list length"), "ALPN list");
  const out: string[] = [];
  while (list.left > 0) {
    const n = list.u8("ALPN name length");
    if (n === 0) throw new HandshakeError("ClientHello: empty ALPN protocol name");
    out.push(ascii.decode(list.bytes(n, "ALPN name")));
  }
  return out;
}

/**
 * Parses the body of a ClientHello handshake message (after its 4-byte handshake header).
 * @throws {HandshakeError} on any length that runs past its container, a bad server name or trailing bytes
 * @example parseClientHello(body).serverName // "example.com"
 */
export function parseClientHello(body: Uint8Array): ClientHello {
  const c = new Cursor(body);
  const version = c.u16("legacy_version");
  c.bytes(32, "random");
  const sid = c.u8("session_id length");
  if (sid > 32) throw new HandshakeError(`ClientHello: session_id of ${sid} bytes (at most 32)`);
  c.bytes(sid, "session_id");
  const suites = c.u16("cipher_suites length");
  if (suites < 2 || suites % 2) throw new HandshakeError(`ClientHello: cipher_suites of ${suites} bytes`);
  c.bytes(suites, "cipher_suites");
  const comp = c.u8("compression_methods length");
  if (comp < 1) throw new HandshakeError("ClientHello: no compression method");
  c.bytes(comp, "compression_methods");
  const hello: ClientHello = { serverName: "", alpn: [], version, supportedVersions: [] };
  if (c.left === 0) return hello; // a hello without extensions (SSL 3.0-era clients)
  const exts = c.sub(c.u16("extensions length"), "extensions");
  if (c.left !== 0) throw new HandshakeError(`ClientHello: ${c.left} bytes after the extensions`);
  const seen = new Set<number>();
  while (exts.left > 0) {
    const type = exts.u16("extension type");
    const data = exts.sub(exts.u16("extension length"), "extension");
    if (seen.has(type)) throw new HandshakeError(`ClientHello: extension 0x${type.toString(16)} appears twice`);
    seen.add(type);
    if (type === EXT_SERVER_NAME) hello.serverName = serverName(data);
    else if (type === EXT_ALPN) hello.alpn = alpnList(data);
    else if (type === EXT_SUPPORTED_VERSIONS) {
      const list = data.sub(data.u8("supported_versions length"), "supported_versions");
      while (list.left > 0) hello.supportedVersions.push(list.u16("supported version"));
    }
  }
  return hello;
}

/**
 * Reads the TLS records that carry a ClientHello (one or more: a hello may be fragmented over records) and parses
 * it. Consumes exactly those records from the reader; what follows stays buffered.
 * @param maxBytes cap on the hello message
 * @throws {UnexpectedEofError} when the stream ends inside the hello (a ClientHello cut in half);
 *   {@link HandshakeError} when the first record is not a handshake record, the first message is not a ClientHello,
 *   a record is larger than 2^14 bytes, the hello is over `maxBytes`, or it is malformed
 */
export async function readClientHello(r: HandshakeReader, maxBytes = MAX_CLIENT_HELLO_BYTES): Promise<ReadClientHello> {
  const records: Uint8Array[] = [];
  const fragments: Uint8Array[] = [];
  let have = 0;
  let need = -1; // the handshake message's length once its header is in
  try {
    while (need < 0 || have < need + 4) {
      const header = await r.readFull(5);
      if (header[0] !== TLS_HANDSHAKE_RECORD || header[1] !== 0x03) {
        throw new HandshakeError(
          `ClientHello: expected a TLS handshake record, got type 0x${header[0].toString(16)} version ` +
            `0x${header[1].toString(16)}${header[2].toString(16).padStart(2, "0")}`,
        );
      }
      const len = (header[3] << 8) | header[4];
      if (len === 0 || len > MAX_RECORD) throw new HandshakeError(`ClientHello: TLS record of ${len} bytes`);
      const body = await r.readFull(len);
      records.push(header, body);
      fragments.push(body);
      have += len;
      if (need < 0 && have >= 4) {
        const first = fragments.length === 1 ? body : concat(fragments, have);
        if (first[0] !== CLIENT_HELLO) {
          throw new HandshakeError(`ClientHello: first handshake message is type ${first[0]}, not a ClientHello`);
        }
        need = (first[1] << 16) | (first[2] << 8) | first[3];
        if (need > maxBytes) throw new HandshakeError(`ClientHello of ${need} bytes (at most ${maxBytes})`);
      }
      if (have > maxBytes + 4 + MAX_RECORD) throw new HandshakeError(`ClientHello over ${maxBytes} bytes`);
    }
  } catch (err) {
    if (err instanceof UnexpectedEofError) throw new UnexpectedEofError("ClientHello cut short: the stream ended");
    throw err;
  }
  const message = concat(fragments, have);
  const hello = parseClientHello(message.subarray(4, 4 + need));
  return { hello, raw: concat(records, records.reduce((n, b) => n + b.length, 0)) };
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
