/**
 * Connection ids in the shape of GOST's xid: 20 base32hex characters, sortable by time.
 * @module
 */
const ALPHABET = "0123456789abcdefghijklmnopqrstuv";
const machine = crypto.getRandomValues(new Uint8Array(5));
let counter = crypto.getRandomValues(new Uint32Array(1))[0] & 0xffffff;

/** A new unique connection id. @example newSid() // "d4hbb3k0jjbq4m0oie7g" */
export function newSid(): string {
  const b = new Uint8Array(12);
  const t = Math.floor(Date.now() / 1000);
  b[0] = t >>> 24;
  b[1] = t >>> 16;
  b[2] = t >>> 8;
  b[3] = t;
  b.set(machine, 4);
  counter = (counter + 1) & 0xffffff;
  b[9] = counter >>> 16;
  b[10] = counter >>> 8;
  b[11] = counter;
  let out = "";
  let bits = 0, value = 0;
  for (const byte of b) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}
