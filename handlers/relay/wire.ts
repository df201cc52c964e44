/**
 * GOST relay wire format (docs/wire.md, "Relay"; go-gost/relay): requests, responses, features, and the two UDP frame
 * formats. Encoders return the exact bytes; readers take a {@link HandshakeReader} and throw
 * {@link HandshakeError}s on malformed input. Shared by the handler and the connector.
 * @module
 */
import type { HandshakeReader } from "../../core/bufio.ts";
import { BadVersionError, HandshakeError } from "../../core/errors.ts";
import { decodeAddr, encodeAddr } from "../socks5/wire.ts";

/** The only protocol version. */
export const VERSION = 0x01;
/** Commands (low nibble of CMD/FLAGS); 0x00 is treated as CONNECT. ASSOCIATE is defined but refused by GOST. */
export const Cmd = { Connect: 0x01, Bind: 0x02, Associate: 0x03 } as const;
/** Mask of the command nibble. */
export const CMD_MASK = 0x0f;
/** Flag bit: the request is UDP-oriented (GOST clients still send it beside the Network feature). */
export const FLAG_UDP = 0x80;
/** Response status codes. */
export const Status = {
  OK: 0x00,
  BadRequest: 0x01,
  Unauthorized: 0x02,
  Forbidden: 0x03,
  Timeout: 0x04,
  ServiceUnavailable: 0x05,
  HostUnreachable: 0x06,
  NetworkUnreachable: 0x07,
  InternalServerError: 0x08,
} as const;
/** Feature types. Only these four are ever sent: older GOST parsers drop a request with any other type. */
export const FeatureType = { UserAuth: 0x01, Addr: 0x02, Tunnel: 0x03, Network: 0x04 } as const;
/** Values of the Network feature; an unknown value means tcp. */
export const NetworkId = { Tcp: 0x0000, Udp: 0x0001, Ip: 0x0002, Unix: 0x0010, Serial: 0x0011 } as const;
/**
 * The most feature bytes accepted in one message. FEALEN may claim up to 65535, but the largest request GOST sends
 * (user/pass of 255 bytes each, a 255-byte domain, network, tunnel id) is under 1 KiB.
 */
export const MAX_FEATURES_LEN = 8192;

/** `BadRequest` → `Bad Request`, keyed by code. */
const statusText = new Map(
  Object.entries(Status).map(([k, v]) => [v as number, k.replace(/([a-z])([A-Z])/g, "$1 $2")]),
);

/** `0x07 Network Unreachable`, for messages. */
export function describeStatus(status: number): string {
  return `0x${hex(status)} ${statusText.get(status) ?? "Unknown Status"}`;
}

/** One feature of a request or response; unknown types are kept as opaque bytes. */
export type Feature =
  | { kind: "auth"; username: string; password: string }
  | { kind: "addr"; host: string; port: number }
  | { kind: "tunnel"; id: Uint8Array }
  | { kind: "network"; network: number }
  | { kind: "unknown"; type: number; data: Uint8Array };

/** A request: `cmd` is the command nibble, `flags` the high nibble ({@link FLAG_UDP}). */
export interface RelayRequest {
  cmd: number;
  flags: number;
  features: Feature[];
}

/** A response. */
export interface RelayResponse {
  status: number;
  features: Feature[];
}

const hex = (n: number) => n.toString(16).padStart(2, "0");
const enc = new TextEncoder();
const dec = new TextDecoder();

function putU16(b: Uint8Array, off: number, v: number): void {
  b[off] = v >> 8;
  b[off + 1] = v & 0xff;
}

/**
 * Encodes one feature's DATA (without the TLV header).
 * @throws {RangeError} when a user name, password or domain is longer than 255 bytes
 */
export function encodeFeatureData(f: Feature): Uint8Array {
  switch (f.kind) {
    case "auth": {
      const u = enc.encode(f.username), p = enc.encode(f.password);
      if (u.length > 255 || p.length > 255) throw new RangeError("Relay user name or password longer than 255 bytes");
      const out = new Uint8Array(2 + u.length + p.length);
      out[0] = u.length;
      out.set(u, 1);
      out[1 + u.length] = p.length;
      out.set(p, 2 + u.length);
      return out;
    }
    case "addr":
      return encodeAddr(f.host, f.port);
    case "tunnel":
      return f.id;
    case "network": {
      const out = new Uint8Array(2);
      putU16(out, 0, f.network);
      return out;
    }
    case "unknown":
      return f.data;
  }
}

const kindType = {
  auth: FeatureType.UserAuth,
  addr: FeatureType.Addr,
  tunnel: FeatureType.Tunnel,
  network: FeatureType.Network,
};
const featureType = (f: Feature): number => f.kind === "unknown" ? f.type : kindType[f.kind];

/** Encodes `VER | head | FEALEN | features`. */
function encodeMessage(head: number, features: Feature[]): Uint8Array {
  const parts = features.map((f) => [featureType(f), encodeFeatureData(f)] as const);
  const total = parts.reduce((s, [, d]) => s + 3 + d.length, 0);
  if (total > 0xffff) throw new RangeError(`Relay features longer than 65535 bytes: ${total}`);
  const out = new Uint8Array(4 + total);
  out[0] = VERSION;
  out[1] = head;
  putU16(out, 2, total);
  let off = 4;
  for (const [type, data] of parts) {
    out[off] = type;
    putU16(out, off + 1, data.length);
    out.set(data, off + 3);
    off += 3 + data.length;
  }
  return out;
}

/**
 * Encodes a request.
 * @example encodeRequest({ cmd: Cmd.Connect, flags: 0, features: [{ kind: "addr", host: "example.com", port: 443 }] })
 * // 01 01 00 12 | 02 00 0f | 03 0b "example.com" 01 bb
 */
export function encodeRequest(req: RelayRequest): Uint8Array {
  return encodeMessage((req.cmd & CMD_MASK) | (req.flags & ~CMD_MASK), req.features);
}

/** Encodes a response (a bare `01 STATUS 00 00` without features). */
export function encodeResponse(resp: RelayResponse): Uint8Array {
  return encodeMessage(resp.status, resp.features);
}

/**
 * Decodes a feature list (FEALEN bytes). Unknown types are kept as `unknown`.
 * @throws {HandshakeError} when a feature is truncated or its DATA is malformed
 */
export function decodeFeatures(b: Uint8Array): Feature[] {
  const out: Feature[] = [];
  let off = 0;
  while (off < b.length) {
    if (b.length - off < 3) throw new HandshakeError("Truncated relay feature header");
    const type = b[off];
    const len = (b[off + 1] << 8) | b[off + 2];
    if (b.length - off - 3 < len) {
      throw new HandshakeError(`Relay feature 0x${hex(type)} claims ${len} bytes, ${b.length - off - 3} left`);
    }
    out.push(decodeFeature(type, b.subarray(off + 3, off + 3 + len)));
    off += 3 + len;
  }
  return out;
}

/** Decodes one feature's DATA, with GOST's length rules. @throws {HandshakeError} */
export function decodeFeature(type: number, d: Uint8Array): Feature {
  switch (type) {
    case FeatureType.UserAuth: {
      const ulen = d[0] ?? 0;
      if (d.length < 2 || d.length < 2 + ulen || d.length < 2 + ulen + d[1 + ulen]) {
        throw new HandshakeError("Truncated relay UserAuth feature");
      }
      const plen = d[1 + ulen];
      return {
        kind: "auth",
        username: dec.decode(d.subarray(1, 1 + ulen)),
        password: dec.decode(d.subarray(2 + ulen, 2 + ulen + plen)),
      };
    }
    case FeatureType.Addr: {
      const { addr } = decodeAddr(d);
      return { kind: "addr", host: addr.host, port: addr.port };
    }
    case FeatureType.Tunnel:
      if (d.length < 16) throw new HandshakeError(`Relay Tunnel feature of ${d.length} bytes, expected 16 or 20`);
      return { kind: "tunnel", id: d.slice() };
    case FeatureType.Network:
      if (d.length < 2) throw new HandshakeError("Truncated relay Network feature");
      return { kind: "network", network: (d[0] << 8) | d[1] };
    default:
      return { kind: "unknown", type, data: d.slice() };
  }
}

/** Reads `VER | byte | FEALEN | features`, capping FEALEN at `maxFeatures`. */
async function readMessage(r: HandshakeReader, maxFeatures: number): Promise<[number, Feature[]]> {
  // the version is checked before the rest arrives: a SOCKS5 greeting (05 01 00) is refused at once
  const ver = await r.readByte();
  if (ver !== VERSION) throw new BadVersionError(ver, VERSION, "relay");
  const head = await r.readFull(3);
  const len = (head[1] << 8) | head[2];
  if (len > maxFeatures) throw new HandshakeError(`Relay feature list of ${len} bytes exceeds ${maxFeatures}`);
  return [head[0], len ? decodeFeatures(await r.readFull(len)) : []];
}

/**
 * Reads a request.
 * @throws {BadVersionError} when VER is not 1; {@link HandshakeError} when truncated, malformed or FEALEN exceeds
 *   `maxFeatures`
 */
export async function readRequest(r: HandshakeReader, maxFeatures = MAX_FEATURES_LEN): Promise<RelayRequest> {
  const [b, features] = await readMessage(r, maxFeatures);
  return { cmd: b & CMD_MASK, flags: b & ~CMD_MASK, features };
}

/** Reads a response. @throws {BadVersionError}, {@link HandshakeError} as {@link readRequest} */
export async function readResponse(r: HandshakeReader, maxFeatures = MAX_FEATURES_LEN): Promise<RelayResponse> {
  const [status, features] = await readMessage(r, maxFeatures);
  return { status, features };
}

/** The facts a handler needs from a feature list; when a type repeats, the last one wins (as in GOST). */
export interface RequestFacts {
  username?: string;
  password?: string;
  host?: string;
  port?: number;
  network?: number;
  tunnel?: Uint8Array;
}

/** Collects the known features of a request. */
export function requestFacts(features: Feature[]): RequestFacts {
  const out: RequestFacts = {};
  for (const f of features) {
    if (f.kind === "auth") [out.username, out.password] = [f.username, f.password];
    else if (f.kind === "addr") [out.host, out.port] = [f.host, f.port];
    else if (f.kind === "network") out.network = f.network;
    else if (f.kind === "tunnel") out.tunnel = f.id;
  }
  return out;
}

// ---- UDP frames ----

/** Largest datagram a `[len u16]` frame carries. */
export const MAX_DATAGRAM = 0xffff;

/** Encodes the 2-byte header of a `[len u16][datagram]` frame (UDP over CONNECT). @throws {RangeError} */
export function encodeDatagramHeader(len: number): Uint8Array {
  if (len > MAX_DATAGRAM) throw new RangeError(`Datagram longer than 65535 bytes: ${len}`);
  return Uint8Array.from([len >> 8, len & 0xff]);
}

/**
 * Encodes the header of a UDP-tun frame (UDP over BIND/associate, docs/wire.md, "Relay BIND"): `RSV = data length |
 * FRAG = 0xFF | Addr`; the DATA follows.
 * @throws {RangeError} when `dataLen` exceeds 65535 or the address is invalid
 */
export function encodeTunHeader(host: string, port: number, dataLen: number): Uint8Array {
  if (dataLen > MAX_DATAGRAM) throw new RangeError(`Datagram longer than 65535 bytes: ${dataLen}`);
  const a = encodeAddr(host, port);
  const out = new Uint8Array(3 + a.length);
  putU16(out, 0, dataLen);
  out[2] = 0xff;
  out.set(a, 3);
  return out;
}

/**
 * The length of the UDP-tun header starting `b`, from its first 5 bytes (RSV, FRAG, ATYP, first address byte).
 * @throws {HandshakeError} on an unknown address type
 */
export function tunHeaderLength(b: Uint8Array): number {
  const atyp = b[3];
  if (atyp === 0x01) return 3 + 7;
  if (atyp === 0x04) return 3 + 19;
  if (atyp === 0x03) return 3 + 4 + b[4];
  throw new HandshakeError(`Unknown address type 0x${hex(atyp)} in a UDP-tun frame`);
}

/**
 * Decodes the UDP-tun frame header at the start of `b`. RSV is the data length; GOST writes FRAG 0xFF and ignores
 * it on read, so do we.
 * @throws {HandshakeError} when `b` is shorter than the header or the address type is unknown
 */
export function decodeTunHeader(b: Uint8Array): { host: string; port: number; dataLen: number; headerLen: number } {
  if (b.length < 5) throw new HandshakeError("Truncated UDP-tun frame header");
  const headerLen = tunHeaderLength(b);
  const { addr } = decodeAddr(b.subarray(3, headerLen));
  return { host: addr.host, port: addr.port, dataLen: (b[0] << 8) | b[1], headerLen };
}
