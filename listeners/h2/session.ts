/**
 * An HTTP/2 connection (RFC 9113), client or server side, over any {@link Conn}: the engine under the h2, h2c and
 * grpc transports. It reads frames (DATA payloads stream straight to their stream, other frames are taken whole up
 * to the SETTINGS_MAX_FRAME_SIZE it advertised), keeps both directions' flow-control windows, answers SETTINGS and
 * PING, sends its own PINGs as keep-alive (their round trip is the session's `keepaliveRttMs`), and ends with GOAWAY
 * on a protocol error. A frame longer than the advertised maximum, a bad preface, a header block that does not
 * decode or DATA beyond a window end the connection; a bad request ends its stream only. docs/wire.md,
 * "HTTP/2 (h2, h2c)".
 * @module
 */
import { addrString, closeQuietly, type Conn } from "../../core/conn.ts";
import type { MuxCloseReason, MuxSessionStats } from "../../core/contracts.ts";
import { after } from "../../core/deadline.ts";
import { errorMessage, isBenignEnd } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import { ErrorCode, errorCodeName, H2ConnectionError, H2StreamReset } from "./errors.ts";
import {
  CLIENT_PREFACE,
  DEFAULT_MAX_FRAME,
  DEFAULT_WINDOW,
  Flag,
  FRAME_HEADER,
  FrameType,
  goawayFrame,
  headersFrames,
  MAX_FRAME_LIMIT,
  MAX_WINDOW,
  pingFrame,
  rstStreamFrame,
  Setting,
  SETTINGS_ACK,
  settingsFrame,
  u32,
  windowUpdateFrame,
} from "./frames.ts";
import { DEFAULT_TABLE_SIZE, encodeHeaders, type HeaderField, HpackDecoder } from "./hpack.ts";
import { H2Stream, type StreamHost } from "./stream.ts";
import { FrameWriter } from "./writer.ts";

/** Receive window granted per stream (SETTINGS_INITIAL_WINDOW_SIZE). */
export const STREAM_WINDOW = 1024 * 1024;
/** Receive window of the whole connection: what all its streams may hold unread together. */
export const CONN_WINDOW = 16 * 1024 * 1024;
/** SETTINGS_MAX_FRAME_SIZE advertised: a longer frame is a FRAME_SIZE_ERROR. */
export const MAX_FRAME_SIZE = 1024 * 1024;
/** The largest DATA frame sent (and at most the peer's SETTINGS_MAX_FRAME_SIZE). */
const MAX_SEND_FRAME = 256 * 1024;
/** Streams a server lets a client open at once (SETTINGS_MAX_CONCURRENT_STREAMS). */
export const MAX_CONCURRENT_STREAMS = 4096;
/** The largest header list accepted (SETTINGS_MAX_HEADER_LIST_SIZE), and the cap on a header block's bytes. */
export const MAX_HEADER_LIST = 64 * 1024;
/** A GOAWAY is given this long to be written before the conn is closed. */
const GOAWAY_GRACE_MS = 1000;
/** grpc-go's ping policy: strikes allowed, and the spacing of pings without streams. */
const MAX_PING_STRIKES = 2;
const PING_WITHOUT_STREAMS_MS = 2 * 3600 * 1000;

const READ_SMALL = 16 * 1024;
const READ_LARGE = 256 * 1024;

/** HTTP/2 PING keep-alive of a session. */
export interface KeepaliveConfig {
  /** `periodic`: a PING every `timeMs`; `idle`: a PING once nothing arrived for `timeMs` (gRPC's keep-alive). */
  mode: "periodic" | "idle";
  timeMs: number;
  /** The session ends when nothing at all arrived for this long after a PING. */
  timeoutMs: number;
  /** Ping while no stream is open (gRPC's `permitWithoutStream`); periodic mode always does. */
  withoutStreams: boolean;
}

/** A server's policy on the client's PINGs (grpc-go's keep-alive enforcement): too many end the session. */
export interface PingPolicy {
  /** Pings closer together than this (while no data was sent between them) are strikes. */
  minTimeMs: number;
  /** Pings while no stream is open are allowed at `minTimeMs` (else at two hours). */
  permitWithoutStream: boolean;
}

/** How a session runs. */
export interface H2SessionConfig {
  /** The transport's name (stats, messages): `h2`, `h2c`, `grpc`. */
  transport: string;
  /** PING keep-alive; null: none (PINGs are still answered). */
  keepalive?: KeepaliveConfig | null;
  /** Client only: one PING right after the handshake, for a first round-trip figure (default true). */
  initialPing?: boolean;
  /** Server only: the client's ping policy; null: any pings are answered. */
  pingPolicy?: PingPolicy | null;
  /** Server only: a GOAWAY once no stream was open for this long (ms); 0: never. */
  maxIdleMs?: number;
  /** Server only: a new request (its headers are `stream.headers`); the callback owns the stream. */
  onRequest?: (stream: H2Stream) => void;
  /** Where protocol errors of the peer are logged (debug for an ordinary end). */
  logger?: Logger;
  /** Receive window per stream (default {@link STREAM_WINDOW}). */
  streamWindow?: number;
  /** Receive window of the connection (default {@link CONN_WINDOW}). */
  connWindow?: number;
}

interface Continuation {
  id: number;
  flags: number;
  chunks: Uint8Array[];
  size: number;
}

/** One HTTP/2 connection. */
export class H2Session implements StreamHost {
  readonly #conn: Conn;
  readonly #client: boolean;
  readonly #cfg: H2SessionConfig;
  readonly #writer: FrameWriter;
  readonly #decoder = new HpackDecoder(DEFAULT_TABLE_SIZE, MAX_HEADER_LIST);
  readonly #streams = new Map<number, H2Stream>();
  readonly #streamWindow: number;
  readonly #connWindow: number;
  #nextId: number;
  #lastPeerId = 0;
  #peerMaxConcurrent = Infinity;
  #peerInitialWindow = DEFAULT_WINDOW;
  #peerMaxFrame = DEFAULT_MAX_FRAME;
  #sendWindow = DEFAULT_WINDOW;
  #recvWindow = DEFAULT_WINDOW;
  #connUnacked = 0;
  readonly #windowWaiters = new Set<H2Stream>();
  #slotWaiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  #continuation: Continuation | null = null;
  #gotSettings = false;
  readonly #ready = Promise.withResolvers<void>();
  readonly #done = Promise.withResolvers<void>();
  #ended = false;
  #draining = false;
  #error: Error | null = null;
  #closeReason: MuxCloseReason | null = null;
  // figures
  readonly #createdAt = Date.now();
  #bytesIn = 0;
  #streamsTotal = 0;
  #lastReceivedAt: number | null = null;
  #lastKeepaliveAt: number | null = null;
  #rttMs: number | null = null;
  // keep-alive
  #ping: { data: Uint8Array; sentAt: number; receivedBefore: number } | null = null;
  #pingSerial = 0;
  #keepaliveCancel: (() => void) | null = null;
  #idleCancel: (() => void) | null = null;
  // ping policy (server)
  #pingStrikes = 0;
  #lastPingAt = 0;
  #sentSinceLastPing = false;

  private constructor(conn: Conn, client: boolean, cfg: H2SessionConfig) {
    this.#conn = conn;
    this.#client = client;
    this.#cfg = cfg;
    this.#nextId = client ? 1 : 2;
    this.#streamWindow = cfg.streamWindow ?? STREAM_WINDOW;
    this.#connWindow = cfg.connWindow ?? CONN_WINDOW;
    this.#writer = new FrameWriter(conn);
    this.#writer.onError = (err) => this.#end(isBenignEnd(err) ? "peer" : "error", err);
    this.#writer.onStreamFrames = () => (this.#sentSinceLastPing = true);
    this.#ready.promise.catch(() => {});
  }

  /** Starts the client side over `conn`: the preface and SETTINGS go out at once. */
  static client(conn: Conn, cfg: H2SessionConfig): H2Session {
    const s = new H2Session(conn, true, cfg);
    s.#start();
    return s;
  }

  /** Starts the server side over `conn`: SETTINGS go out once the client's preface arrived. */
  static server(conn: Conn, cfg: H2SessionConfig): H2Session {
    const s = new H2Session(conn, false, cfg);
    s.#start();
    return s;
  }

  get localAddr(): Deno.Addr {
    return this.#conn.localAddr;
  }

  get remoteAddr(): Deno.Addr {
    return this.#conn.remoteAddr;
  }

  /** Resolves once the peer's first SETTINGS arrived (after its preface); rejects if the session ends first. */
  get ready(): Promise<void> {
    return this.#ready.promise;
  }

  /** Settles (never rejects) once the session has ended and its conn is closed. */
  get done(): Promise<void> {
    return this.#done.promise;
  }

  /** True once no new stream may be opened: ended, or draining after a GOAWAY. */
  get closed(): boolean {
    return this.#ended || this.#draining;
  }

  /** Why the session ended (null while it runs). */
  get error(): Error | null {
    return this.#error;
  }

  /** Streams open now. */
  get streamsOpen(): number {
    return this.#streams.size;
  }

  /**
   * Opens a stream with the request `fields` (client side). Waits for a free slot while the server's
   * SETTINGS_MAX_CONCURRENT_STREAMS are all in use.
   * @throws {Deno.errors.ConnectionReset} once the session has ended or is draining
   */
  async open(fields: readonly HeaderField[], endStream = false): Promise<H2Stream> {
    if (!this.#client) throw new Error("HTTP/2: only the client side opens streams");
    while (this.#streams.size >= this.#peerMaxConcurrent && !this.closed) {
      await new Promise<void>((resolve, reject) => this.#slotWaiters.push({ resolve, reject }));
    }
    if (this.closed) throw this.#closedError();
    const id = this.#nextId;
    if (id > MAX_WINDOW) {
      this.#draining = true; // stream ids are spent: the next dial opens a new session
      throw this.#closedError();
    }
    this.#nextId += 2;
    const s = new H2Stream(id, this, this.#peerInitialWindow, this.#streamWindow);
    this.#streams.set(id, s);
    this.#streamsTotal++;
    this.#idleCancel?.();
    await this.#writer.frame(headersFrames(id, encodeHeaders(fields), endStream, this.#peerMaxFrame), id);
    return s;
  }

  /** Ends the session with a GOAWAY (NO_ERROR): every stream fails, the conn closes. Idempotent. */
  close(): void {
    this.#end("local", new Deno.errors.ConnectionReset(`${this.#cfg.transport} session closed`), ErrorCode.NO_ERROR);
  }

  /** The session's live figures (the Web API's `GET /sessions`). */
  stats(): MuxSessionStats {
    return {
      transport: this.#cfg.transport,
      local: addrString(this.#conn.localAddr),
      remote: addrString(this.#conn.remoteAddr),
      streamsOpen: this.#streams.size,
      streamsTotal: this.#streamsTotal,
      bytesIn: this.#bytesIn,
      bytesOut: this.#writer.bytesOut,
      createdAt: this.#createdAt,
      lastReceivedAt: this.#lastReceivedAt,
      lastKeepaliveAt: this.#lastKeepaliveAt,
      keepaliveRttMs: this.#rttMs,
      keepaliveTimeoutMs: this.#cfg.keepalive?.timeoutMs ?? 0,
      closeReason: this.#closeReason,
    };
  }

  // ---- StreamHost ----

  async sendData(s: H2Stream, p: Uint8Array, end: boolean, prefix?: Uint8Array): Promise<void> {
    const pieces = prefix && prefix.length ? [prefix, p] : [p];
    let left = pieces.reduce((n, x) => n + x.length, 0);
    if (left === 0) {
      if (!end) return;
      return await this.#writer.data(s.id, Flag.END_STREAM, [], 0);
    }
    let pi = 0, po = 0;
    while (left > 0) {
      while (s.sendWindow <= 0 || this.#sendWindow <= 0) {
        if (this.#ended) throw this.#endedError();
        if (s.sendWindow > 0) this.#windowWaiters.add(s);
        try {
          await s.waitWindow();
        } finally {
          this.#windowWaiters.delete(s);
        }
      }
      if (this.#ended) throw this.#endedError();
      if (s.error) throw s.error;
      const k = Math.min(left, s.sendWindow, this.#sendWindow, this.#peerMaxFrame, MAX_SEND_FRAME);
      const parts: Uint8Array[] = [];
      let need = k;
      while (need > 0) {
        const piece = pieces[pi];
        const take = Math.min(need, piece.length - po);
        parts.push(take === piece.length && po === 0 ? piece : piece.subarray(po, po + take));
        need -= take;
        po += take;
        if (po === piece.length) {
          pi++;
          po = 0;
        }
      }
      s.sendWindow -= k;
      this.#sendWindow -= k;
      left -= k;
      const queued = this.#writer.data(s.id, left === 0 && end ? Flag.END_STREAM : 0, parts, k);
      if (left === 0) await queued;
      else queued.catch(() => {});
    }
  }

  async sendHeaders(s: H2Stream, fields: readonly HeaderField[], end: boolean): Promise<void> {
    if (this.#ended) throw this.#endedError();
    await this.#writer.frame(headersFrames(s.id, encodeHeaders(fields), end, this.#peerMaxFrame), s.id);
  }

  sendReset(s: H2Stream, code: number): void {
    if (this.#ended) return;
    this.#writer.dropStream(s.id, new H2StreamReset(code, `HTTP/2 stream ${s.id} reset`));
    this.#writer.frame(rstStreamFrame(s.id, code)).catch(() => {});
  }

  consumed(s: H2Stream, n: number): void {
    if (n <= 0 || this.#ended) return;
    this.#connConsumed(n);
    if (this.#streams.get(s.id) !== s || s.remoteEnded) return;
    s.unacked += n;
    if (s.unacked >= this.#streamWindow / 4) {
      this.#writer.control(windowUpdateFrame(s.id, s.unacked));
      s.recvWindow += s.unacked;
      s.unacked = 0;
    }
  }

  finished(s: H2Stream): void {
    if (this.#streams.get(s.id) !== s) return;
    this.#streams.delete(s.id);
    this.#windowWaiters.delete(s);
    this.#slotWaiters.shift()?.resolve();
    if (this.#streams.size === 0) {
      if (this.#draining && !this.#ended) {
        this.#end("peer", new Deno.errors.ConnectionReset(`${this.#cfg.transport} session drained after GOAWAY`));
      } else this.#armIdle();
    }
  }

  // ---- internals ----

  #connConsumed(n: number): void {
    this.#connUnacked += n;
    if (this.#connUnacked >= this.#connWindow / 4) {
      this.#writer.control(windowUpdateFrame(0, this.#connUnacked));
      this.#recvWindow += this.#connUnacked;
      this.#connUnacked = 0;
    }
  }

  #settings(): Uint8Array {
    const values = new Map<number, number>([
      [Setting.ENABLE_PUSH, 0],
      [Setting.INITIAL_WINDOW_SIZE, this.#streamWindow],
      [Setting.MAX_FRAME_SIZE, MAX_FRAME_SIZE],
      [Setting.MAX_HEADER_LIST_SIZE, MAX_HEADER_LIST],
    ]);
    if (!this.#client) values.set(Setting.MAX_CONCURRENT_STREAMS, MAX_CONCURRENT_STREAMS);
    return settingsFrame(values);
  }

  /** Our SETTINGS and the connection window (clients lead with the preface). */
  #sendPreface(): void {
    const frames = [this.#settings(), windowUpdateFrame(0, this.#connWindow - DEFAULT_WINDOW)];
    if (this.#client) frames.unshift(CLIENT_PREFACE);
    const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
    let o = 0;
    for (const f of frames) {
      all.set(f, o);
      o += f.length;
    }
    this.#recvWindow = this.#connWindow;
    this.#writer.control(all);
  }

  #start(): void {
    if (this.#client) this.#sendPreface();
    this.#readLoop().catch((err) => this.#onReadError(err));
  }

  #onReadError(err: unknown): void {
    const e = err instanceof Error ? err : new Error(String(err));
    if (e instanceof H2ConnectionError) {
      this.#cfg.logger?.info(`${this.#cfg.transport}: ${e.message}`, { remote: addrString(this.#conn.remoteAddr) });
      this.#end("error", e, e.h2code);
    } else {
      this.#end(isBenignEnd(e) ? "peer" : "error", e);
    }
  }

  async #readLoop(): Promise<void> {
    let buf = new Uint8Array(READ_SMALL);
    let start = 0, end = 0;
    let prefaceLeft = this.#client ? 0 : CLIENT_PREFACE.length;
    // the DATA frame being read: payload and padding bytes still to come
    let dataStream: H2Stream | null = null;
    let dataLeft = 0, padLeft = 0, dataFlags = 0, inData = false;
    for (;;) {
      // process what is buffered
      for (;;) {
        if (prefaceLeft > 0) {
          const have = Math.min(end - start, prefaceLeft);
          const at = CLIENT_PREFACE.length - prefaceLeft;
          for (let i = 0; i < have; i++) {
            if (buf[start + i] !== CLIENT_PREFACE[at + i]) throw badPreface(buf.subarray(start - at, end));
          }
          start += have;
          prefaceLeft -= have;
          if (prefaceLeft > 0) break;
          this.#sendPreface();
          continue;
        }
        if (inData) {
          const avail = end - start;
          if (dataLeft > 0) {
            const take = Math.min(avail, dataLeft);
            if (take === 0) break;
            dataStream?._data(buf.subarray(start, start + take));
            start += take;
            dataLeft -= take;
            continue;
          }
          if (padLeft > 0) {
            const take = Math.min(avail, padLeft);
            if (take === 0) break;
            start += take;
            padLeft -= take;
            continue;
          }
          inData = false;
          if (dataStream && dataFlags & Flag.END_STREAM) dataStream._end();
          dataStream = null;
          continue;
        }
        if (end - start < FRAME_HEADER) break;
        const len = (buf[start] << 16) | (buf[start + 1] << 8) | buf[start + 2];
        const type = buf[start + 3], flags = buf[start + 4];
        const id = u32(buf, start + 5) & 0x7fffffff;
        if (len > MAX_FRAME_SIZE) {
          throw new H2ConnectionError(
            ErrorCode.FRAME_SIZE_ERROR,
            `frame of ${len} bytes (type ${type}) is longer than SETTINGS_MAX_FRAME_SIZE ${MAX_FRAME_SIZE}`,
          );
        }
        if (!this.#gotSettings && type !== FrameType.SETTINGS) {
          throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, `first frame is type ${type}, not SETTINGS`);
        }
        if (this.#continuation && (type !== FrameType.CONTINUATION || id !== this.#continuation.id)) {
          throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, `frame type ${type} inside a header block`);
        }
        if (type === FrameType.DATA) {
          let padded = 0, padLen = 0;
          if (flags & Flag.PADDED) {
            if (end - start < FRAME_HEADER + 1) break;
            if (len < 1) throw new H2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "padded DATA without a pad length");
            padded = 1;
            padLen = buf[start + FRAME_HEADER];
            if (padLen >= len) {
              throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, "DATA padding longer than the frame");
            }
          }
          start += FRAME_HEADER + padded;
          dataStream = this.#beginData(id, len, padded + padLen);
          dataLeft = len - padded - padLen;
          padLeft = padLen;
          dataFlags = flags;
          inData = true;
          continue;
        }
        if (end - start < FRAME_HEADER + len) {
          if (FRAME_HEADER + len > buf.length) {
            const bigger = new Uint8Array(FRAME_HEADER + len);
            bigger.set(buf.subarray(start, end));
            end -= start;
            start = 0;
            buf = bigger;
          }
          break;
        }
        const payload = buf.subarray(start + FRAME_HEADER, start + FRAME_HEADER + len);
        start += FRAME_HEADER + len;
        this.#onFrame(type, flags, id, payload);
        if (this.#ended) return;
      }
      if (this.#ended) return;
      // read more
      if (start === end) start = end = 0;
      else if (start > 0) {
        buf.copyWithin(0, start, end);
        end -= start;
        start = 0;
      }
      if (end === 0 && buf.length > READ_LARGE) buf = new Uint8Array(READ_SMALL);
      const n = await this.#conn.read(buf.subarray(end));
      if (n === null) {
        throw new Deno.errors.UnexpectedEof(
          `${this.#cfg.transport}: the peer closed the connection${this.#gotSettings ? "" : " before its SETTINGS"}`,
        );
      }
      this.#bytesIn += n;
      this.#lastReceivedAt = Date.now();
      end += n;
      if (end === buf.length && buf.length < READ_LARGE) {
        const bigger = new Uint8Array(READ_LARGE);
        bigger.set(buf.subarray(start, end));
        end -= start;
        start = 0;
        buf = bigger;
      } else if (n < READ_SMALL / 4 && buf.length === READ_LARGE && end - start <= READ_SMALL) {
        const smaller = new Uint8Array(READ_SMALL);
        smaller.set(buf.subarray(start, end));
        end -= start;
        start = 0;
        buf = smaller;
      }
    }
  }

  /** Flow control and state checks of a DATA frame; the stream its payload goes to, or null to drop it. */
  #beginData(id: number, len: number, padding: number): H2Stream | null {
    if (id === 0) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, "DATA on stream 0");
    if (len > this.#recvWindow) {
      throw new H2ConnectionError(
        ErrorCode.FLOW_CONTROL_ERROR,
        `DATA of ${len} bytes beyond the connection window (${this.#recvWindow} left)`,
      );
    }
    this.#recvWindow -= len;
    const s = this.#streams.get(id);
    if (!s) {
      if (this.#isIdle(id)) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, `DATA on idle stream ${id}`);
      this.#connConsumed(len); // a stream that ended or was reset: drop the bytes, keep the window
      return null;
    }
    if (s.remoteEnded) {
      this.#streamError(s, ErrorCode.STREAM_CLOSED, `DATA after END_STREAM on stream ${id}`);
      this.#connConsumed(len);
      return null;
    }
    if (len > s.recvWindow) {
      this.#streamError(s, ErrorCode.FLOW_CONTROL_ERROR, `DATA of ${len} bytes beyond stream ${id}'s window`);
      this.#connConsumed(len);
      return null;
    }
    s.recvWindow -= len;
    if (padding > 0) this.consumed(s, padding);
    return s;
  }

  /** A stream the peer may not use yet: not opened by either side. */
  #isIdle(id: number): boolean {
    const ours = this.#client ? id % 2 === 1 : id % 2 === 0;
    return ours ? id >= this.#nextId : id > this.#lastPeerId;
  }

  /** Resets `s` with `code` (a stream error: the session goes on) and logs why. */
  #streamError(s: H2Stream, code: number, why: string): void {
    this.#cfg.logger?.info(`${this.#cfg.transport}: ${why}: stream reset (${errorCodeName(code)})`, {
      remote: addrString(this.#conn.remoteAddr),
    });
    this.sendReset(s, code);
    s._fail(new H2StreamReset(code, `HTTP/2 stream ${s.id}: ${why}`));
  }

  #onFrame(type: number, flags: number, id: number, p: Uint8Array): void {
    switch (type) {
      case FrameType.HEADERS:
        return this.#onHeaders(flags, id, p);
      case FrameType.CONTINUATION:
        return this.#onContinuation(flags, id, p);
      case FrameType.SETTINGS:
        return this.#onSettings(flags, id, p);
      case FrameType.PING:
        return this.#onPing(flags, id, p);
      case FrameType.WINDOW_UPDATE:
        return this.#onWindowUpdate(id, p);
      case FrameType.RST_STREAM:
        return this.#onReset(id, p);
      case FrameType.GOAWAY:
        return this.#onGoaway(id, p);
      case FrameType.PRIORITY:
        if (id === 0) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, "PRIORITY on stream 0");
        if (p.length !== 5) throw new H2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "PRIORITY of the wrong size");
        return;
      case FrameType.PUSH_PROMISE:
        throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, "PUSH_PROMISE (push is disabled)");
      default:
        return; // unknown frame types are ignored (RFC 9113 §4.1)
    }
  }

  #onSettings(flags: number, id: number, p: Uint8Array): void {
    if (id !== 0) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, "SETTINGS on a stream");
    if (flags & Flag.ACK) {
      if (p.length) throw new H2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS ack with a payload");
      return;
    }
    if (p.length % 6) throw new H2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS of a wrong size");
    for (let o = 0; o < p.length; o += 6) {
      const key = (p[o] << 8) | p[o + 1];
      const v = u32(p, o + 2);
      switch (key) {
        case Setting.ENABLE_PUSH:
          if (v > 1 || (this.#client && v !== 0)) {
            throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, `SETTINGS_ENABLE_PUSH ${v}`);
          }
          break;
        case Setting.MAX_CONCURRENT_STREAMS:
          this.#peerMaxConcurrent = v;
          break;
        case Setting.INITIAL_WINDOW_SIZE: {
          if (v > MAX_WINDOW) throw new H2ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, `SETTINGS window ${v}`);
          const delta = v - this.#peerInitialWindow;
          this.#peerInitialWindow = v;
          for (const s of this.#streams.values()) s._window(delta);
          break;
        }
        case Setting.MAX_FRAME_SIZE:
          if (v < DEFAULT_MAX_FRAME || v > MAX_FRAME_LIMIT) {
            throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, `SETTINGS_MAX_FRAME_SIZE ${v}`);
          }
          this.#peerMaxFrame = v;
          break;
        default:
          break; // header table size (our encoder keeps no table), max header list size, unknown: nothing to do
      }
    }
    this.#writer.control(SETTINGS_ACK);
    if (!this.#gotSettings) {
      this.#gotSettings = true;
      this.#ready.resolve();
      if (this.#client && this.#cfg.initialPing !== false) this.#sendPing();
      this.#armKeepalive();
      this.#armIdle();
    }
    // a larger limit may free waiting opens
    while (this.#slotWaiters.length && this.#streams.size < this.#peerMaxConcurrent) {
      this.#slotWaiters.shift()!.resolve();
    }
  }

  #onPing(flags: number, id: number, p: Uint8Array): void {
    if (id !== 0) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, "PING on a stream");
    if (p.length !== 8) throw new H2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "PING of the wrong size");
    const now = Date.now();
    if (flags & Flag.ACK) {
      const ping = this.#ping;
      if (ping && p.every((b, i) => b === ping.data[i])) {
        this.#rttMs = Math.max(0, performance.now() - ping.sentAt);
        this.#lastKeepaliveAt = now;
        this.#ping = null;
        this.#armKeepalive();
      }
      return;
    }
    this.#lastKeepaliveAt = now;
    const policy = this.#cfg.pingPolicy;
    if (policy) {
      if (this.#sentSinceLastPing) {
        this.#pingStrikes = 0;
      } else {
        const spacing = this.#streams.size === 0 && !policy.permitWithoutStream
          ? PING_WITHOUT_STREAMS_MS
          : policy.minTimeMs;
        if (this.#lastPingAt + spacing > now) this.#pingStrikes++;
      }
      this.#sentSinceLastPing = false;
      this.#lastPingAt = now;
      if (this.#pingStrikes > MAX_PING_STRIKES) {
        const err = new H2ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, "too_many_pings");
        this.#cfg.logger?.info(`${this.#cfg.transport}: the client pings too often (keepalive.minTime)`, {
          remote: addrString(this.#conn.remoteAddr),
        });
        return this.#end("error", err, ErrorCode.ENHANCE_YOUR_CALM, "too_many_pings");
      }
    }
    this.#writer.control(pingFrame(p.slice(), true));
  }

  #onWindowUpdate(id: number, p: Uint8Array): void {
    if (p.length !== 4) throw new H2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "WINDOW_UPDATE of the wrong size");
    const inc = u32(p, 0) & 0x7fffffff;
    if (id === 0) {
      if (inc === 0) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE of 0");
      if (this.#sendWindow + inc > MAX_WINDOW) {
        throw new H2ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "connection window above 2^31-1");
      }
      this.#sendWindow += inc;
      for (const s of this.#windowWaiters) s.wakeWindow();
      return;
    }
    const s = this.#streams.get(id);
    if (!s) {
      if (this.#isIdle(id)) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, `WINDOW_UPDATE on idle stream ${id}`);
      return;
    }
    if (inc === 0) return this.#streamError(s, ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE of 0");
    if (s.sendWindow + inc > MAX_WINDOW) {
      return this.#streamError(s, ErrorCode.FLOW_CONTROL_ERROR, `stream ${id}'s window above 2^31-1`);
    }
    s._window(inc);
  }

  #onReset(id: number, p: Uint8Array): void {
    if (id === 0) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, "RST_STREAM on stream 0");
    if (p.length !== 4) throw new H2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "RST_STREAM of the wrong size");
    const s = this.#streams.get(id);
    if (!s) {
      if (this.#isIdle(id)) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, `RST_STREAM on idle stream ${id}`);
      return;
    }
    const code = u32(p, 0);
    this.#writer.dropStream(id, new H2StreamReset(code, "reset"));
    s._fail(new H2StreamReset(code, `HTTP/2 stream ${id} reset by the peer (${errorCodeName(code)})`));
  }

  #onGoaway(id: number, p: Uint8Array): void {
    if (id !== 0) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, "GOAWAY on a stream");
    if (p.length < 8) throw new H2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "GOAWAY too short");
    const last = u32(p, 0) & 0x7fffffff;
    const code = u32(p, 4);
    const debug = new TextDecoder().decode(p.subarray(8, 8 + 256));
    const why = `GOAWAY from the peer (${errorCodeName(code)}${debug ? `: ${debug}` : ""})`;
    if (code !== ErrorCode.NO_ERROR) {
      this.#cfg.logger?.info(`${this.#cfg.transport}: ${why}`, { remote: addrString(this.#conn.remoteAddr) });
    }
    this.#draining = true;
    this.#error ??= new Deno.errors.ConnectionReset(`${this.#cfg.transport} session: ${why}`);
    for (const w of this.#slotWaiters.splice(0)) w.reject(this.#closedError());
    if (this.#client) {
      for (const s of [...this.#streams.values()]) {
        if (s.id > last) {
          s._fail(new H2StreamReset(ErrorCode.REFUSED_STREAM, `HTTP/2 stream ${s.id} refused: ${why}`));
        }
      }
    }
    if (this.#streams.size === 0) {
      this.#end(code === ErrorCode.NO_ERROR ? "peer" : "error", new Deno.errors.ConnectionReset(why));
    }
  }

  #onHeaders(flags: number, id: number, p: Uint8Array): void {
    if (id === 0) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, "HEADERS on stream 0");
    let from = 0, to = p.length;
    if (flags & Flag.PADDED) {
      if (p.length < 1) throw new H2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "padded HEADERS too short");
      to -= p[0];
      from = 1;
    }
    if (flags & Flag.PRIORITY) from += 5;
    if (from > to) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, "HEADERS padding longer than the frame");
    const block = p.subarray(from, to);
    if (flags & Flag.END_HEADERS) return this.#onHeaderBlock(id, flags, block);
    this.#continuation = { id, flags, chunks: [block.slice()], size: block.length };
  }

  #onContinuation(flags: number, id: number, p: Uint8Array): void {
    const c = this.#continuation;
    if (!c || c.id !== id) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, "CONTINUATION without HEADERS");
    c.size += p.length;
    if (c.size > MAX_HEADER_LIST) {
      throw new H2ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, `header block longer than ${MAX_HEADER_LIST} bytes`);
    }
    c.chunks.push(p.slice());
    if (!(flags & Flag.END_HEADERS)) return;
    this.#continuation = null;
    const block = new Uint8Array(c.size);
    let o = 0;
    for (const ch of c.chunks) {
      block.set(ch, o);
      o += ch.length;
    }
    this.#onHeaderBlock(id, c.flags, block);
  }

  #onHeaderBlock(id: number, flags: number, block: Uint8Array): void {
    const fields = this.#decoder.decode(block); // an HpackError ends the connection
    const end = (flags & Flag.END_STREAM) !== 0;
    const s = this.#streams.get(id);
    if (this.#client) {
      if (!s) {
        if (id % 2 === 0 || this.#isIdle(id)) {
          throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, `HEADERS on stream ${id} this client did not open`);
        }
        return; // a stream we reset
      }
      const status = fields.find((f) => f.name === ":status")?.value ?? "";
      if (s.headers.length === 0 && status.startsWith("1") && !end) return; // informational (1xx)
      s._headers(fields);
      if (end) s._end();
      return;
    }
    if (s) {
      if (s.remoteEnded) return this.#streamError(s, ErrorCode.STREAM_CLOSED, `HEADERS after END_STREAM on ${id}`);
      if (!end) return this.#streamError(s, ErrorCode.PROTOCOL_ERROR, "trailers without END_STREAM");
      s._headers(fields);
      s._end();
      return;
    }
    if (id % 2 === 0) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, `client opened even stream ${id}`);
    if (id <= this.#lastPeerId) {
      // a stream that ended or was reset
      this.#writer.frame(rstStreamFrame(id, ErrorCode.STREAM_CLOSED)).catch(() => {});
      return;
    }
    this.#lastPeerId = id;
    if (this.#draining || this.#streams.size >= MAX_CONCURRENT_STREAMS) {
      this.#writer.frame(rstStreamFrame(id, ErrorCode.REFUSED_STREAM)).catch(() => {});
      return;
    }
    const ns = new H2Stream(id, this, this.#peerInitialWindow, this.#streamWindow);
    this.#streams.set(id, ns);
    this.#streamsTotal++;
    this.#idleCancel?.();
    this.#idleCancel = null;
    ns._headers(fields);
    if (end) ns._end();
    if (this.#cfg.onRequest) this.#cfg.onRequest(ns);
    else ns.close(ErrorCode.REFUSED_STREAM);
  }

  // ---- keep-alive ----

  #sendPing(): void {
    if (this.#ended || this.#ping) return;
    const data = new Uint8Array(8);
    new DataView(data.buffer).setUint32(4, ++this.#pingSerial);
    this.#ping = { data, sentAt: performance.now(), receivedBefore: this.#lastReceivedAt ?? 0 };
    this.#writer.control(pingFrame(data, false));
  }

  /** Schedules the next keep-alive step: a PING when due, or the check of the outstanding one. */
  #armKeepalive(): void {
    this.#keepaliveCancel?.();
    this.#keepaliveCancel = null;
    const k = this.#cfg.keepalive;
    if (!k || this.#ended) return;
    if (this.#ping) {
      const ping = this.#ping;
      this.#keepaliveCancel = after(k.timeoutMs, () => {
        this.#keepaliveCancel = null;
        if (this.#ping !== ping || this.#ended) return;
        // anything received since the PING shows the peer is alive (gRPC's rule); its ack may still come
        if ((this.#lastReceivedAt ?? 0) > ping.receivedBefore) {
          this.#ping = null;
          return this.#armKeepalive();
        }
        this.#end(
          "keepalive",
          new Deno.errors.TimedOut(
            `${this.#cfg.transport} session to ${addrString(this.#conn.remoteAddr)}: PING unanswered for ` +
              `${k.timeoutMs} ms (keep-alive timeout)`,
          ),
        );
      });
      return;
    }
    const since = k.mode === "idle" ? (this.#lastReceivedAt ?? Date.now()) : Date.now();
    const wait = Math.max(0, since + k.timeMs - Date.now());
    this.#keepaliveCancel = after(wait, () => {
      this.#keepaliveCancel = null;
      if (this.#ended) return;
      if (k.mode === "idle") {
        const quiet = Date.now() - (this.#lastReceivedAt ?? 0);
        if (quiet < k.timeMs || (this.#streams.size === 0 && !k.withoutStreams)) return this.#armKeepalive();
      }
      this.#sendPing();
      this.#armKeepalive();
    });
  }

  /** Server: a GOAWAY once no stream was open for `maxIdleMs`. */
  #armIdle(): void {
    const ms = this.#cfg.maxIdleMs ?? 0;
    if (this.#client || ms <= 0 || this.#ended || this.#streams.size > 0) return;
    this.#idleCancel?.();
    this.#idleCancel = after(ms, () => {
      this.#idleCancel = null;
      if (this.#streams.size > 0 || this.#ended) return;
      this.#end(
        "local",
        new Deno.errors.ConnectionReset(`${this.#cfg.transport} session idle for ${ms} ms`),
        ErrorCode.NO_ERROR,
        "max_idle",
      );
    });
  }

  // ---- the end ----

  #closedError(): Error {
    return new Deno.errors.ConnectionReset(
      `${this.#cfg.transport} session is closed${this.#error ? `: ${errorMessage(this.#error)}` : ""}`,
    );
  }

  #endedError(): Error {
    return new H2StreamReset(
      ErrorCode.CANCEL,
      `${this.#cfg.transport} session ended${this.#error ? `: ${errorMessage(this.#error)}` : ""}`,
    );
  }

  /**
   * Ends the session: every stream fails with the reason, a GOAWAY goes out when `goaway` names a code (given a
   * moment to be written), then the conn closes and `done` settles.
   */
  #end(reason: MuxCloseReason, err: Error, goaway?: number, debug = ""): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#closeReason = reason;
    if (!(this.#draining && this.#error && reason === "peer")) this.#error = err;
    this.#keepaliveCancel?.();
    this.#idleCancel?.();
    this.#ready.reject(err);
    const streamErr = this.#endedError();
    for (const s of this.#streams.values()) s._fail(streamErr);
    this.#streams.clear();
    for (const w of this.#slotWaiters.splice(0)) w.reject(this.#closedError());
    const finish = () => {
      this.#writer.fail(streamErr);
      closeQuietly(this.#conn);
      this.#done.resolve();
    };
    if (goaway === undefined) return finish();
    this.#writer.control(goawayFrame(this.#lastPeerId, goaway, debug || (goaway ? errorMessage(err) : "")));
    const cancel = after(GOAWAY_GRACE_MS, finish);
    this.#writer.idle().then(() => {
      cancel();
      finish();
    });
  }
}

/** The error for bytes that are not the client preface, with what came (printable) for the log line. */
function badPreface(got: Uint8Array): H2ConnectionError {
  const text = Array.from(got.subarray(0, 24), (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("");
  return new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, `not an HTTP/2 client preface: "${text}"`);
}
