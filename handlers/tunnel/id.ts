/**
 * Tunnel and connector ids (docs/wire.md, "Tunnel"; go-gost/relay `TunnelID`/`ConnectorID`): 20 bytes, a UUID
 * (16 bytes), a flag byte (tunnel: 0x80 private; connector: 0x01 UDP), two reserved bytes and a weight. Two ids are
 * the same tunnel when their UUIDs are equal, whatever the flags and weight. Text form: the lowercase UUID.
 * @module
 */
import { createHash } from "node:crypto";

/** Bytes of an id on the wire. */
export const ID_LEN = 20;
/** Bytes of the UUID part. */
const UUID_LEN = 16;
/** Tunnel id flag: the ingress rule marks the tunnel private. */
export const FLAG_PRIVATE = 0x80;
/** Connector id flag: the client serves UDP (rudp). */
export const FLAG_UDP = 0x01;
/** The weight that takes all of a tunnel's traffic (GOST's `MaxWeight`). */
export const MAX_WEIGHT = 255;

const UUID = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/i;

/**
 * Parses a tunnel id's text: a UUID, with `$` in front for a private one (an ingress endpoint).
 * @returns the 20-byte id, or null when `text` is not a UUID
 * @example parseTunnelId("$4d21094e-b74c-4916-86c1-d9fa36ea677b")![16] // 0x80
 */
export function parseTunnelId(text: string): Uint8Array | null {
  let s = text.trim();
  const priv = s.startsWith("$");
  if (priv) s = s.slice(1);
  const m = UUID.exec(s);
  if (!m) return null;
  const hex = m.slice(1).join("");
  const id = new Uint8Array(ID_LEN);
  for (let i = 0; i < UUID_LEN; i++) id[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  if (priv) id[16] |= FLAG_PRIVATE;
  return id;
}

/** A fresh random id (a version 4 UUID) with `flags` and `weight`. */
export function randomId(flags = 0, weight = 0): Uint8Array {
  const id = new Uint8Array(ID_LEN);
  id.set(crypto.getRandomValues(new Uint8Array(UUID_LEN)));
  id[6] = (id[6] & 0x0f) | 0x40;
  id[8] = (id[8] & 0x3f) | 0x80;
  id[16] = flags;
  id[19] = weight;
  return id;
}

/** Takes a Tunnel feature's bytes as an id (16 bytes from older peers are padded). */
export function idFromFeature(b: Uint8Array): Uint8Array {
  const id = new Uint8Array(ID_LEN);
  id.set(b.subarray(0, ID_LEN));
  return id;
}

/** The lowercase UUID of an id. */
export function idText(id: Uint8Array): string {
  const h = Array.from(id.subarray(0, UUID_LEN), (b) => b.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** True when the UUID part is all zeros (GOST answers Bad Request). */
export function isZeroId(id: Uint8Array): boolean {
  return id.subarray(0, UUID_LEN).every((b) => b === 0);
}

/** True when both ids name the same tunnel (flags and weight aside). */
export function sameId(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < UUID_LEN; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The tunnel id's private flag. */
export function isPrivate(id: Uint8Array): boolean {
  return (id[16] & FLAG_PRIVATE) !== 0;
}

/** The id's weight byte (0 counts as 1 when connectors are picked). */
export function weightOf(id: Uint8Array): number {
  return id[19];
}

/**
 * GOST's public name of a tunnel: the first 8 bytes of MD5 over the id's text, in hex (16 digits). The server
 * answers a registration with it and routes it like an ingress rule of its own.
 * @example tunnelEndpoint(parseTunnelId("4d21094e-b74c-4916-86c1-d9fa36ea677b")!) // 16 hex digits
 */
export function tunnelEndpoint(id: Uint8Array): string {
  return createHash("md5").update(idText(id)).digest("hex").slice(0, 16);
}
