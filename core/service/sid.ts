/**
 * Connection ids in the shape of GOST's xid: 20 base32hex characters, sortable by time.
 * @module
 */
const ALPHABET = "0123456789abcdefghijklmnopqrstuv";
const machine = crypto.getRandomValues(new Uint8Array(5));
let counter = crypto.getRandomValues(new Uint32Array(1))[0] & 0xffffff;
/** The first 16 characters (time, machine, counter's high byte) change at most once a second: cached. */
let prefixKey = -1;
let prefix = "";

/** base32hex of `bytes` (big-endian bits, the last group zero-padded). */
function base32hex(bytes: readonly number[]): string {
  let out = "";
  let bits = 0, value = 0;
  for (const byte of bytes) {
    value = ((value << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/** A new unique connection id. @example newSid() // "d4hbb3k0jjbq4m0oie7g" */
export function newSid(): string {
  const t = Math.floor(Date.now() / 1000);
  counter = (counter + 1) & 0xffffff;
  const high = counter >>> 16;
  const key = t * 256 + high;
  if (key !== prefixKey) {
    // Bytes 0–9 (4 time, 5 machine, counter's high byte) are 80 bits: exactly 16 characters.
    prefix = base32hex([t >>> 24 & 255, t >>> 16 & 255, t >>> 8 & 255, t & 255, ...machine, high]);
    prefixKey = key;
  }
  // Bytes 10–11 (16 bits, padded): the last 4 characters.
  return prefix + base32hex([counter >>> 8 & 255, counter & 255]);
}
