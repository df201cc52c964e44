/**
 * Shadowsocks 2022 over UDP (SIP022, docs/wire.md, "Shadowsocks 2022"). Each packet has a separate header, session
 * id u64 ‖ packet id u64, and a main header: type (`0` client to server, `1` back), timestamp u64, for type 1 the
 * client's session id, padding length u16, padding, the address block, then the payload. With AES the separate
 * header is one AES-ECB block under the PSK and the rest is sealed with the session id's subkey and the nonce
 * `separate header[4..16]`; with ChaCha20 a random 24-byte nonce leads and everything after it is one
 * XChaCha20-Poly1305 message under the PSK. Packet ids are checked per session against a sliding window.
 * @module
 */
import { createCipheriv, createDecipheriv } from "node:crypto";
import { SessionAead } from "../ss/aead.ts";
import type { MethodSpec } from "../ss/cipher.ts";
import { blake3Keys, parsePsk } from "../ss/ss2022/keys.ts";
import { clock, MAX_CLOCK_SKEW_S } from "../ss/ss2022/preamble.ts";
import { decodeAddr, encodeAddr, type SocksAddr } from "../socks5/wire.ts";
import { PacketError } from "./packet.ts";
import { xchachaOpen, xchachaSeal, XNONCE_SIZE } from "./xchacha.ts";

const CLIENT_TYPE = 0, SERVER_TYPE = 1;
/** Packet ids this far behind the highest seen are still accepted once. */
export const REPLAY_WINDOW = 2048;

/** A sliding window over one session's packet ids. */
export class PacketWindow {
  #top = -1n;
  readonly #bits = new Uint8Array(REPLAY_WINDOW / 8);

  /** True (and remembered) for an id not seen and not too old. */
  check(id: bigint): boolean {
    if (id > this.#top) {
      const shift = this.#top < 0n ? BigInt(REPLAY_WINDOW) : id - this.#top;
      if (shift >= BigInt(REPLAY_WINDOW)) this.#bits.fill(0);
      else for (let i = this.#top + 1n; i <= id; i++) this.#clear(Number(i % BigInt(REPLAY_WINDOW)));
      this.#top = id;
    } else if (this.#top - id >= BigInt(REPLAY_WINDOW)) return false;
    const bit = Number(id % BigInt(REPLAY_WINDOW));
    if (this.#bits[bit >> 3] & (1 << (bit & 7))) return false;
    this.#bits[bit >> 3] |= 1 << (bit & 7);
    return true;
  }

  #clear(bit: number): void {
    this.#bits[bit >> 3] &= ~(1 << (bit & 7));
  }
}

/** The PSK of a 2022 method and the primitives of its UDP packets. */
export class Udp2022Keys {
  readonly spec: MethodSpec;
  readonly psk: Uint8Array;
  readonly #subkey: (salt: Uint8Array) => Uint8Array;

  /** @throws {ConfigError} when the password is not a base64 key of the method's size */
  constructor(spec: MethodSpec, password: string) {
    this.spec = spec;
    this.psk = parsePsk(spec, password);
    this.#subkey = blake3Keys(spec, this.psk).subkey;
  }

  /** The AEAD of a session id (AES methods). */
  sessionAead(sessionId: Uint8Array): Promise<SessionAead> | SessionAead {
    return SessionAead.single(this.spec, this.#subkey(sessionId));
  }

  get #ecbName(): "aes-128-ecb" | "aes-256-ecb" {
    return this.psk.length === 16 ? "aes-128-ecb" : "aes-256-ecb";
  }

  ecb(block: Uint8Array, encrypt: boolean): Uint8Array {
    const c = encrypt
      ? createCipheriv(this.#ecbName, this.psk, null).setAutoPadding(false)
      : createDecipheriv(this.#ecbName, this.psk, null).setAutoPadding(false);
    return new Uint8Array(c.update(block));
  }
}

/** One side's own session: its id and the next packet id. */
export class OwnSession {
  readonly id = crypto.getRandomValues(new Uint8Array(8));
  next = 0n;
  #aead: Promise<SessionAead> | SessionAead | null = null;

  aead(keys: Udp2022Keys): Promise<SessionAead> | SessionAead {
    return (this.#aead ??= keys.sessionAead(this.id));
  }
}

/** What opened from a packet. */
export interface Opened2022 {
  readonly sessionId: Uint8Array;
  readonly packetId: bigint;
  /** For a server-to-client packet: the client session id it names. */
  readonly clientSessionId?: Uint8Array;
  readonly addr: SocksAddr;
  readonly payload: Uint8Array;
}

/**
 * Seals one packet from `own`. `clientSessionId` is given by the server (type 1) and absent from the client (type 0).
 * @throws {RangeError} when the address cannot be encoded
 */
export async function seal2022(
  keys: Udp2022Keys,
  own: OwnSession,
  addr: SocksAddr,
  payload: Uint8Array,
  clientSessionId?: Uint8Array,
): Promise<Uint8Array> {
  const head = encodeAddr(addr.host, addr.port);
  const server = clientSessionId !== undefined;
  const mainLen = 1 + 8 + (server ? 8 : 0) + 2;
  const plain = new Uint8Array(16 + mainLen + head.length + payload.length);
  const dv = new DataView(plain.buffer);
  plain.set(own.id);
  dv.setBigUint64(8, own.next++);
  plain[16] = server ? SERVER_TYPE : CLIENT_TYPE;
  dv.setBigUint64(17, BigInt(clock.now()));
  if (server) plain.set(clientSessionId, 25);
  // padding length (already zero): no padding
  plain.set(head, 16 + mainLen);
  plain.set(payload, 16 + mainLen + head.length);
  if (keys.spec.kind === "chacha20-poly1305") {
    const nonce = crypto.getRandomValues(new Uint8Array(XNONCE_SIZE));
    const sealed = xchachaSeal(keys.psk, nonce, plain);
    const out = new Uint8Array(XNONCE_SIZE + sealed.length);
    out.set(nonce);
    out.set(sealed, XNONCE_SIZE);
    return out;
  }
  const sep = plain.subarray(0, 16);
  const found = own.aead(keys);
  const aead = found instanceof Promise ? await found : found;
  const nonce = sep.slice(4, 16);
  const body = plain.subarray(16);
  const out = new Uint8Array(16 + body.length + 16);
  out.set(keys.ecb(sep, true));
  if (aead.sync) aead.sealInto(nonce, body, out, 16);
  else out.set(await aead.sealAsync(nonce, body), 16);
  return out;
}

type PeerSession = { aead?: Promise<SessionAead> | SessionAead; window: PacketWindow };

/**
 * Per-peer state of the opening side: the AEAD and replay window of each peer session that authenticated (at most
 * {@link PeerSessions.MAX}, the oldest forgotten first).
 */
export class PeerSessions {
  readonly #sessions = new Map<string, PeerSession>();
  /** Sessions remembered per peer. */
  static readonly MAX = 8;

  /** The session of `id`, or a new one not yet remembered (see {@link keep}). */
  get(keys: Udp2022Keys, id: Uint8Array): PeerSession {
    const s = this.#sessions.get(hex(id));
    if (s) return s;
    return { window: new PacketWindow(), aead: keys.spec.kind === "aes-gcm" ? keys.sessionAead(id) : undefined };
  }

  /** Remembers `s` as the session of `id` once a packet of it authenticated. */
  keep(id: Uint8Array, s: PeerSession): void {
    const k = hex(id);
    if (this.#sessions.has(k)) return;
    if (this.#sessions.size >= PeerSessions.MAX) this.#sessions.delete(this.#sessions.keys().next().value!);
    this.#sessions.set(k, s);
  }
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/**
 * Opens one packet of type `fromServer ? 1 : 0`, checking its timestamp and its packet id against `peers`.
 * @throws {PacketError} when it does not open (`replay` set for a packet id seen before)
 */
export async function open2022(
  keys: Udp2022Keys,
  packet: Uint8Array,
  peers: PeerSessions,
  fromServer: boolean,
): Promise<Opened2022> {
  let plain: Uint8Array | null;
  let s: PeerSession;
  if (keys.spec.kind === "chacha20-poly1305") {
    if (packet.length < XNONCE_SIZE + 16 + 16 + 11) throw short(packet);
    plain = xchachaOpen(keys.psk, packet.subarray(0, XNONCE_SIZE), packet.subarray(XNONCE_SIZE));
    if (!plain) throw bad();
    s = peers.get(keys, plain.subarray(0, 8));
  } else {
    if (packet.length < 16 + 16 + 11) throw short(packet);
    const sep = keys.ecb(packet.subarray(0, 16), false);
    s = peers.get(keys, sep.subarray(0, 8));
    const aead = s.aead instanceof Promise ? await s.aead : s.aead!;
    const nonce = sep.slice(4, 16);
    const sealed = packet.subarray(16);
    const body = aead.sync ? aead.openSync(nonce, sealed) : await aead.openAsync(nonce, sealed);
    if (!body) throw bad();
    plain = new Uint8Array(16 + body.length);
    plain.set(sep);
    plain.set(body, 16);
  }
  const dv = new DataView(plain.buffer, plain.byteOffset, plain.length);
  const sessionId = plain.slice(0, 8), packetId = dv.getBigUint64(8);
  const want = fromServer ? SERVER_TYPE : CLIENT_TYPE;
  const mainLen = 1 + 8 + (fromServer ? 8 : 0) + 2;
  if (plain.length < 16 + mainLen) {
    throw new PacketError(`Shadowsocks 2022 UDP packet of ${packet.length} bytes is too short`);
  }
  if (plain[16] !== want) throw new PacketError(`Shadowsocks 2022 UDP packet of type ${plain[16]} (want ${want})`);
  const skew = Number(dv.getBigUint64(17)) - clock.now();
  if (Math.abs(skew) > MAX_CLOCK_SKEW_S) {
    throw new PacketError(`Shadowsocks 2022 UDP packet with a timestamp ${skew} s off (at most ${MAX_CLOCK_SKEW_S})`);
  }
  const clientSessionId = fromServer ? plain.slice(25, 33) : undefined;
  const padLen = dv.getUint16(16 + mainLen - 2);
  const at = 16 + mainLen + padLen;
  if (plain.length < at) throw new PacketError(`Shadowsocks 2022 UDP packet with padding of ${padLen} bytes`);
  let addr: SocksAddr, end: number;
  try {
    ({ addr, end } = decodeAddr(plain.subarray(at)));
  } catch (err) {
    throw new PacketError(`Shadowsocks 2022 UDP packet with a bad address: ${(err as Error).message}`);
  }
  if (!s.window.check(packetId)) {
    throw new PacketError(`Shadowsocks 2022 UDP packet with a replayed packet id ${packetId}`, true);
  }
  peers.keep(sessionId, s);
  return { sessionId, packetId, clientSessionId, addr, payload: plain.subarray(at + end) };
}

function short(packet: Uint8Array): PacketError {
  return new PacketError(`Shadowsocks 2022 UDP packet of ${packet.length} bytes is too short`);
}

function bad(): PacketError {
  return new PacketError("Shadowsocks 2022 UDP packet does not authenticate (wrong key or method)");
}
