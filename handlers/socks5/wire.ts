/**
 * SOCKS5 wire formats (docs/wire.md, "Address block", "SOCKS5"; RFC 1928, RFC 1929) and GOST's extensions:
 * encoders return the exact bytes, readers take a {@link HandshakeReader} and throw {@link HandshakeError}s on
 * malformed input. Shared by the handler and the connectors (connector.ts, *_connector.ts).
 * @module
 */
import type { HandshakeReader } from "../../core/bufio.ts";
import { BadVersionError, HandshakeError } from "../../core/errors.ts";
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6, unmapIPv4 } from "../../core/ip.ts";

export const SOCKS5_VERSION = 0x05;
/** RFC 1929 sub-negotiation version. */
export const USERPASS_VERSION = 0x01;

/** SOCKS5 methods (0x80/0x82 are GOST's TLS extensions). */
export const Method = { NoAuth: 0x00, UserPass: 0x02, Tls: 0x80, TlsAuth: 0x82, NoAcceptable: 0xff } as const;
/** SOCKS5 commands (0xF2 is GOST's MBIND, 0xF3 GOST's UDP-tun: docs/wire.md, "SOCKS5 MBIND", "SOCKS5 UDP-tun"). */
export const Cmd = { Connect: 0x01, Bind: 0x02, UdpAssociate: 0x03, MuxBind: 0xf2, UdpTun: 0xf3 } as const;
/** SOCKS5 reply codes. */
export const Rep = {
  Succeeded: 0x00,
  Failure: 0x01,
  NotAllowed: 0x02,
  NetUnreachable: 0x03,
  HostUnreachable: 0x04,
  ConnRefused: 0x05,
  TtlExpired: 0x06,
  CmdUnsupported: 0x07,
  AddrUnsupported: 0x08,
} as const;
/** Address types of the address block. */
export const Atyp = { IPv4: 0x01, Domain: 0x03, IPv6: 0x04 } as const;

/** A host (IP literal or domain) and port as carried by an address block. */
export interface SocksAddr {
  host: string;
  port: number;
}

/** An address block with an unknown ATYP (SOCKS5 answers 0x08). */
export class AddrTypeError extends HandshakeError {
  readonly atyp: number;
  constructor(atyp: number) {
    super(`Unknown address type 0x${hex(atyp)}`);
    this.atyp = atyp;
  }
}

const hex = (n: number) => n.toString(16).padStart(2, "0");
const enc = new TextEncoder();
const dec = new TextDecoder();

function u16(b: Uint8Array, off: number, v: number): void {
  b[off] = v >> 8;
  b[off + 1] = v & 0xff;
}

/**
 * Encodes an address block. IP literals become 0x01/0x04 (IPv4-mapped IPv6 becomes 0x01), an empty host becomes
 * 0.0.0.0, anything else a domain.
 * @throws {RangeError} when a domain is longer than 255 bytes or the port is out of range
 * @example encodeAddr("127.0.0.1", 80) // 01 7f 00 00 01 00 50
 */
export function encodeAddr(host: string, port: number): Uint8Array {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`Invalid port ${port}`);
  let ip: Uint8Array | null = host === "" ? new Uint8Array(4) : parseIPv4(host);
  if (!ip) {
    const v6 = parseIPv6(host);
    ip = v6 ? (unmapIPv4(v6) ?? v6) : null;
  }
  let out: Uint8Array;
  if (ip) {
    out = new Uint8Array(1 + ip.length + 2);
    out[0] = ip.length === 4 ? Atyp.IPv4 : Atyp.IPv6;
    out.set(ip, 1);
  } else {
    const name = enc.encode(host);
    if (name.length > 255) throw new RangeError(`Domain longer than 255 bytes: ${name.length}`);
    out = new Uint8Array(2 + name.length + 2);
    out[0] = Atyp.Domain;
    out[1] = name.length;
    out.set(name, 2);
  }
  u16(out, out.length - 2, port);
  return out;
}

/**
 * Decodes an address block at `off` of `b`.
 * @returns the address and the offset just past it
 * @throws {AddrTypeError} on an unknown ATYP; {@link HandshakeError} when `b` is too short
 */
export function decodeAddr(b: Uint8Array, off = 0): { addr: SocksAddr; end: number } {
  const need = (n: number) => {
    if (b.length < off + n) throw new HandshakeError("Truncated address block");
  };
  need(1);
  const atyp = b[off];
  let host: string, len: number;
  if (atyp === Atyp.IPv4) {
    need(7);
    host = formatIPv4(b.subarray(off + 1, off + 5));
    len = 5;
  } else if (atyp === Atyp.IPv6) {
    need(19);
    host = formatIPv6(b.subarray(off + 1, off + 17));
    len = 17;
  } else if (atyp === Atyp.Domain) {
    need(2);
    const n = b[off + 1];
    need(2 + n + 2);
    host = dec.decode(b.subarray(off + 2, off + 2 + n));
    len = 2 + n;
  } else {
    throw new AddrTypeError(atyp);
  }
  const port = (b[off + len] << 8) | b[off + len + 1];
  return { addr: { host, port }, end: off + len + 2 };
}

/** Reads an address block. @throws {AddrTypeError} on an unknown ATYP */
export async function readAddr(r: HandshakeReader): Promise<SocksAddr> {
  const atyp = await r.readByte();
  let host: string;
  if (atyp === Atyp.IPv4) host = formatIPv4(await r.readFull(4));
  else if (atyp === Atyp.IPv6) host = formatIPv6(await r.readFull(16));
  else if (atyp === Atyp.Domain) host = dec.decode(await r.readFull(await r.readByte()));
  else throw new AddrTypeError(atyp);
  return { host, port: await r.readUint16() };
}

// ---- SOCKS5 ----

/** Encodes a client greeting. */
export function encodeGreeting(methods: number[]): Uint8Array {
  return Uint8Array.from([SOCKS5_VERSION, methods.length, ...methods]);
}

/** Reads a greeting and returns the offered methods (empty when NMETHODS is 0). @throws {BadVersionError} */
export async function readGreeting(r: HandshakeReader): Promise<number[]> {
  const ver = await r.readByte();
  if (ver !== SOCKS5_VERSION) throw new BadVersionError(ver, SOCKS5_VERSION);
  return [...await r.readFull(await r.readByte())];
}

/** Encodes the server's method choice. */
export function encodeMethodReply(method: number): Uint8Array {
  return Uint8Array.from([SOCKS5_VERSION, method]);
}

/** Reads the server's method choice. @throws {BadVersionError} when VER is not 5 */
export async function readMethodReply(r: HandshakeReader): Promise<number> {
  const b = await r.readFull(2);
  if (b[0] !== SOCKS5_VERSION) throw new BadVersionError(b[0], SOCKS5_VERSION);
  return b[1];
}

/** Encodes an RFC 1929 request. @throws {RangeError} when a field is longer than 255 bytes */
export function encodeUserPassRequest(username: string, password: string): Uint8Array {
  const u = enc.encode(username), p = enc.encode(password);
  if (u.length > 255 || p.length > 255) throw new RangeError("Username or password longer than 255 bytes");
  return Uint8Array.from([USERPASS_VERSION, u.length, ...u, p.length, ...p]);
}

/** Reads an RFC 1929 request. @throws {BadVersionError} when VER is not 1 */
export async function readUserPassRequest(r: HandshakeReader): Promise<{ username: string; password: string }> {
  const ver = await r.readByte();
  if (ver !== USERPASS_VERSION) throw new BadVersionError(ver, USERPASS_VERSION);
  const username = dec.decode(await r.readFull(await r.readByte()));
  const password = dec.decode(await r.readFull(await r.readByte()));
  return { username, password };
}

/** Reads an RFC 1929 reply and returns STATUS (0 = success). @throws {BadVersionError} when VER is not 1 */
export async function readUserPassReply(r: HandshakeReader): Promise<number> {
  const b = await r.readFull(2);
  if (b[0] !== USERPASS_VERSION) throw new BadVersionError(b[0], USERPASS_VERSION);
  return b[1];
}

/** Encodes an RFC 1929 reply: 0 success, anything else failure (GOST sends 1). */
export function encodeUserPassReply(status: number): Uint8Array {
  return Uint8Array.from([USERPASS_VERSION, status]);
}

/** A SOCKS5 request or reply: `code` is CMD in a request, REP in a reply. */
export interface Socks5Message {
  code: number;
  addr: SocksAddr;
}

function encodeMessage(code: number, host: string, port: number): Uint8Array {
  const a = encodeAddr(host, port);
  const out = new Uint8Array(3 + a.length);
  out[0] = SOCKS5_VERSION;
  out[1] = code;
  out.set(a, 3);
  return out;
}

async function readMessage(r: HandshakeReader): Promise<Socks5Message> {
  const head = await r.readFull(3);
  if (head[0] !== SOCKS5_VERSION) throw new BadVersionError(head[0], SOCKS5_VERSION);
  return { code: head[1], addr: await readAddr(r) };
}

/** Encodes a request `05 CMD 00 ADDR`. */
export function encodeRequest(cmd: number, host: string, port: number): Uint8Array {
  return encodeMessage(cmd, host, port);
}

/** Reads a request. @throws {BadVersionError}, {@link AddrTypeError} */
export function readRequest(r: HandshakeReader): Promise<Socks5Message> {
  return readMessage(r);
}

/** Encodes a reply `05 REP 00 ADDR` (0.0.0.0:0 by default). */
export function encodeReply(rep: number, host = "0.0.0.0", port = 0): Uint8Array {
  return encodeMessage(rep, host, port);
}

/** Reads a reply. @throws {BadVersionError}, {@link AddrTypeError} */
export function readReply(r: HandshakeReader): Promise<Socks5Message> {
  return readMessage(r);
}

/** Encodes the header of a UDP datagram `00 00 FRAG ADDR` (prepend it to DATA). */
export function encodeUdpHeader(host: string, port: number, frag = 0): Uint8Array {
  const a = encodeAddr(host, port);
  const out = new Uint8Array(3 + a.length);
  out[2] = frag;
  out.set(a, 3);
  return out;
}

/**
 * Decodes the header of a UDP datagram; DATA starts at `dataOffset`.
 * @throws {HandshakeError} when the datagram is too short, {@link AddrTypeError} on an unknown ATYP
 */
export function decodeUdpHeader(b: Uint8Array): { frag: number; addr: SocksAddr; dataOffset: number } {
  if (b.length < 4) throw new HandshakeError("Truncated UDP datagram header");
  const { addr, end } = decodeAddr(b, 3);
  return { frag: b[2], addr, dataOffset: end };
}

// ---- GOST UDP-tun (CMD 0xF3) frames over the TCP stream, docs/wire.md, "SOCKS5 UDP-tun" ----

/** FRAG value GOST writes in UDP-tun frames. */
export const UDP_TUN_FRAG = 0xff;

/**
 * Encodes the header of a UDP-tun frame `LEN u16 | 0xFF | ADDR` (prepend it to the `length` DATA bytes).
 * @throws {RangeError} when `length` is not in [1, 65535] (an empty frame desynchronises GOST's reader)
 */
export function encodeUdpTunHeader(length: number, host: string, port: number): Uint8Array {
  if (!Number.isInteger(length) || length < 1 || length > 0xffff) {
    throw new RangeError(`UDP-tun payload length ${length} is outside [1, 65535]`);
  }
  const out = encodeUdpHeader(host, port, UDP_TUN_FRAG);
  u16(out, 0, length);
  return out;
}

/**
 * Reads the header of a UDP-tun frame; the caller then reads `length` DATA bytes. FRAG is ignored, as GOST does.
 * @throws {AddrTypeError} on an unknown ATYP; {@link UnexpectedEofError} when the stream ends inside the header
 */
export async function readUdpTunHeader(r: HandshakeReader): Promise<{ length: number; addr: SocksAddr }> {
  const length = await r.readUint16();
  await r.readByte();
  return { length, addr: await readAddr(r) };
}
