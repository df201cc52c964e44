/**
 * The TLS ClientHello as the SNI proxy rewrites it (RFC 8446 §4.1.2, RFC 6066 §3). Reading it off a conn, bounded,
 * is core/tls_client_hello.ts's (shared with the forward handler's sniffing); here the message's extensions are
 * located by offset for the two rewrites of GOST's `host` option: the connector puts a cover name in `server_name`
 * and the real one in extension 0xFFFE; the handler undoes it byte for byte, so the origin receives the ClientHello
 * the client hashed into its handshake transcript (docs/wire.md, "SNI"). Pure functions on bytes.
 * @module
 */
import { concatBytes } from "../../core/bytes.ts";
import { HandshakeError } from "../../core/errors.ts";

/** TLS record content type of handshake messages. */
export const CONTENT_HANDSHAKE = 0x16;
/** Handshake message type of a ClientHello. */
export const HANDSHAKE_CLIENT_HELLO = 0x01;
/** A TLS record header: type, version, length. */
export const RECORD_HEADER_BYTES = 5;
/** The longest TLS plaintext record (RFC 8446 §5.1: 2^14 bytes). */
export const MAX_RECORD_BYTES = 16_384;
/** The longest ClientHello message accepted (after its 4-byte header), over however many records. */
export const MAX_HELLO_BYTES = 64 * 1024;
/** The `server_name` extension. */
export const EXT_SERVER_NAME = 0x0000;
/** GOST's extension carrying the real server name when its connector rewrote `server_name`. */
export const EXT_GOST_TARGET = 0xfffe;

/** One extension of a ClientHello: its type and where it is in the message (its 4-byte header included). */
export interface HelloExtension {
  type: number;
  start: number;
  end: number;
}

/** Where the extensions of a ClientHello message are. */
export interface ClientHello {
  /** The first `host_name` of `server_name`, lower-cased; "" when there is none. */
  serverName: string;
  /** The extensions in order; empty when the message has no extensions block. */
  extensions: HelloExtension[];
  /** Offset of the extensions block's 2-byte length; -1 when there is none. */
  extensionsAt: number;
}

function malformed(why: string): HandshakeError {
  return new HandshakeError(`sni: malformed ClientHello: ${why}`);
}

/**
 * The handshake message (its 4-byte header included) carried by the records `raw` of a ClientHello that
 * core/tls_client_hello.ts read (so already checked: handshake records, at most 2^14 bytes each, complete).
 */
export function helloMessage(raw: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let at = 0; at + RECORD_HEADER_BYTES <= raw.length;) {
    const len = (raw[at + 3] << 8) | raw[at + 4];
    parts.push(raw.subarray(at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + len));
    at += RECORD_HEADER_BYTES + len;
  }
  const m = concatBytes(parts);
  return m.length < 4 ? m : m.subarray(0, 4 + ((m[1] << 16) | (m[2] << 8) | m[3]));
}

/** A DNS name as SNI carries it: letters, digits, `-`, `_` and dots, 1 to 253 characters, no empty label. */
const HOST_NAME = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,62})(?:\.[a-z0-9_](?:[a-z0-9_-]{0,62}))*$/;

/** Tells whether `name` is a host name an SNI proxy may route to (lower case). */
export function isHostName(name: string): boolean {
  return HOST_NAME.test(name);
}

/**
 * Locates the extensions of a ClientHello message (see {@link helloMessage}), for the rewrites: where each one is.
 * @throws {HandshakeError} when a length runs past its container or `server_name` holds no valid host name
 */
export function locateExtensions(msg: Uint8Array): ClientHello {
  const end = msg.length;
  const u16 = (at: number) => {
    if (at + 2 > end) throw malformed("truncated");
    return (msg[at] << 8) | msg[at + 1];
  };
  if (end < 4 || msg[0] !== HANDSHAKE_CLIENT_HELLO) throw malformed("not a ClientHello");
  let at = 4 + 2 + 32; // legacy_version, random
  if (at + 1 > end) throw malformed("truncated before the session id");
  at += 1 + msg[at]; // legacy_session_id
  at += 2 + u16(at); // cipher_suites
  if (at + 1 > end) throw malformed("truncated before the compression methods");
  at += 1 + msg[at]; // legacy_compression_methods
  if (at > end) throw malformed("truncated in the compression methods");
  const hello: ClientHello = { serverName: "", extensions: [], extensionsAt: -1 };
  if (at === end) return hello; // no extensions (TLS 1.0 clients may omit them)
  hello.extensionsAt = at;
  const extEnd = at + 2 + u16(at);
  if (extEnd !== end) throw malformed("the extensions block does not end with the message");
  for (let p = at + 2; p < extEnd;) {
    const type = u16(p);
    const next = p + 4 + u16(p + 2);
    if (next > extEnd) throw malformed(`extension 0x${type.toString(16)} runs past the extensions block`);
    if (hello.extensions.some((e) => e.type === type)) throw malformed(`extension 0x${type.toString(16)} twice`);
    hello.extensions.push({ type, start: p, end: next });
    p = next;
  }
  const sni = hello.extensions.find((e) => e.type === EXT_SERVER_NAME);
  if (sni) hello.serverName = serverNameOf(msg.subarray(sni.start + 4, sni.end));
  return hello;
}

/** The first `host_name` entry of a `server_name` extension's data. */
function serverNameOf(d: Uint8Array): string {
  if (d.length < 2 || ((d[0] << 8) | d[1]) !== d.length - 2) throw malformed("a server_name list of a wrong length");
  for (let p = 2; p < d.length;) {
    if (p + 3 > d.length) throw malformed("a truncated server_name entry");
    const type = d[p];
    const len = (d[p + 1] << 8) | d[p + 2];
    if (p + 3 + len > d.length) throw malformed("a server_name entry runs past the list");
    if (type === 0) {
      let name = "";
      for (let i = p + 3; i < p + 3 + len; i++) name += String.fromCharCode(d[i]);
      const lower = name.toLowerCase();
      if (!isHostName(lower)) throw malformed(`server_name ${JSON.stringify(name.slice(0, 100))} is not a host name`);
      return lower;
    }
    p += 3 + len;
  }
  return "";
}

/** The data of a `server_name` extension naming `name` (one `host_name` entry). */
export function serverNameData(name: string): Uint8Array {
  const n = new TextEncoder().encode(name);
  const d = new Uint8Array(5 + n.length);
  d[0] = (n.length + 3) >> 8;
  d[1] = (n.length + 3) & 0xff;
  d[2] = 0;
  d[3] = n.length >> 8;
  d[4] = n.length & 0xff;
  d.set(n, 5);
  return d;
}

/** The data of an extension of `hello`, or undefined when it has none of that type. */
export function extensionData(msg: Uint8Array, hello: ClientHello, type: number): Uint8Array | undefined {
  const e = hello.extensions.find((x) => x.type === type);
  return e && msg.subarray(e.start + 4, e.end);
}

/**
 * The message with extensions replaced (`replace`: type → new data, or null to drop it) and others appended, every
 * length above them recomputed; all other bytes are kept as they are.
 * @throws {HandshakeError} when the message has no extensions block or the result is longer than allowed
 */
export function rebuildHello(
  msg: Uint8Array,
  hello: ClientHello,
  replace: ReadonlyMap<number, Uint8Array | null>,
  append: readonly (readonly [number, Uint8Array])[] = [],
): Uint8Array {
  if (hello.extensionsAt < 0) throw malformed("no extensions to rewrite");
  const parts: Uint8Array[] = [];
  const ext = (type: number, data: Uint8Array) => {
    const h = new Uint8Array([type >> 8, type & 0xff, data.length >> 8, data.length & 0xff]);
    parts.push(h, data);
  };
  for (const e of hello.extensions) {
    if (!replace.has(e.type)) parts.push(msg.subarray(e.start, e.end));
    else {
      const d = replace.get(e.type);
      if (d) ext(e.type, d);
    }
  }
  for (const [type, data] of append) ext(type, data);
  const extLen = parts.reduce((n, p) => n + p.length, 0);
  const total = hello.extensionsAt + 2 + extLen;
  if (extLen > 0xffff || total - 4 > MAX_HELLO_BYTES) throw malformed(`a rewritten message of ${total} bytes`);
  const out = new Uint8Array(total);
  out.set(msg.subarray(0, hello.extensionsAt));
  out[1] = (total - 4) >> 16;
  out[2] = ((total - 4) >> 8) & 0xff;
  out[3] = (total - 4) & 0xff;
  out[hello.extensionsAt] = extLen >> 8;
  out[hello.extensionsAt + 1] = extLen & 0xff;
  let off = hello.extensionsAt + 2;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Frames a handshake message into records of at most {@link MAX_RECORD_BYTES}, with `version` in each header. */
export function frameRecords(msg: Uint8Array, version: number): Uint8Array {
  const n = Math.ceil(msg.length / MAX_RECORD_BYTES);
  const out = new Uint8Array(msg.length + n * RECORD_HEADER_BYTES);
  let off = 0;
  for (let i = 0; i < msg.length; i += MAX_RECORD_BYTES) {
    const chunk = msg.subarray(i, i + MAX_RECORD_BYTES);
    out.set([CONTENT_HANDSHAKE, version >> 8, version & 0xff, chunk.length >> 8, chunk.length & 0xff], off);
    out.set(chunk, off + RECORD_HEADER_BYTES);
    off += RECORD_HEADER_BYTES + chunk.length;
  }
  return out;
}
