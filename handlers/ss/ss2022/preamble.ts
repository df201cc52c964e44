/**
 * The SIP022 headers of a TCP stream (docs/wire.md, "Shadowsocks 2022"), each a raw AEAD message after the salt:
 * the request's fixed header (type 0, timestamp, length of the variable header) and variable header (target address,
 * padding, initial payload), the response's fixed header (type 1, timestamp, the request's salt, length of the first
 * payload) and first payload. Timestamps must be within 30 s of ours.
 * @module
 */
import { HandshakeError } from "../../../core/errors.ts";
import { decodeAddr } from "../../socks5/wire.ts";
import type { StreamKeys } from "../cipher.ts";
import type { StreamPreamble } from "../stream.ts";

/** The largest chunk payload of SIP022. */
export const MAX_PAYLOAD_2022 = 0xffff;
/** How far a peer's clock may be from ours. */
export const MAX_CLOCK_SKEW_S = 30;
/** The most padding a client sends (and a server takes). */
export const MAX_PADDING = 900;

const REQUEST_TYPE = 0, RESPONSE_TYPE = 1;

/** Seconds since the epoch (a hook for tests). */
export const clock = { now: (): number => Math.floor(Date.now() / 1000) };

function checkTime(b: Uint8Array, off: number): void {
  const ts = Number(new DataView(b.buffer, b.byteOffset + off, 8).getBigUint64(0));
  const skew = ts - clock.now();
  if (Math.abs(skew) > MAX_CLOCK_SKEW_S) {
    throw new HandshakeError(`Shadowsocks 2022: the peer's timestamp is ${skew} s off (at most ${MAX_CLOCK_SKEW_S})`);
  }
}

function putTime(b: Uint8Array, off: number): void {
  new DataView(b.buffer, b.byteOffset + off, 8).setBigUint64(0, BigInt(clock.now()));
}

const u16 = (b: Uint8Array, off: number) => (b[off] << 8) | b[off + 1];
function putU16(b: Uint8Array, off: number, v: number): void {
  b[off] = v >> 8;
  b[off + 1] = v & 0xff;
}

/** The client's side: sends the request headers (with the target), reads the response headers. */
export class ClientPreamble implements StreamPreamble {
  readonly chunkMax = MAX_PAYLOAD_2022;
  readonly client = true;
  readonly #addr: Uint8Array;
  readonly #saltSize: number;
  #ownSalt: Uint8Array | null = null;
  #firstLen = 0;
  /** SIP023: the identity header after our salt. */
  readonly identity?: (salt: Uint8Array) => Uint8Array;

  /**
   * @param addr the target's address block
   * @param identity SIP023 (an `iPSK:uPSK` password): builds the identity header sent after the salt
   */
  constructor(addr: Uint8Array, saltSize: number, identity?: (salt: Uint8Array) => Uint8Array) {
    this.#addr = addr;
    this.#saltSize = saltSize;
    if (identity) this.identity = identity;
  }

  nextSize(index: number): number | null {
    return index === 0 ? 1 + 8 + this.#saltSize + 2 : index === 1 ? this.#firstLen : null;
  }

  take(index: number, plain: Uint8Array): Uint8Array {
    if (index === 1) return plain;
    if (plain[0] !== RESPONSE_TYPE) throw new HandshakeError(`Shadowsocks 2022: response header type ${plain[0]}`);
    checkTime(plain, 1);
    const echo = plain.subarray(9, 9 + this.#saltSize);
    if (!this.#ownSalt || !echo.every((b, i) => b === this.#ownSalt![i])) {
      throw new HandshakeError("Shadowsocks 2022: the response does not echo our salt");
    }
    this.#firstLen = u16(plain, 9 + this.#saltSize);
    return new Uint8Array(0);
  }

  first(ownSalt: Uint8Array, _peer: Uint8Array | null, data: Uint8Array): { raw: Uint8Array[]; rest: Uint8Array } {
    this.#ownSalt = ownSalt;
    const room = MAX_PAYLOAD_2022 - this.#addr.length - 2;
    const initial = data.subarray(0, Math.min(data.length, room));
    const padLen = initial.length ? 0 : 1 + Math.floor(Math.random() * MAX_PADDING);
    const v = new Uint8Array(this.#addr.length + 2 + padLen + initial.length);
    v.set(this.#addr);
    putU16(v, this.#addr.length, padLen);
    crypto.getRandomValues(v.subarray(this.#addr.length + 2, this.#addr.length + 2 + padLen));
    v.set(initial, this.#addr.length + 2 + padLen);
    const f = new Uint8Array(11);
    f[0] = REQUEST_TYPE;
    putTime(f, 1);
    putU16(f, 9, v.length);
    return { raw: [f, v], rest: data.subarray(initial.length) };
  }
}

/** The server's side: reads the request headers, sends the response headers with its first data. */
export class ServerPreamble implements StreamPreamble {
  readonly chunkMax = MAX_PAYLOAD_2022;
  readonly client = false;
  #varLen = 0;
  /** SIP023: the identity header's size, when the server has users. */
  readonly identitySize?: number;
  /** SIP023: the keys of the user an identity header names. */
  readonly userKeys?: (salt: Uint8Array, header: Uint8Array) => StreamKeys | null;

  /** @param users SIP023: finds the user of an identity header (16 bytes) after a client's salt */
  constructor(users?: (salt: Uint8Array, header: Uint8Array) => StreamKeys | null) {
    if (users) {
      this.identitySize = 16;
      this.userKeys = users;
    }
  }

  nextSize(index: number): number | null {
    return index === 0 ? 11 : index === 1 ? this.#varLen : null;
  }

  /** Index 1 carries the target address and the initial payload (the padding is dropped). */
  take(index: number, plain: Uint8Array): Uint8Array {
    if (index === 0) {
      if (plain[0] !== REQUEST_TYPE) throw new HandshakeError(`Shadowsocks 2022: request header type ${plain[0]}`);
      checkTime(plain, 1);
      this.#varLen = u16(plain, 9);
      if (this.#varLen < 7) throw new HandshakeError(`Shadowsocks 2022: variable header of ${this.#varLen} bytes`);
      return new Uint8Array(0);
    }
    const { end } = decodeAddr(plain);
    if (plain.length < end + 2) throw new HandshakeError("Shadowsocks 2022: variable header without padding length");
    const padLen = u16(plain, end);
    if (padLen > MAX_PADDING || plain.length < end + 2 + padLen) {
      throw new HandshakeError(`Shadowsocks 2022: padding of ${padLen} bytes`);
    }
    const payload = plain.subarray(end + 2 + padLen);
    if (!padLen && !payload.length) throw new HandshakeError("Shadowsocks 2022: neither padding nor payload");
    const out = new Uint8Array(end + payload.length);
    out.set(plain.subarray(0, end));
    out.set(payload, end);
    return out;
  }

  first(_own: Uint8Array, peerSalt: Uint8Array | null, data: Uint8Array): { raw: Uint8Array[]; rest: Uint8Array } {
    const salt = peerSalt!;
    const initial = data.subarray(0, Math.min(data.length, MAX_PAYLOAD_2022));
    const f = new Uint8Array(1 + 8 + salt.length + 2);
    f[0] = RESPONSE_TYPE;
    putTime(f, 1);
    f.set(salt, 9);
    putU16(f, 9 + salt.length, initial.length);
    return { raw: [f, initial], rest: data.subarray(initial.length) };
  }
}
