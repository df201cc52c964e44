/**
 * SOCKS4 and SOCKS4a wire formats (docs/wire.md, "SOCKS4 and SOCKS4a"): encoders return the exact bytes, readers take
 * a {@link HandshakeReader} and throw {@link HandshakeError}s on malformed input. Shared by the handler and the
 * connector.
 * @module
 */
import type { HandshakeReader } from "../../core/bufio.ts";
import { BadVersionError, HandshakeError } from "../../core/errors.ts";
import { formatIPv4, parseIPv4 } from "../../core/ip.ts";

export const SOCKS4_VERSION = 0x04;
/** The most bytes of a SOCKS4 USERID or SOCKS4a hostname (GOST's limit). */
export const SOCKS4_FIELD_MAX = 255;
/** SOCKS4 commands. */
export const Socks4Cmd = { Connect: 0x01, Bind: 0x02 } as const;
/** SOCKS4 reply codes (0x5C is GOST's "blocked by bypass"). */
export const Socks4Reply = { Granted: 0x5a, Failed: 0x5b, Blocked: 0x5c, AuthFailed: 0x5d } as const;

const enc = new TextEncoder();
const dec = new TextDecoder();

function u16(b: Uint8Array, off: number, v: number): void {
  b[off] = (v >> 8) & 0xff;
  b[off + 1] = v & 0xff;
}

/** A SOCKS4/4a request; `host` is the dotted DSTIP, or the SOCKS4a hostname. */
export interface Socks4Request {
  cmd: number;
  host: string;
  port: number;
  userid: string;
}

/**
 * Encodes a SOCKS4 request; a `host` that is not an IPv4 literal makes a SOCKS4a request (DSTIP 0.0.0.1).
 * @throws {RangeError} when the userid or hostname is longer than 255 bytes
 */
export function encodeSocks4Request(req: Socks4Request): Uint8Array {
  const user = enc.encode(req.userid);
  const ip = parseIPv4(req.host);
  const name = ip ? new Uint8Array(0) : enc.encode(req.host);
  if (user.length > SOCKS4_FIELD_MAX || name.length > SOCKS4_FIELD_MAX) {
    throw new RangeError("SOCKS4 userid or hostname longer than 255 bytes");
  }
  const out = new Uint8Array(8 + user.length + 1 + (ip ? 0 : name.length + 1));
  out[0] = SOCKS4_VERSION;
  out[1] = req.cmd;
  u16(out, 2, req.port);
  out.set(ip ?? [0, 0, 0, 1], 4);
  out.set(user, 8);
  if (!ip) out.set(name, 9 + user.length);
  return out;
}

/**
 * Reads a SOCKS4/4a request, version byte included.
 * @throws {BadVersionError} when VN is not 4; {@link FieldTooLongError} when USERID or hostname exceeds 255 bytes;
 *   {@link HandshakeError} when a SOCKS4a hostname is empty
 */
export async function readSocks4Request(r: HandshakeReader): Promise<Socks4Request> {
  const head = await r.readFull(8);
  if (head[0] !== SOCKS4_VERSION) throw new BadVersionError(head[0], SOCKS4_VERSION);
  const userid = dec.decode(await r.readUntil(0, SOCKS4_FIELD_MAX));
  let host = formatIPv4(head.subarray(4, 8));
  if (head[4] === 0 && head[5] === 0 && head[6] === 0 && head[7] !== 0) {
    host = dec.decode(await r.readUntil(0, SOCKS4_FIELD_MAX));
    if (!host) throw new HandshakeError("Empty SOCKS4a hostname");
  }
  return { cmd: head[1], host, port: (head[2] << 8) | head[3], userid };
}

/** A SOCKS4 reply as read by a client; `version` is VN (0 by the RFC, 4 from a few servers). */
export interface Socks4ReplyMessage {
  version: number;
  code: number;
  host: string;
  port: number;
}

/** Reads the 8-byte SOCKS4 reply without judging VN or CD (the client decides). */
export async function readSocks4Reply(r: HandshakeReader): Promise<Socks4ReplyMessage> {
  const b = await r.readFull(8);
  return { version: b[0], code: b[1], port: (b[2] << 8) | b[3], host: formatIPv4(b.subarray(4, 8)) };
}

/** Encodes a SOCKS4 reply (VN 0); GOST writes port and IP as zeros. */
export function encodeSocks4Reply(code: number, host = "0.0.0.0", port = 0): Uint8Array {
  const out = new Uint8Array(8);
  out[1] = code;
  u16(out, 2, port);
  out.set(parseIPv4(host) ?? [0, 0, 0, 0], 4);
  return out;
}
