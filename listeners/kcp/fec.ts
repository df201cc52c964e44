/**
 * kcp-go's forward error correction (docs/wire.md, "KCP"): after the crypt header every datagram of a session with
 * FEC carries `seqid u32 LE, flag u16 LE (0xf1 data, 0xf2 parity)`; a data shard then has `size u16 LE` (the bytes
 * from this field to the end) and the KCP segments. Every `dataShards` data shards are followed by `parityShards`
 * parity shards: the Reed-Solomon parity of the data shards from their size field on, zero-padded to the longest.
 * The receiver rebuilds lost data shards once any `dataShards` of a group arrived, and detects a peer whose shard
 * counts differ from its own (kcp-go's auto-tune: the period of the data/parity flags over the seqids).
 * @module
 */
import { ReedSolomon } from "./reed_solomon.ts";

/** Bytes of `seqid` and `flag`. */
export const FEC_HEADER_SIZE = 6;
/** The FEC header and a data shard's size field. */
export const FEC_HEADER_SIZE_PLUS2 = FEC_HEADER_SIZE + 2;
/** Flag of a data shard. */
export const TYPE_DATA = 0xf1;
/** Flag of a parity shard. */
export const TYPE_PARITY = 0xf2;
/** A shard kept this long (ms) without its group completing is dropped. */
const FEC_EXPIRE_MS = 60_000;
/** Groups kept in the receive queue. */
const RX_FEC_MULTI = 3;
/** kcp-go's largest datagram. */
const MTU_LIMIT = 1500;

const diff = (a: number, b: number) => (a - b) | 0;

/**
 * Marks datagrams as data shards and makes the parity datagrams of each group.
 * @example
 * const enc = new FecEncoder(10, 3, 20);
 * const parity = enc.encode(datagram); // [] until the 10th data shard, then 3 datagrams
 */
export class FecEncoder {
  readonly #rs: ReedSolomon;
  readonly #data: number;
  readonly #offset: number;
  readonly #paws: number;
  #next = 0;
  #count = 0;
  #maxSize = 0;
  /** The data shards of the group being collected (whole datagrams), and room for the parity. */
  readonly #cache: Uint8Array[];
  readonly #lens: number[];

  /** @param offset where the FEC header starts in a datagram (the crypt header's size) */
  constructor(dataShards: number, parityShards: number, offset: number) {
    this.#rs = new ReedSolomon(dataShards, parityShards);
    this.#data = dataShards;
    this.#offset = offset;
    const total = dataShards + parityShards;
    this.#paws = Math.floor(0xffffffff / total) * total;
    this.#cache = Array.from({ length: total }, () => new Uint8Array(MTU_LIMIT));
    this.#lens = new Array(dataShards).fill(0);
  }

  /**
   * Writes the FEC header and size field into `p` (a whole datagram with room for them at the offset) and returns
   * the parity datagrams once the group is complete (fresh buffers, crypt header left to fill).
   */
  encode(p: Uint8Array): Uint8Array[] {
    const h = this.#offset;
    this.#mark(p, h, TYPE_DATA);
    this.#next = (this.#next + 1) >>> 0;
    const payload = h + FEC_HEADER_SIZE;
    const size = p.length - payload;
    p[payload] = size, p[payload + 1] = size >>> 8;
    const shard = this.#cache[this.#count];
    shard.set(p.subarray(payload), payload);
    this.#lens[this.#count] = p.length;
    this.#count++;
    if (p.length > this.#maxSize) this.#maxSize = p.length;
    if (this.#count < this.#data) return [];
    const max = this.#maxSize;
    for (let i = 0; i < this.#data; i++) this.#cache[i].fill(0, this.#lens[i], max);
    const views = this.#cache.map((c) => c.subarray(payload, max));
    this.#rs.encode(views, max - payload);
    const parity: Uint8Array[] = [];
    for (let k = this.#data; k < this.#cache.length; k++) {
      const out = this.#cache[k].slice(0, max);
      this.#mark(out, h, TYPE_PARITY);
      this.#next = (this.#next + 1) % this.#paws;
      parity.push(out);
    }
    this.#count = 0;
    this.#maxSize = 0;
    return parity;
  }

  #mark(p: Uint8Array, h: number, flag: number): void {
    const s = this.#next;
    p[h] = s, p[h + 1] = s >>> 8, p[h + 2] = s >>> 16, p[h + 3] = s >>> 24;
    p[h + 4] = flag, p[h + 5] = 0;
  }
}

/** A shard in the receive queue. */
interface RxShard {
  seqid: number;
  flag: number;
  /** The shard's bytes after the FEC header (a data shard's size field on, or the parity). */
  data: Uint8Array;
  ts: number;
}

/** kcp-go's auto-tune: the period of the data and parity runs over the last seqids. */
class AutoTune {
  static readonly SAMPLES = 258;
  readonly #bits = new Uint8Array(AutoTune.SAMPLES);
  readonly #seqs = new Float64Array(AutoTune.SAMPLES).fill(-1);

  sample(data: boolean, seq: number): void {
    const i = seq % AutoTune.SAMPLES;
    this.#bits[i] = data ? 1 : 0;
    this.#seqs[i] = seq;
  }

  /** The length of a run of `bit` between two edges, or -1. */
  findPeriod(bit: boolean): number {
    const b = bit ? 1 : 0;
    const n = AutoTune.SAMPLES;
    let left = 0;
    for (let idx = 1; idx < n; idx++) {
      if (this.#bits[idx - 1] !== b && this.#bits[idx] === b && this.#seqs[idx - 1] + 1 === this.#seqs[idx]) {
        left = idx;
        break;
      }
    }
    let right = 0;
    for (let idx = left + 1; idx < n; idx++) {
      if (this.#seqs[idx - 1] + 1 !== this.#seqs[idx]) return -1;
      if (this.#bits[idx - 1] === b && this.#bits[idx] !== b) {
        right = idx;
        break;
      }
    }
    return right - left;
  }
}

/**
 * Collects shards and rebuilds lost data shards.
 * @example const dec = new FecDecoder(10, 3); for (const shard of dec.decode(pkt, now)) input(shard);
 */
export class FecDecoder {
  #data: number;
  #parity: number;
  #total: number;
  #rxlimit: number;
  #rs: ReedSolomon;
  #rx: RxShard[] = [];
  readonly #tune = new AutoTune();
  #shouldTune = false;
  /** Data shards rebuilt so far. */
  recovered = 0;

  constructor(dataShards: number, parityShards: number) {
    this.#data = dataShards;
    this.#parity = parityShards;
    this.#total = dataShards + parityShards;
    this.#rxlimit = RX_FEC_MULTI * this.#total;
    this.#rs = new ReedSolomon(dataShards, parityShards);
  }

  /** The shard counts in use (the configured ones, or the peer's once auto-tune found them). */
  get shape(): [number, number] {
    return [this.#data, this.#parity];
  }

  /**
   * Takes one FEC datagram (from the FEC header on) and returns the data shards it lets rebuild, each from its size
   * field on (check the size before use: a rebuilt shard is not covered by the datagram CRC).
   */
  decode(pkt: Uint8Array, now: number): Uint8Array[] {
    const seqid = (pkt[0] | (pkt[1] << 8) | (pkt[2] << 16) | (pkt[3] << 24)) >>> 0;
    const flag = pkt[4] | (pkt[5] << 8);
    this.#tune.sample(flag === TYPE_DATA, seqid);
    if ((seqid % this.#total < this.#data) !== (flag === TYPE_DATA)) this.#shouldTune = true;
    if (this.#shouldTune) this.#retune();
    if (this.#shouldTune) return [];

    const rx = this.#rx;
    let insert = 0;
    for (let i = rx.length - 1; i >= 0; i--) {
      if (rx[i].seqid === seqid) return [];
      if (diff(seqid, rx[i].seqid) > 0) {
        insert = i + 1;
        break;
      }
    }
    rx.splice(insert, 0, { seqid, flag, data: pkt.slice(FEC_HEADER_SIZE), ts: now });

    const total = this.#total;
    const begin = (seqid - (seqid % total)) >>> 0;
    const end = (begin + total - 1) >>> 0;
    const searchBegin = Math.max(0, insert - (seqid % total));
    const searchEnd = Math.min(searchBegin + total - 1, rx.length - 1);
    let out: Uint8Array[] = [];
    if (searchEnd - searchBegin + 1 >= this.#data) {
      const shards: (Uint8Array | null)[] = new Array(total).fill(null);
      let numShard = 0, numData = 0, first = 0, maxLen = 0;
      for (let i = searchBegin; i <= searchEnd; i++) {
        const s = rx[i];
        if (diff(s.seqid, end) > 0) break;
        if (diff(s.seqid, begin) < 0) continue;
        shards[s.seqid % total] = s.data;
        if (++numShard === 1) first = i;
        if (s.flag === TYPE_DATA) numData++;
        if (s.data.length > maxLen) maxLen = s.data.length;
      }
      if (numData === this.#data) {
        rx.splice(first, numShard);
      } else if (numShard >= this.#data) {
        const present = shards.map((s) => s !== null);
        for (let k = 0; k < total; k++) {
          const s = shards[k];
          if (s && s.length < maxLen) {
            const padded = new Uint8Array(maxLen);
            padded.set(s);
            shards[k] = padded;
          }
        }
        try {
          const rebuilt = this.#rs.reconstructData(shards, maxLen);
          out = rebuilt.filter((k) => !present[k]).map((k) => shards[k]!);
          this.recovered += out.length;
        } catch {
          // not enough shards after all: nothing rebuilt
        }
        rx.splice(first, numShard);
      }
    }
    if (rx.length > this.#rxlimit) rx.shift();
    let expired = 0;
    while (expired < rx.length && diff(now, rx[expired].ts) > FEC_EXPIRE_MS) expired++;
    if (expired) rx.splice(0, expired);
    return out;
  }

  /** Adopts the peer's shard counts once both runs show a period (kcp-go's auto-tune). */
  #retune(): void {
    const ds = this.#tune.findPeriod(true);
    const ps = this.#tune.findPeriod(false);
    if (!(ds > 0 && ps > 0 && ds < 256 && ps < 256 && ds + ps <= 256)) return;
    // kcp-go keeps tuning (and rebuilding nothing) when the period found is the current shape; it stops here
    if (ds !== this.#data || ps !== this.#parity) {
      this.#data = ds;
      this.#parity = ps;
      this.#total = ds + ps;
      this.#rxlimit = RX_FEC_MULTI * this.#total;
      this.#rs = new ReedSolomon(ds, ps);
      this.#rx = [];
    }
    this.#shouldTune = false;
  }
}
