/**
 * A Shadowsocks AEAD TCP connection (SIP004, docs/wire.md, "Shadowsocks"): each direction is a salt, then chunks
 * sealed with the subkey of that salt. Reads decrypt, writes encrypt; half-close is TCP's.
 *
 * Reading: the socket is read into a buffer of this conn (2 KiB while idle; a read that fills it moves the next reads
 * to 64 KiB and then 1 MiB buffers borrowed from shared pools, a short one with nothing left over goes back), every
 * chunk a read completed is opened in one batch, and the plaintext is handed out through `read(p)` in as many calls
 * as `p` needs. Writing: one write is one batch of chunks and one socket write.
 * @module
 */
import { UnexpectedEofError } from "../../core/bufio.ts";
import type { Conn } from "../../core/conn.ts";
import { writeFull } from "../../core/conn.ts";
import { Nonce, SessionAead } from "./aead.ts";
import { type StreamKeys, TAG_SIZE } from "./cipher.ts";
import { ChunkAuthError, ChunkOpener, ChunkWriter, settle } from "./chunks.ts";

const SMALL = 2048;

/** A bounded pool of equal buffers. */
class Pool {
  readonly #free: Uint8Array<ArrayBuffer>[] = [];
  constructor(readonly size: number, readonly max: number) {}
  get(): Uint8Array<ArrayBuffer> {
    return this.#free.pop() ?? new Uint8Array(this.size);
  }
  put(b: Uint8Array<ArrayBuffer>): void {
    if (this.#free.length < this.max) this.#free.push(b);
  }
}

/** The borrowed read buffers, smallest first (64 KiB holds the largest chunk, 16,417 bytes, with room to spare). */
const TIERS = [new Pool(64 * 1024, 64), new Pool(1024 * 1024, 8)];

/** Options of a {@link SsStreamConn}. */
export interface SsStreamOptions {
  /** Plaintext sealed as chunks of its own before the first write's data (the client's target address). */
  header?: Uint8Array;
  /**
   * Called once the peer's first chunk authenticated, with its salt (the server's replay check: it throws to end
   * the conn).
   */
  onPeerSalt?: (salt: Uint8Array) => void;
  /** Called with the salt this side sends, once it is chosen (the server remembers its own salts). */
  onOwnSalt?: (salt: Uint8Array) => void;
  /** SIP022: the headers after each salt, and chunks of up to 0xFFFF bytes (handlers/ss/ss2022/preamble.ts). */
  preamble?: StreamPreamble;
}

/**
 * The headers a stream carries after each salt before its chunks (SIP022), as raw AEAD messages of known sizes.
 * The reading side asks for them one at a time; the writing side builds them with its first write.
 */
export interface StreamPreamble {
  /** Largest chunk payload (SIP022: 0xFFFF), also the length mask. */
  readonly chunkMax: number;
  /** The client's side (it sends its headers at once, with padding when there is no data). */
  readonly client: boolean;
  /** The plaintext size of the peer's header message `index`, or null when the chunks start. */
  nextSize(index: number): number | null;
  /**
   * Checks the peer's header message `index` (the first one authenticated the key) and returns the plaintext it
   * carries for the reader (the server: the target address and the initial payload), possibly empty.
   * @throws {HandshakeError} on a bad header (type, timestamp, salt echo, padding)
   */
  take(index: number, plain: Uint8Array, peerSalt: Uint8Array): Uint8Array;
  /** SIP023, the server: the size of the identity header after the peer's salt (absent: none). */
  readonly identitySize?: number;
  /** SIP023, the server: the keys (both ways) of the user the identity header after `salt` names; null for none. */
  userKeys?(salt: Uint8Array, header: Uint8Array): StreamKeys | null;
  /** SIP023, the client: the identity header sent after its salt. */
  identity?(salt: Uint8Array): Uint8Array;
  /** The header messages this side sends with its first write, and what of `data` is left for chunks. */
  first(ownSalt: Uint8Array, peerSalt: Uint8Array | null, data: Uint8Array): { raw: Uint8Array[]; rest: Uint8Array };
}

/** A byte stream encrypted with a Shadowsocks AEAD method. */
export class SsStreamConn implements Conn {
  readonly #inner: Conn;
  /** The keys; SIP023's server takes the user's once the identity header named one. */
  #keys: StreamKeys;
  readonly #opts: SsStreamOptions;

  // reading
  #small: Uint8Array<ArrayBuffer> | null = null;
  #buf: Uint8Array<ArrayBuffer> | null = null;
  #tier = -1;
  #start = 0;
  #end = 0;
  #opener: ChunkOpener | null = null;
  /** The next peer header message (SIP022), -1 once the chunks started or without a preamble. */
  #preIndex: number;
  #peerSalt: Uint8Array | null = null;
  #authenticated = false;
  readonly #queue: Uint8Array[] = [];
  #qOff = 0;

  // writing
  #writer: ChunkWriter | null = null;
  #salt: Uint8Array | null = null;
  #header: Uint8Array | null;
  #writing: Promise<unknown> | null = null;

  constructor(inner: Conn, keys: StreamKeys, opts: SsStreamOptions = {}) {
    this.#inner = inner;
    this.#keys = keys;
    this.#opts = opts;
    this.#header = opts.header ?? null;
    this.#preIndex = opts.preamble ? 0 : -1;
  }

  get localAddr(): Deno.Addr {
    return this.#inner.localAddr;
  }
  get remoteAddr(): Deno.Addr {
    return this.#inner.remoteAddr;
  }

  /** True once the peer's first chunk authenticated. */
  get authenticated(): boolean {
    return this.#authenticated;
  }

  /**
   * Reads decrypted bytes.
   * @throws {ChunkAuthError} when a chunk does not authenticate; {@link UnexpectedEofError} when the stream ends
   *   inside the salt or a chunk; whatever `onPeerSalt` throws
   */
  async read(p: Uint8Array): Promise<number | null> {
    if (this.#queue.length) return this.#drain(p);
    for (;;) {
      const buf = this.#room();
      const free = buf.length - this.#end;
      let n: number | null;
      try {
        n = await this.#inner.read(buf.subarray(this.#end));
      } catch (err) {
        this.#release();
        throw err;
      }
      if (n === null) {
        const partial = this.#end > this.#start;
        this.#release();
        if (partial) throw new UnexpectedEofError("Shadowsocks stream ended inside a salt or chunk");
        return null;
      }
      this.#end += n;
      const plain = await this.#process();
      this.#adapt(n === free);
      if (plain.length) {
        for (const x of plain) if (x.length) this.#queue.push(x);
        if (this.#queue.length) return this.#drain(p);
      }
    }
  }

  /** Opens what the buffer holds: the peer's salt first, then its headers (SIP022), then whole chunks. */
  async #process(): Promise<Uint8Array[]> {
    const buf = this.#buf!;
    const pre = this.#opts.preamble;
    if (!this.#opener) {
      const size = this.#keys.spec.saltSize;
      const idSize = pre?.identitySize ?? 0;
      if (this.#end - this.#start < size + idSize) return [];
      const salt = buf.slice(this.#start, this.#start + size);
      if (idSize) {
        const keys = pre!.userKeys!(salt, buf.subarray(this.#start + size, this.#start + size + idSize));
        if (!keys) throw new ChunkAuthError(true);
        this.#keys = keys;
      }
      this.#start += size + idSize;
      const aead = await SessionAead.create(this.#keys.spec, this.#keys.subkey(salt));
      this.#peerSalt = salt;
      this.#opener = new ChunkOpener(aead, new Nonce(), pre?.chunkMax);
    }
    const out: Uint8Array[] = [];
    while (pre && this.#preIndex >= 0) {
      const size = pre.nextSize(this.#preIndex);
      if (size === null) {
        this.#preIndex = -1;
        break;
      }
      if (this.#end - this.#start < size + TAG_SIZE) return out;
      const opened = this.#opener.openRaw(buf.subarray(this.#start), size);
      const plain = opened instanceof Promise ? await opened : opened;
      if (!plain) throw new ChunkAuthError(this.#preIndex === 0);
      this.#start += size + TAG_SIZE;
      const carried = pre.take(this.#preIndex, plain, this.#peerSalt!);
      if (this.#preIndex++ === 0) this.#authenticate();
      if (carried.length) out.push(carried);
    }
    const o = this.#opener.open(buf.subarray(this.#start, this.#end));
    this.#start += o.consumed;
    const plain = o.checks.length || o.plain.some((x) => x instanceof Promise)
      ? await settle(o, !this.#authenticated)
      : o.plain as Uint8Array[];
    if (!this.#authenticated && this.#opener.started) this.#authenticate();
    return out.length ? [...out, ...plain] : plain;
  }

  #authenticate(): void {
    this.#authenticated = true;
    this.#opts.onPeerSalt?.(this.#peerSalt!);
  }

  /** The read buffer with room for the next unit (salt or chunk) after the unread bytes. */
  #room(): Uint8Array<ArrayBuffer> {
    let buf = this.#buf ??= this.#small ??= new Uint8Array(SMALL);
    if (this.#start === this.#end) this.#start = this.#end = 0;
    const need = this.#need();
    if (buf.length - this.#start < need || this.#end === buf.length) {
      const unread = this.#end - this.#start;
      if (buf.length < need) {
        // 64 KiB holds any SIP004 chunk; a SIP022 chunk or header may need the 1 MiB tier
        this.#swap(TIERS[0].size >= need ? 0 : 1, unread);
        buf = this.#buf!;
      } else {
        buf.copyWithin(0, this.#start, this.#end);
      }
      this.#start = 0;
      this.#end = unread;
    }
    return buf;
  }

  /** The bytes the next unit (salt, header or chunk) needs in all. */
  #need(): number {
    if (!this.#opener) return this.#keys.spec.saltSize + (this.#opts.preamble?.identitySize ?? 0);
    const size = this.#preIndex >= 0 ? this.#opts.preamble!.nextSize(this.#preIndex) : null;
    return size === null ? this.#opener.need : size + TAG_SIZE;
  }

  /** After a read: up a tier when it filled the free room, back to the small buffer when it did not and none is left. */
  #adapt(filled: boolean): void {
    if (filled) {
      if (this.#tier < TIERS.length - 1) {
        const unread = this.#end - this.#start;
        this.#swap(this.#tier + 1, unread);
        this.#start = 0;
        this.#end = unread;
      }
    } else if (this.#tier >= 0 && this.#start === this.#end) this.#release();
  }

  /** Moves the unread bytes to a buffer of tier `tier`. */
  #swap(tier: number, unread: number): void {
    const old = this.#buf!;
    const next = TIERS[tier].get();
    next.set(old.subarray(this.#start, this.#start + unread));
    if (this.#tier >= 0) TIERS[this.#tier].put(old);
    this.#buf = next;
    this.#tier = tier;
  }

  /** Hands a borrowed buffer back (nothing unread is left in it) and returns to the small one. */
  #release(): void {
    if (this.#tier >= 0) TIERS[this.#tier].put(this.#buf!);
    this.#tier = -1;
    this.#buf = this.#small;
    this.#start = this.#end = 0;
  }

  #drain(p: Uint8Array): number {
    let n = 0;
    while (n < p.length && this.#queue.length) {
      const head = this.#queue[0];
      const k = Math.min(p.length - n, head.length - this.#qOff);
      p.set(head.subarray(this.#qOff, this.#qOff + k), n);
      n += k;
      this.#qOff += k;
      if (this.#qOff === head.length) {
        this.#queue.shift();
        this.#qOff = 0;
      }
    }
    return n;
  }

  /** Encrypts and writes all of `p` (one batch of chunks, one socket write); resolves with `p.length`. */
  write(p: Uint8Array): Promise<number> {
    const prev = this.#writing;
    const done = prev ? prev.then(() => this.#write(p)) : this.#write(p);
    const tracked = done.finally(() => {
      if (this.#writing === tracked) this.#writing = null;
    });
    this.#writing = tracked.catch(() => {});
    return done;
  }

  /** Sends the salt and the header (the client's target) now, without data. */
  async flush(): Promise<void> {
    await this.write(new Uint8Array(0));
  }

  async #write(p: Uint8Array): Promise<number> {
    const pre = this.#opts.preamble;
    let prefix: Uint8Array | null = null;
    let raw: Uint8Array[] = [];
    let data = p;
    if (!this.#writer) {
      if (pre && !pre.client && !p.length) return 0; // a server's header goes with its first data
      const spec = this.#keys.spec;
      const salt = crypto.getRandomValues(new Uint8Array(spec.saltSize));
      this.#opts.onOwnSalt?.(salt);
      const aead = await SessionAead.create(spec, this.#keys.subkey(salt));
      this.#writer = new ChunkWriter(aead, new Nonce(), pre?.chunkMax);
      this.#salt = prefix = salt;
      if (pre?.identity) {
        const id = pre.identity(salt);
        prefix = new Uint8Array(salt.length + id.length);
        prefix.set(salt);
        prefix.set(id, salt.length);
      }
      if (pre) ({ raw, rest: data } = pre.first(salt, this.#peerSalt, p));
    }
    const header = pre ? null : this.#header;
    this.#header = null;
    if (!data.length && !header && !prefix) return p.length;
    const w = this.#writer;
    const size = (prefix?.length ?? 0) + raw.reduce((a, r) => a + r.length + TAG_SIZE, 0) +
      (header ? w.wireSize(header.length) : 0) + w.wireSize(data.length);
    const out = new Uint8Array(size);
    let off = 0;
    if (prefix) {
      out.set(prefix);
      off = prefix.length;
    }
    const pending: Promise<void>[] = [];
    for (const r of raw) {
      const x = w.sealRawInto(r, out, off);
      if (x) pending.push(x);
      off += r.length + TAG_SIZE;
    }
    if (header) {
      const a = w.sealInto(header, out, off);
      if (a) pending.push(a);
      off += w.wireSize(header.length);
    }
    const b = w.sealInto(data, out, off);
    if (b) pending.push(b);
    if (pending.length) await Promise.all(pending);
    await writeFull(this.#inner, out);
    return p.length;
  }

  async closeWrite(): Promise<void> {
    if (this.#writing) await this.#writing;
    if (this.#header) await this.flush().catch(() => {});
    await this.#inner.closeWrite();
  }

  close(): void {
    this.#inner.close();
  }
}
