/**
 * The snappy framing format over a conn (golang/snappy's `NewBufferedWriter` + `Flush` per write and `NewReader`, as
 * GOST's `CompStreamConn` and kcptun's `CompStream` put it between KCP and smux unless `nocomp`; docs/wire.md,
 * "KCP"). Each direction starts with the stream identifier chunk `ff 06 00 00 "sNaPpY"`; then chunks of
 * `type u8, length u24 LE, masked CRC-32C u32 LE of the uncompressed bytes, body`, a body of at most 64 KiB
 * uncompressed: type 0x00 compressed, 0x01 stored (when compressing saved less than 1/8). Padding (0xfe) and the
 * reserved skippable types (0x80–0xfd) are skipped; the reserved unskippable ones (0x02–0x7f), a bad CRC, a chunk
 * longer than any valid one or a first chunk that is not the identifier end the stream with an error.
 * @module
 */
import { type Conn, writeFull } from "../../core/conn.ts";
import { decodeBlock, encode, maskedCrc, MAX_BLOCK_SIZE, MAX_ENCODED_LEN_OF_MAX_BLOCK } from "./snappy.ts";

const STREAM_IDENTIFIER = Uint8Array.of(0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59);
const CHUNK_COMPRESSED = 0x00;
const CHUNK_STORED = 0x01;
const CHUNK_PADDING = 0xfe;
const CHUNK_IDENTIFIER = 0xff;
/** Largest chunk body golang/snappy's reader takes. */
const MAX_CHUNK = MAX_ENCODED_LEN_OF_MAX_BLOCK + 4;

/** The stream broke the snappy framing format. */
export class SnappyFramingError extends Error {
  constructor(what: string) {
    super(`snappy stream: ${what}`);
    this.name = "SnappyFramingError";
  }
}

/** A conn whose bytes travel snappy-framed over `inner`. */
export class SnappyConn implements Conn {
  readonly #inner: Conn;
  // reader
  readonly #raw = new Uint8Array(MAX_CHUNK + 4 + 64 * 1024);
  #rs = 0;
  #re = 0;
  #eof = false;
  readonly #decoded = new Uint8Array(MAX_BLOCK_SIZE);
  #di = 0;
  #dj = 0;
  #sawIdentifier = false;
  #readError: Error | null = null;
  // writer
  #wroteIdentifier = false;
  readonly #out = new Uint8Array(STREAM_IDENTIFIER.length + 8 + MAX_ENCODED_LEN_OF_MAX_BLOCK);
  #writing: Promise<unknown> = Promise.resolve();

  constructor(inner: Conn) {
    this.#inner = inner;
  }

  get localAddr(): Deno.Addr {
    return this.#inner.localAddr;
  }
  get remoteAddr(): Deno.Addr {
    return this.#inner.remoteAddr;
  }

  /** Makes `n` raw bytes available from `#rs`; false at a clean EOF before any of them. */
  async #need(n: number): Promise<boolean> {
    while (this.#re - this.#rs < n) {
      if (this.#eof) {
        if (this.#re === this.#rs) return false;
        throw new SnappyFramingError("the stream ended inside a chunk");
      }
      if (this.#rs + n > this.#raw.length) {
        this.#raw.copyWithin(0, this.#rs, this.#re);
        this.#re -= this.#rs;
        this.#rs = 0;
      }
      const got = await this.#inner.read(this.#raw.subarray(this.#re));
      if (got === null) this.#eof = true;
      else this.#re += got;
    }
    return true;
  }

  /** Reads chunks until one yields data; false at EOF. */
  async #fill(): Promise<boolean> {
    while (this.#di >= this.#dj) {
      if (!(await this.#need(4))) return false;
      const raw = this.#raw;
      const h = this.#rs;
      const type = raw[h];
      const len = raw[h + 1] | (raw[h + 2] << 8) | (raw[h + 3] << 16);
      if (!this.#sawIdentifier && type !== CHUNK_IDENTIFIER) {
        throw new SnappyFramingError(`the first chunk is 0x${type.toString(16)}, not the stream identifier`);
      }
      if (len > MAX_CHUNK) throw new SnappyFramingError(`a chunk of ${len} bytes is longer than any valid one`);
      if (!(await this.#need(4 + len))) throw new SnappyFramingError("the stream ended inside a chunk");
      const body = this.#raw.subarray(this.#rs + 4, this.#rs + 4 + len);
      this.#rs += 4 + len;
      if (type === CHUNK_COMPRESSED || type === CHUNK_STORED) {
        if (len < 4) throw new SnappyFramingError("a data chunk shorter than its checksum");
        const want = (body[0] | (body[1] << 8) | (body[2] << 16) | (body[3] << 24)) >>> 0;
        let n: number;
        if (type === CHUNK_COMPRESSED) {
          n = decodeBlock(body.subarray(4), this.#decoded);
        } else {
          n = len - 4;
          if (n > MAX_BLOCK_SIZE) throw new SnappyFramingError(`a stored chunk of ${n} bytes (at most 65536)`);
          this.#decoded.set(body.subarray(4));
        }
        if (maskedCrc(this.#decoded.subarray(0, n)) !== want) throw new SnappyFramingError("checksum mismatch");
        this.#di = 0;
        this.#dj = n;
      } else if (type === CHUNK_IDENTIFIER) {
        if (len !== 6 || String.fromCharCode(...body) !== "sNaPpY") {
          throw new SnappyFramingError("bad stream identifier");
        }
        this.#sawIdentifier = true;
      } else if (type < 0x80) {
        throw new SnappyFramingError(`reserved unskippable chunk type 0x${type.toString(16)}`);
      } else if (type !== CHUNK_PADDING && type > 0xfd) {
        throw new SnappyFramingError(`chunk type 0x${type.toString(16)}`);
      }
    }
    return true;
  }

  async read(p: Uint8Array): Promise<number | null> {
    if (this.#readError) throw this.#readError;
    try {
      if (!(await this.#fill())) return null;
    } catch (err) {
      this.#readError = err as Error;
      throw err;
    }
    const n = Math.min(p.length, this.#dj - this.#di);
    p.set(this.#decoded.subarray(this.#di, this.#di + n));
    this.#di += n;
    return n;
  }

  /** Writes `p` as chunks (compressed where it saves at least 1/8) and sends them at once (GOST's Flush per write). */
  write(p: Uint8Array): Promise<number> {
    const run = this.#writing.then(() => this.#write(p));
    this.#writing = run.catch(() => {});
    return run;
  }

  async #write(p: Uint8Array): Promise<number> {
    for (let off = 0; off < p.length || (off === 0 && !this.#wroteIdentifier); off += MAX_BLOCK_SIZE) {
      const block = p.subarray(off, Math.min(p.length, off + MAX_BLOCK_SIZE));
      const out = this.#out;
      let o = 0;
      if (!this.#wroteIdentifier) {
        out.set(STREAM_IDENTIFIER);
        o = STREAM_IDENTIFIER.length;
        this.#wroteIdentifier = true;
      }
      if (block.length) {
        const crc = maskedCrc(block);
        const clen = encode(block, out.subarray(o + 8));
        let type = CHUNK_COMPRESSED, bodyLen = clen;
        if (clen >= block.length - (block.length >> 3)) {
          type = CHUNK_STORED;
          bodyLen = block.length;
          out.set(block, o + 8);
        }
        const chunkLen = 4 + bodyLen;
        out[o] = type, out[o + 1] = chunkLen, out[o + 2] = chunkLen >>> 8, out[o + 3] = chunkLen >>> 16;
        out[o + 4] = crc, out[o + 5] = crc >>> 8, out[o + 6] = crc >>> 16, out[o + 7] = crc >>> 24;
        o += 8 + bodyLen;
      }
      if (o) await writeFull(this.#inner, out.subarray(0, o));
      if (!p.length) break;
    }
    return p.length;
  }

  closeWrite(): Promise<void> {
    return this.#inner.closeWrite();
  }

  close(): void {
    this.#inner.close();
  }
}
