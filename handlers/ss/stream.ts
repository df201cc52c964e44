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
import type { StreamKeys } from "./cipher.ts";
import { ChunkOpener, ChunkWriter, settle } from "./chunks.ts";

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
}

/** A byte stream encrypted with a Shadowsocks AEAD method. */
export class SsStreamConn implements Conn {
  readonly #inner: Conn;
  readonly #keys: StreamKeys;
  readonly #opts: SsStreamOptions;

  // reading
  #small: Uint8Array<ArrayBuffer> | null = null;
  #buf: Uint8Array<ArrayBuffer> | null = null;
  #tier = -1;
  #start = 0;
  #end = 0;
  #opener: ChunkOpener | null = null;
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

  /** Opens what the buffer holds: the peer's salt first, then whole chunks. */
  async #process(): Promise<Uint8Array[]> {
    const buf = this.#buf!;
    if (!this.#opener) {
      const size = this.#keys.spec.saltSize;
      if (this.#end - this.#start < size) return [];
      const salt = buf.slice(this.#start, this.#start + size);
      this.#start += size;
      const aead = await SessionAead.create(this.#keys.spec, this.#keys.subkey(salt));
      this.#peerSalt = salt;
      this.#opener = new ChunkOpener(aead, new Nonce());
    }
    const o = this.#opener.open(buf.subarray(this.#start, this.#end));
    this.#start += o.consumed;
    const plain = o.checks.length || o.plain.some((x) => x instanceof Promise)
      ? await settle(o, !this.#authenticated)
      : o.plain as Uint8Array[];
    if (!this.#authenticated && this.#opener.started) {
      this.#authenticated = true;
      this.#opts.onPeerSalt?.(this.#peerSalt!);
    }
    return plain;
  }

  /** The read buffer with room for the next unit (salt or chunk) after the unread bytes. */
  #room(): Uint8Array<ArrayBuffer> {
    let buf = this.#buf ??= this.#small ??= new Uint8Array(SMALL);
    if (this.#start === this.#end) this.#start = this.#end = 0;
    const need = this.#opener ? this.#opener.need : this.#keys.spec.saltSize;
    if (buf.length - this.#start < need || this.#end === buf.length) {
      const unread = this.#end - this.#start;
      if (buf.length < need) {
        this.#swap(0, unread); // the small buffer holds no whole chunk of 2 KiB or more; 64 KiB holds any
        buf = this.#buf!;
      } else {
        buf.copyWithin(0, this.#start, this.#end);
      }
      this.#start = 0;
      this.#end = unread;
    }
    return buf;
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
    let prefix: Uint8Array | null = null;
    if (!this.#writer) {
      const spec = this.#keys.spec;
      const salt = crypto.getRandomValues(new Uint8Array(spec.saltSize));
      this.#opts.onOwnSalt?.(salt);
      const aead = await SessionAead.create(spec, this.#keys.subkey(salt));
      this.#writer = new ChunkWriter(aead, new Nonce());
      this.#salt = prefix = salt;
    }
    const header = this.#header;
    this.#header = null;
    if (!p.length && !header && !prefix) return 0;
    const w = this.#writer;
    const size = (prefix?.length ?? 0) + (header ? w.wireSize(header.length) : 0) + w.wireSize(p.length);
    const out = new Uint8Array(size);
    let off = 0;
    if (prefix) {
      out.set(prefix);
      off = prefix.length;
    }
    let a: Promise<void> | undefined;
    if (header) {
      a = w.sealInto(header, out, off);
      off += w.wireSize(header.length);
    }
    const b = w.sealInto(p, out, off);
    if (a) await a;
    if (b) await b;
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
