/**
 * One QUIC bidirectional stream as a {@link Conn} (GOST's quicConn: a `quic.Stream` with the connection's
 * addresses). Deno exposes a stream only as a `ReadableStream`/`WritableStream` pair, so reads copy from the chunk
 * the runtime hands over (up to 64 KiB, allocated by Deno per read) and keep what did not fit for the next read;
 * a write resolves once the runtime has taken every byte (quinn copies it into the stream's send buffer), so the
 * caller may reuse its buffer. `closeWrite()` finishes the send side (a FIN); `close()` stops the receive side
 * (STOP_SENDING: the peer's later writes fail) and drops the send side, which quinn ends with a FIN too — Deno has
 * no way to send RESET_STREAM (docs/wire.md, "QUIC").
 * @module
 */
import type { Conn } from "../../core/conn.ts";
import { errorMessage, isBenignEnd } from "../../core/errors.ts";

/** Figures a stream adds to, shared by the streams of one QUIC connection (the session's stats). */
export interface StreamCounters {
  /** Stream payload bytes received. */
  bytesIn: number;
  /** Stream payload bytes sent. */
  bytesOut: number;
  /** When stream data last arrived (epoch ms); null: none yet. */
  lastReceivedAt: number | null;
  /** Streams open now. */
  streamsOpen: number;
}

/** A stream error as an ordinary end of the conn (reset, connection lost, idle timeout) unless it already is one. */
function streamError(err: unknown, what: string): Error {
  if (isBenignEnd(err)) return err as Error;
  const msg = errorMessage(err);
  // quinn's idle timeout says only "timed out"
  const why = /^timed out$/i.test(msg) ? "the QUIC connection timed out (nothing received for maxIdleTimeout)" : msg;
  return new Deno.errors.ConnectionReset(`quic stream ${what}: ${why}`, { cause: err });
}

/** A conn over one bidirectional QUIC stream. */
export class QuicStreamConn implements Conn {
  readonly localAddr: Deno.Addr;
  readonly remoteAddr: Deno.Addr;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #counters?: StreamCounters;
  #rest: Uint8Array | null = null;
  #eof = false;
  #writeClosed = false;
  #closed = false;

  /**
   * @param counters the connection's figures, updated by every read and write; `streamsOpen` is counted down once
   *   when the conn closes (the caller counted it up)
   */
  constructor(
    stream: Deno.QuicBidirectionalStream,
    localAddr: Deno.Addr,
    remoteAddr: Deno.Addr,
    counters?: StreamCounters,
  ) {
    this.localAddr = localAddr;
    this.remoteAddr = remoteAddr;
    this.#reader = stream.readable.getReader();
    this.#writer = stream.writable.getWriter();
    this.#counters = counters;
    // A writer whose stream failed rejects `closed`: handled here, the failure shows in write().
    this.#writer.closed.catch(() => {});
  }

  /** Reads into `p`: what was left of the last chunk first, else the next chunk; null once the peer finished. */
  async read(p: Uint8Array): Promise<number | null> {
    if (this.#closed) throw new Deno.errors.BadResource("quic stream closed");
    let chunk = this.#rest;
    this.#rest = null;
    if (!chunk) {
      if (this.#eof) return null;
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await this.#reader.read();
      } catch (err) {
        throw streamError(err, "read");
      }
      if (r.done) {
        this.#eof = true;
        return null;
      }
      chunk = r.value;
      const c = this.#counters;
      if (c) {
        c.bytesIn += chunk.length;
        c.lastReceivedAt = Date.now();
      }
    }
    const n = Math.min(p.length, chunk.length);
    p.set(n === chunk.length ? chunk : chunk.subarray(0, n));
    if (n < chunk.length) this.#rest = chunk.subarray(n);
    return n;
  }

  /** Writes all of `p` (resolves once the runtime has copied it). */
  async write(p: Uint8Array): Promise<number> {
    if (this.#closed || this.#writeClosed) throw new Deno.errors.BrokenPipe("quic stream closed for writing");
    if (p.length === 0) return 0;
    try {
      await this.#writer.write(p);
    } catch (err) {
      throw streamError(err, "write");
    }
    if (this.#counters) this.#counters.bytesOut += p.length;
    return p.length;
  }

  /** Finishes the send side: the peer reads EOF once it has read everything before. */
  async closeWrite(): Promise<void> {
    if (this.#closed || this.#writeClosed) return;
    this.#writeClosed = true;
    try {
      await this.#writer.close();
    } catch (err) {
      throw streamError(err, "close");
    }
  }

  /** Stops reading (the peer's writes fail) and ends the send side; a pending read resolves with EOF. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#rest = null;
    if (this.#counters) this.#counters.streamsOpen--;
    this.#reader.cancel().catch(() => {});
    if (!this.#writeClosed) this.#writer.abort().catch(() => {});
  }
}
