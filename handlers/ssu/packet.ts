/**
 * One Shadowsocks UDP packet (docs/wire.md, "Shadowsocks"): `salt ‖ AEAD(address block ‖ payload) ‖ tag`, sealed
 * with the subkey of its own salt and a nonce of 12 zero bytes.
 * @module
 */
import { HandshakeError } from "../../core/errors.ts";
import { SessionAead } from "../ss/aead.ts";
import { NONCE_SIZE, type StreamKeys, TAG_SIZE } from "../ss/cipher.ts";
import { decodeAddr, encodeAddr, type SocksAddr } from "../socks5/wire.ts";
import type { SaltFilter } from "../ss/salt_filter.ts";

const ZERO_NONCE = new Uint8Array(NONCE_SIZE);

/**
 * Seals `payload` for `addr` (the target, client to server; the source, server to client).
 * @throws {RangeError} when the address cannot be encoded
 */
export async function sealPacket(
  keys: StreamKeys,
  addr: SocksAddr,
  payload: Uint8Array,
  salts?: SaltFilter,
): Promise<Uint8Array> {
  const head = encodeAddr(addr.host, addr.port);
  const plain = new Uint8Array(head.length + payload.length);
  plain.set(head);
  plain.set(payload, head.length);
  const size = keys.spec.saltSize;
  const salt = crypto.getRandomValues(new Uint8Array(size));
  salts?.add(salt);
  const found = SessionAead.single(keys.spec, keys.subkey(salt));
  const aead = found instanceof Promise ? await found : found;
  const out = new Uint8Array(size + plain.length + TAG_SIZE);
  out.set(salt);
  if (aead.sync) aead.sealInto(ZERO_NONCE, plain, out, size);
  else out.set(await aead.sealAsync(ZERO_NONCE.slice(), plain), size);
  return out;
}

/** A packet that did not open: too short, a wrong key, a replayed salt or a bad address. */
export class PacketError extends HandshakeError {
  /** True when its salt was seen before. */
  readonly replay: boolean;
  constructor(message: string, replay = false) {
    super(message);
    this.replay = replay;
  }
}

/**
 * Opens a packet.
 * @param salts the server's replay filter: a salt seen before is refused, a new one remembered once it authenticated
 * @throws {PacketError} when it does not open
 */
export async function openPacket(
  keys: StreamKeys,
  packet: Uint8Array,
  salts?: SaltFilter,
): Promise<{ addr: SocksAddr; payload: Uint8Array }> {
  const size = keys.spec.saltSize;
  if (packet.length < size + TAG_SIZE + 1) {
    throw new PacketError(`Shadowsocks UDP packet of ${packet.length} bytes is too short`);
  }
  const salt = packet.subarray(0, size);
  const found = SessionAead.single(keys.spec, keys.subkey(salt));
  const aead = found instanceof Promise ? await found : found;
  const sealed = packet.subarray(size);
  const plain = aead.sync ? aead.openSync(ZERO_NONCE, sealed) : await aead.openAsync(ZERO_NONCE.slice(), sealed);
  if (!plain) throw new PacketError("Shadowsocks UDP packet does not authenticate (wrong key or method)");
  if (salts && !salts.check(salt)) throw new PacketError("Shadowsocks UDP packet with a replayed salt", true);
  let addr: SocksAddr, end: number;
  try {
    ({ addr, end } = decodeAddr(plain));
  } catch (err) {
    throw new PacketError(`Shadowsocks UDP packet with a bad address: ${(err as Error).message}`);
  }
  return { addr, payload: plain.subarray(end) };
}
