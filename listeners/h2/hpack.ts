/**
 * HPACK (RFC 7541): the header compression of HTTP/2. The decoder keeps the peer's dynamic table and understands
 * every representation (indexed, literal with/without/never indexing, table size updates, Huffman strings); the
 * encoder uses the static table and literals without indexing only, so it keeps no state and never asks the peer to
 * hold a table for it. A block that does not decode, or one whose header list exceeds the cap, is an {@link HpackError}
 * (a connection error: the table can no longer be trusted).
 * @module
 */
import { HpackError } from "./errors.ts";
import { huffmanDecode } from "./huffman.ts";

/** One header field: lower-case name (pseudo-headers start with `:`) and value. */
export interface HeaderField {
  readonly name: string;
  readonly value: string;
}

/** The static table (RFC 7541 Appendix A), index 1 first. */
export const STATIC_TABLE: readonly (readonly [string, string])[] = [
  [":authority", ""],
  [":method", "GET"],
  [":method", "POST"],
  [":path", "/"],
  [":path", "/index.html"],
  [":scheme", "http"],
  [":scheme", "https"],
  [":status", "200"],
  [":status", "204"],
  [":status", "206"],
  [":status", "304"],
  [":status", "400"],
  [":status", "404"],
  [":status", "500"],
  ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"],
  ["accept-language", ""],
  ["accept-ranges", ""],
  ["accept", ""],
  ["access-control-allow-origin", ""],
  ["age", ""],
  ["allow", ""],
  ["authorization", ""],
  ["cache-control", ""],
  ["content-disposition", ""],
  ["content-encoding", ""],
  ["content-language", ""],
  ["content-length", ""],
  ["content-location", ""],
  ["content-range", ""],
  ["content-type", ""],
  ["cookie", ""],
  ["date", ""],
  ["etag", ""],
  ["expect", ""],
  ["expires", ""],
  ["from", ""],
  ["host", ""],
  ["if-match", ""],
  ["if-modified-since", ""],
  ["if-none-match", ""],
  ["if-range", ""],
  ["if-unmodified-since", ""],
  ["last-modified", ""],
  ["link", ""],
  ["location", ""],
  ["max-forwards", ""],
  ["proxy-authenticate", ""],
  ["proxy-authorization", ""],
  ["range", ""],
  ["referer", ""],
  ["refresh", ""],
  ["retry-after", ""],
  ["server", ""],
  ["set-cookie", ""],
  ["strict-transport-security", ""],
  ["transfer-encoding", ""],
  ["user-agent", ""],
  ["vary", ""],
  ["via", ""],
  ["www-authenticate", ""],
];

/** The dynamic table size both ends start with (SETTINGS_HEADER_TABLE_SIZE's default). */
export const DEFAULT_TABLE_SIZE = 4096;
/** Per-entry overhead counted in table and header list sizes (RFC 7541 §4.1). */
const ENTRY_OVERHEAD = 32;
/** Integers above this are refused (no legitimate index, length or size comes close). */
const MAX_INT = 1 << 24;

/** Octets as a string, one char per octet (header values are octets, not UTF-8). */
function octets(b: Uint8Array, from: number, to: number): string {
  let s = "";
  for (let i = from; i < to; i += 4096) {
    s += String.fromCharCode.apply(null, b.subarray(i, Math.min(to, i + 4096)) as unknown as number[]);
  }
  return s;
}

/** Decodes header blocks of one connection (one decoder per direction, RFC 7541 §2.2). */
export class HpackDecoder {
  /** Newest entry last. */
  readonly #table: [string, string, number][] = [];
  #size = 0;
  #max = DEFAULT_TABLE_SIZE;
  readonly #limit: number;
  readonly #maxListSize: number;

  /**
   * @param limit the SETTINGS_HEADER_TABLE_SIZE this end advertised: the most a size update may ask for
   * @param maxListSize the largest header list accepted (names + values + 32 per field)
   */
  constructor(limit = DEFAULT_TABLE_SIZE, maxListSize = 64 * 1024) {
    this.#limit = limit;
    this.#max = Math.min(this.#max, limit);
    this.#maxListSize = maxListSize;
  }

  /** The dynamic table's size now (for tests). */
  get tableSize(): number {
    return this.#size;
  }

  /**
   * Decodes one complete header block (HEADERS + CONTINUATION payloads joined).
   * @throws {HpackError} on any malformed representation, a bad index, a size update above the limit or not at the
   *   start of the block, or a header list larger than the cap
   */
  decode(block: Uint8Array): HeaderField[] {
    const out: HeaderField[] = [];
    let listSize = 0;
    let pos = 0;
    let mayUpdate = true;
    const int = (prefixBits: number): number => {
      if (pos >= block.length) throw new HpackError("HPACK: truncated integer");
      const mask = (1 << prefixBits) - 1;
      let v = block[pos++] & mask;
      if (v < mask) return v;
      let shift = 0;
      for (;;) {
        if (pos >= block.length) throw new HpackError("HPACK: truncated integer");
        const b = block[pos++];
        v += (b & 0x7f) * 2 ** shift;
        if (v > MAX_INT) throw new HpackError("HPACK: integer too large");
        if ((b & 0x80) === 0) return v;
        shift += 7;
      }
    };
    const str = (): string => {
      if (pos >= block.length) throw new HpackError("HPACK: truncated string");
      const huffman = (block[pos] & 0x80) !== 0;
      const len = int(7);
      if (len > block.length - pos) throw new HpackError("HPACK: string longer than the block");
      const from = pos;
      pos += len;
      if (!huffman) return octets(block, from, pos);
      const raw = huffmanDecode(block.subarray(from, pos));
      return octets(raw, 0, raw.length);
    };
    const emit = (name: string, value: string) => {
      listSize += name.length + value.length + ENTRY_OVERHEAD;
      if (listSize > this.#maxListSize) {
        throw new HpackError(`HPACK: header list larger than ${this.#maxListSize} bytes`);
      }
      out.push({ name, value });
    };
    while (pos < block.length) {
      const b = block[pos];
      if (b & 0x80) { // indexed field
        const [name, value] = this.#entry(int(7));
        emit(name, value);
      } else if (b & 0x40) { // literal with incremental indexing
        const idx = int(6);
        const name = idx === 0 ? str() : this.#entry(idx)[0];
        const value = str();
        this.#add(name, value);
        emit(name, value);
      } else if (b & 0x20) { // dynamic table size update
        if (!mayUpdate) throw new HpackError("HPACK: table size update after a header field");
        const size = int(5);
        if (size > this.#limit) throw new HpackError(`HPACK: table size update ${size} above ${this.#limit}`);
        this.#max = size;
        this.#evict(0);
        continue;
      } else { // literal without indexing (0000) or never indexed (0001)
        const idx = int(4);
        const name = idx === 0 ? str() : this.#entry(idx)[0];
        emit(name, str());
      }
      mayUpdate = false;
    }
    return out;
  }

  #entry(idx: number): readonly [string, string] {
    if (idx === 0) throw new HpackError("HPACK: index 0");
    if (idx <= STATIC_TABLE.length) return STATIC_TABLE[idx - 1];
    const d = idx - STATIC_TABLE.length;
    if (d > this.#table.length) throw new HpackError(`HPACK: index ${idx} beyond the tables`);
    const e = this.#table[this.#table.length - d];
    return [e[0], e[1]];
  }

  #add(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    this.#evict(size);
    if (size > this.#max) return; // an entry larger than the table empties it (RFC 7541 §4.4)
    this.#table.push([name, value, size]);
    this.#size += size;
  }

  /** Evicts the oldest entries until `room` more fits. */
  #evict(room: number): void {
    let drop = 0;
    while (drop < this.#table.length && this.#size + room > this.#max) this.#size -= this.#table[drop++][2];
    if (drop > 0) this.#table.splice(0, drop);
  }
}

/** Static-table index of each (name, value) pair with a value, and of each name's first entry. */
const STATIC_PAIR: ReadonlyMap<string, number> = new Map(
  STATIC_TABLE.flatMap(([name, value], i) => (value === "" ? [] : [[`${name}\0${value}`, i + 1] as const])),
);
const STATIC_NAME: ReadonlyMap<string, number> = new Map(
  STATIC_TABLE.map(([name], i) => [name, i + 1] as const).reverse(), // the first index wins
);

/**
 * Encodes a header list without state: static-table matches are indexed, everything else is a literal without
 * indexing (raw, not Huffman-coded). Names must be lower case; values are written as octets (chars above 0xff are
 * refused by the caller's validation).
 * @example encodeHeaders([{ name: ":status", value: "200" }]) // Uint8Array [0x88]
 */
export function encodeHeaders(fields: readonly HeaderField[]): Uint8Array {
  const out: number[] = [];
  const int = (v: number, prefixBits: number, first: number) => {
    const mask = (1 << prefixBits) - 1;
    if (v < mask) return out.push(first | v);
    out.push(first | mask);
    v -= mask;
    while (v >= 0x80) {
      out.push((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(v);
  };
  const str = (s: string) => {
    int(s.length, 7, 0);
    for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i) & 0xff);
  };
  for (const { name, value } of fields) {
    const pair = STATIC_PAIR.get(`${name}\0${value}`);
    if (pair !== undefined) {
      int(pair, 7, 0x80);
      continue;
    }
    const idx = STATIC_NAME.get(name);
    if (idx !== undefined) int(idx, 4, 0x00);
    else {
      out.push(0x00);
      str(name);
    }
    str(value);
  }
  return Uint8Array.from(out);
}
