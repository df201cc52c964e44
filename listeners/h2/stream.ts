/**
 * One HTTP/2 stream as a {@link Conn}: the bytes of its DATA frames each way. `write` sends DATA within the peer's
 * flow-control windows (waiting for WINDOW_UPDATE when they are spent), `closeWrite` ends our side with END_STREAM
 * (the half-close), a received END_STREAM is EOF, `close` resets the stream (RST_STREAM) unless both sides ended.
 * Received bytes are copied straight into a waiting reader's buffer, else queued; the queue never holds more than
 * the window this end granted, and a window update goes out as the reader takes the bytes, so a reader that stops
 * stops the peer (docs/wire.md, "HTTP/2 (h2, h2c)").
 * @module
 */
import type { Conn } from "../../core/conn.ts";
import { ErrorCode, errorCodeName, H2StreamReset } from "./errors.ts";
import type { HeaderField } from "./hpack.ts";

/** What a stream needs from its session (listeners/h2/session.ts). */
export interface StreamHost {
  readonly localAddr: Deno.Addr;
  readonly remoteAddr: Deno.Addr;
  /** Sends `p` as DATA (END_STREAM on the last frame when `end`); resolves once the bytes are framed. */
  sendData(s: H2Stream, p: Uint8Array, end: boolean, prefix?: Uint8Array): Promise<void>;
  /** Sends a header block (response, trailers). */
  sendHeaders(s: H2Stream, fields: readonly HeaderField[], end: boolean): Promise<void>;
  /** Sends RST_STREAM. */
  sendReset(s: H2Stream, code: number): void;
  /** `n` received bytes of `s` were consumed: grant them again. */
  consumed(s: H2Stream, n: number): void;
  /** The stream is over (both sides ended, or reset). */
  finished(s: H2Stream): void;
}

interface Reader {
  p: Uint8Array;
  resolve: (n: number | null) => void;
  reject: (e: unknown) => void;
}

/** An HTTP/2 stream (client or server side). */
export class H2Stream implements Conn {
  /** The stream identifier. */
  readonly id: number;
  readonly #host: StreamHost;
  /** The peer's window for DATA we send on this stream (may go negative after a SETTINGS change). */
  sendWindow: number;
  /** What the peer may still send on this stream before we grant more. */
  recvWindow: number;
  /** Received bytes the reader took that were not granted again yet. */
  unacked = 0;
  readonly #queue: Uint8Array[] = [];
  #queued = 0;
  #reader: Reader | null = null;
  #remoteEnded = false;
  #localEnded = false;
  #error: Error | null = null;
  #closed = false;
  #finished = false;
  #windowWaiter: { resolve: () => void; reject: (e: unknown) => void } | null = null;
  /** The request's headers (server side) or the response's (client side, once it arrived). */
  headers: HeaderField[] = [];
  /** Trailers received with END_STREAM after the first header block. */
  trailers: HeaderField[] | null = null;
  #response: PromiseWithResolvers<HeaderField[]> | null = null;

  constructor(id: number, host: StreamHost, sendWindow: number, recvWindow: number) {
    this.id = id;
    this.#host = host;
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  get localAddr(): Deno.Addr {
    return this.#host.localAddr;
  }

  get remoteAddr(): Deno.Addr {
    return this.#host.remoteAddr;
  }

  /** Bytes received and not read yet. */
  get buffered(): number {
    return this.#queued;
  }

  /** True once END_STREAM arrived. */
  get remoteEnded(): boolean {
    return this.#remoteEnded;
  }

  /** True once END_STREAM was sent. */
  get localEnded(): boolean {
    return this.#localEnded;
  }

  /** Why the stream failed (reset either way, or its session ended); null while it is fine. */
  get error(): Error | null {
    return this.#error;
  }

  /**
   * The response's header block (client side): resolves with the first final (non-1xx) HEADERS.
   * @throws the reset or session error when the stream ends before it
   */
  response(): Promise<HeaderField[]> {
    if (!this.#response) {
      this.#response = Promise.withResolvers<HeaderField[]>();
      this.#response.promise.catch(() => {});
      if (this.headers.length) this.#response.resolve(this.headers);
      else if (this.#error) this.#response.reject(this.#error);
    }
    return this.#response.promise;
  }

  async read(p: Uint8Array): Promise<number | null> {
    if (this.#queued > 0) return this.#take(p);
    if (this.#error) throw this.#error;
    if (this.#remoteEnded) return null;
    if (this.#closed) throw new Deno.errors.BadResource("HTTP/2 stream is closed");
    if (this.#reader) throw new Error("HTTP/2 stream: a read is already pending");
    return await new Promise<number | null>((resolve, reject) => (this.#reader = { p, resolve, reject }));
  }

  #take(p: Uint8Array): number {
    let n = 0;
    while (n < p.length && this.#queue.length) {
      const c = this.#queue[0];
      const k = Math.min(p.length - n, c.length);
      p.set(k === c.length ? c : c.subarray(0, k), n);
      n += k;
      if (k === c.length) this.#queue.shift();
      else this.#queue[0] = c.subarray(k);
    }
    this.#queued -= n;
    this.#host.consumed(this, n);
    return n;
  }

  async write(p: Uint8Array): Promise<number> {
    this.#writable();
    if (p.length === 0) return 0;
    await this.#host.sendData(this, p, false);
    return p.length;
  }

  /**
   * Writes `prefix` then `p` as one run of DATA (a gRPC message header and its payload), without joining them.
   * @returns the length of `p`
   */
  async writeWithPrefix(prefix: Uint8Array, p: Uint8Array): Promise<number> {
    this.#writable();
    await this.#host.sendData(this, p, false, prefix);
    return p.length;
  }

  #writable(): void {
    if (this.#error) throw this.#error;
    if (this.#localEnded) throw new Deno.errors.BrokenPipe("HTTP/2 stream: write after END_STREAM");
    if (this.#closed) throw new Deno.errors.BadResource("HTTP/2 stream is closed");
  }

  /** Sends END_STREAM (an empty DATA frame): the peer reads EOF. */
  async closeWrite(): Promise<void> {
    if (this.#localEnded || this.#error || this.#closed) return;
    this.#localEnded = true;
    await this.#host.sendData(this, new Uint8Array(0), true);
    this.#maybeFinished();
  }

  /** Sends a header block (a response, or trailers with `end`). */
  async sendHeaders(fields: readonly HeaderField[], end: boolean): Promise<void> {
    if (this.#error) throw this.#error;
    if (this.#localEnded) throw new Deno.errors.BrokenPipe("HTTP/2 stream: headers after END_STREAM");
    if (end) this.#localEnded = true;
    await this.#host.sendHeaders(this, fields, end);
    if (end) this.#maybeFinished();
  }

  /**
   * Resets the stream with `code` (default CANCEL; NO_ERROR when our side had ended and the peer's had not, as a
   * server that answered in full tells the client to stop sending) unless both sides ended. Idempotent.
   */
  close(code?: number): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#finished && !this.#error) {
      const c = code ?? (this.#localEnded ? ErrorCode.NO_ERROR : ErrorCode.CANCEL);
      this.#host.sendReset(this, c);
      this.#fail(new H2StreamReset(c, `HTTP/2 stream ${this.id} reset by this side (${errorCodeName(c)})`));
    }
    this.#queue.length = 0;
    this.#queued = 0;
    this.#reader?.reject(new Deno.errors.BadResource("HTTP/2 stream is closed"));
    this.#reader = null;
    this.#finish();
  }

  // ---- called by the session ----

  /** Received DATA payload bytes (a view into the session's read buffer: copied here). */
  _data(view: Uint8Array): void {
    if (this.#closed || this.#error) {
      this.#host.consumed(this, view.length); // nobody will read them: grant them back at once
      return;
    }
    let v = view;
    const r = this.#reader;
    if (r && this.#queued === 0 && r.p.length > 0) {
      const k = Math.min(v.length, r.p.length);
      r.p.set(k === v.length ? v : v.subarray(0, k));
      this.#reader = null;
      this.#host.consumed(this, k);
      r.resolve(k);
      v = v.subarray(k);
    }
    if (v.length > 0) {
      this.#queue.push(v.slice());
      this.#queued += v.length;
    }
  }

  /** END_STREAM arrived. */
  _end(): void {
    this.#remoteEnded = true;
    if (this.#queued === 0 && this.#reader) {
      const r = this.#reader;
      this.#reader = null;
      r.resolve(null);
    }
    this.#maybeFinished();
  }

  /** A header block arrived: the request or response (first), else trailers. */
  _headers(fields: HeaderField[]): void {
    if (this.headers.length === 0) {
      this.headers = fields;
      this.#response?.resolve(fields);
    } else {
      this.trailers = fields;
    }
  }

  /** The stream failed: reset by the peer (or a stream error we found), or the session ended. */
  _fail(err: Error): void {
    this.#fail(err);
    this.#finish();
  }

  /** The peer granted `n` more bytes (or a SETTINGS change moved the window). */
  _window(delta: number): void {
    this.sendWindow += delta;
    if (this.sendWindow > 0) this.wakeWindow();
  }

  /** Wakes a writer waiting for window (this stream's or the connection's). */
  wakeWindow(): void {
    const w = this.#windowWaiter;
    this.#windowWaiter = null;
    w?.resolve();
  }

  /** Waits until the window may have grown; rejects once the stream fails. */
  waitWindow(): Promise<void> {
    if (this.#error) return Promise.reject(this.#error);
    return new Promise<void>((resolve, reject) => (this.#windowWaiter = { resolve, reject }));
  }

  #fail(err: Error): void {
    if (this.#error) return;
    this.#error = err;
    const r = this.#reader;
    this.#reader = null;
    // bytes already queued stay readable; the error comes after them
    if (r) r.reject(err);
    const w = this.#windowWaiter;
    this.#windowWaiter = null;
    w?.reject(err);
    this.#response?.reject(err);
  }

  #maybeFinished(): void {
    if (this.#localEnded && this.#remoteEnded) this.#finish();
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#host.finished(this);
  }
}
