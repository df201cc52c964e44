/**
 * An smux session over one conn (xtaci/smux v1 and v2, docs/wire.md, "smux"): opens and accepts streams, reads frames
 * in one loop, writes frames through one queue (control frames first, data frames in order, several frames per write),
 * sends a NOP every keepalive interval and closes when nothing arrived for the keepalive timeout. Flow control: the
 * session stops reading the conn while more than `maxReceiveBuffer` bytes wait unread in its streams (v1 and v2), or
 * while `acceptBacklog` streams wait to be accepted; v2 streams also keep the peer's window. Any malformed frame, a
 * read or write error, or EOF closes the session and every stream with it; so do a SYN for an open stream (or id 0)
 * and a PSH, FIN or UPD for an id no SYN ever named, which smux ignores (docs/wire.md, "smux").
 * Frames for a stream that was open and is closed now are dropped, as smux drops them.
 * @module
 */
import { addrString, closeQuietly, type Conn, writeFull } from "../conn.ts";
import type { MuxCloseReason, MuxSessionStats } from "../contracts.ts";
import { errorMessage, TimeoutError } from "../errors.ts";
import { timeout } from "../deadline.ts";
import { type MuxConfig, muxConfig } from "./config.ts";
import {
  Cmd,
  decodeHeader,
  decodeUpd,
  encodeFrame,
  FrameReader,
  HELLO_SID,
  MuxProtocolError,
  putHeader,
} from "./frame.ts";
import { MuxStream, type StreamHost } from "./stream.ts";

/** Options of a session. */
export interface MuxSessionOptions {
  /** smux client role (opens odd ids 3, 5, …) or server role (even ids 2, 4, …). */
  client: boolean;
  /** Settings over smux's defaults. */
  config?: Partial<MuxConfig>;
}

/** Payload bytes a stream sends in its turn before the next stream with data queued gets its own (two frames). */
const TURN_BYTES = 64 * 1024;
/** Most bytes gathered into one write to the conn: the size of a batch buffer. */
const BATCH_BYTES = 256 * 1024;
/** Room kept before a batch for the conn's own framing (see {@link InPlaceFramer}): a WebSocket header at most. */
const MAX_HEADROOM = 16;
/** Batch buffers not in use, shared by every session: a session borrows one while it writes (no idle cost). */
const batchPool: Uint8Array<ArrayBuffer>[] = [];
const BATCH_POOL_MAX = 8;
const MAX_STREAM_ID = 0xffff_ffff;
/** Bytes of an smux frame header (docs/wire.md, "smux"). */
const HEADER_BYTES = 8;

/**
 * A queued write: an encoded frame (`frame`), or data for stream `sid` (`data`, of which `off` bytes are written),
 * cut into PSH frames as it is copied into a batch.
 */
/**
 * A conn that frames what it writes (the WebSocket conn) and can frame a batch in place: `buf[start, end)` is the data,
 * with `writeHeadroom` free bytes before `start` for its header; it may change the data (a client masks it). The mux
 * session writes its batches this way and saves the copy into a frame buffer.
 */
export interface InPlaceFramer {
  readonly writeHeadroom: number;
  writeInPlace(buf: Uint8Array, start: number, end: number): Promise<void>;
}

function inPlaceFramer(conn: Conn): InPlaceFramer | null {
  const c = conn as Partial<InPlaceFramer>;
  return typeof c.writeInPlace === "function" && (c.writeHeadroom ?? Infinity) <= MAX_HEADROOM
    ? c as InPlaceFramer
    : null;
}

interface PendingWrite {
  frame: Uint8Array | null;
  sid: number;
  data: Uint8Array | null;
  off: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

/**
 * A multiplexed session. The conn belongs to the session from now on: `close()` closes it.
 * @example
 * const session = new MuxSession(conn, { client: true });
 * const stream = await session.openStream();
 * await stream.write(data);
 */
export class MuxSession {
  readonly config: MuxConfig;
  readonly #conn: Conn;
  readonly #streams = new Map<number, MuxStream>();
  readonly #host: StreamHost;
  #nextId: number;
  /** The highest stream id opened by either side. */
  #highestId = 0;
  /** The peer sent gost.ts's hello: FIN is a half-close, a second FIN a full close. */
  #peerHalfClose = false;
  // accept queue
  readonly #accepts: MuxStream[] = [];
  readonly #acceptWaiters: { resolve: (s: MuxStream) => void; reject: (e: Error) => void }[] = [];
  #acceptSpace: (() => void) | null = null;
  // receive budget
  #bucket: number;
  #bucketSpace: (() => void) | null = null;
  #dataReady = false;
  // writer
  readonly #control: PendingWrite[] = [];
  /** Each stream's queued data and FIN, in order. */
  readonly #queues = new Map<number, PendingWrite[]>();
  /** Streams with queued data, served in turn: `#turnLeft` payload bytes are left in the first one's turn. */
  readonly #turns: number[] = [];
  #turnLeft = TURN_BYTES;
  #writing = false;
  // lifecycle
  #closed = false;
  #error: Error | null = null;
  readonly #timers: ReturnType<typeof setInterval>[] = [];
  readonly #done: Promise<void>;
  // figures (stats())
  readonly #createdAt = Date.now();
  #streamsTotal = 0;
  #refusedStreams = 0;
  /** Streams the peer opened that are open now (capped by `maxPeerStreams`). */
  #peerStreams = 0;
  #bytesIn = 0;
  #bytesOut = 0;
  #lastReceivedAt: number | null = null;
  #lastKeepaliveAt: number | null = null;
  #closeReason: MuxCloseReason | null = null;

  /** @throws {ConfigError} when `config` is invalid */
  constructor(conn: Conn, opts: MuxSessionOptions) {
    this.config = muxConfig(opts.config);
    this.#conn = conn;
    this.#nextId = opts.client ? 1 : 0;
    this.#bucket = this.config.maxReceiveBuffer;
    const addrs = () => conn;
    this.#host = {
      config: this.config,
      get localAddr() {
        return addrs().localAddr;
      },
      get remoteAddr() {
        return addrs().remoteAddr;
      },
      write: (frame, control) => this.#enqueue(frame, control),
      writeData: (sid, data) => this.#enqueueData(sid, data),
      returnTokens: (n) => this.#returnTokens(n),
      forget: (id) => {
        if (this.#streams.delete(id) && (id & 1) !== (this.#nextId & 1)) this.#peerStreams--;
      },
      deadError: () => this.#deadError(),
      peerHalfClose: () => this.#peerHalfClose,
    };
    this.#enqueue(encodeFrame(this.config.version, Cmd.NOP, HELLO_SID), true).catch(() => {});
    if (!this.config.keepAliveDisabled) this.#startKeepalive();
    this.#done = this.#recvLoop();
  }

  /** The smux client role (the side that opens streams in GOST's MBIND and relay BIND). */
  static client(conn: Conn, config?: Partial<MuxConfig>): MuxSession {
    return new MuxSession(conn, { client: true, config });
  }

  /** The smux server role. */
  static server(conn: Conn, config?: Partial<MuxConfig>): MuxSession {
    return new MuxSession(conn, { client: false, config });
  }

  /** True once the session ended. */
  get closed(): boolean {
    return this.#closed;
  }
  /** Why the session ended (undefined while open or after a local `close()`). */
  get error(): Error | undefined {
    return this.#error ?? undefined;
  }
  /** Settles (never rejects) once the session has ended and its read loop stopped. */
  get done(): Promise<void> {
    return this.#done;
  }
  /** Streams open now. */
  get numStreams(): number {
    return this.#streams.size;
  }
  get localAddr(): Deno.Addr {
    return this.#conn.localAddr;
  }
  get remoteAddr(): Deno.Addr {
    return this.#conn.remoteAddr;
  }
  /** Why the session ended (`keepalive`: nothing arrived for the keep-alive timeout); null while open. */
  get closeReason(): MuxCloseReason | null {
    return this.#closeReason;
  }

  /** Live figures (streams, frame bytes, last frame and keep-alive received); `transport` names the dialer. */
  stats(transport = "smux"): MuxSessionStats {
    return {
      transport,
      local: addrString(this.#conn.localAddr),
      remote: addrString(this.#conn.remoteAddr),
      streamsOpen: this.#streams.size,
      streamsTotal: this.#streamsTotal,
      bytesIn: this.#bytesIn,
      bytesOut: this.#bytesOut,
      createdAt: this.#createdAt,
      lastReceivedAt: this.#lastReceivedAt,
      lastKeepaliveAt: this.#lastKeepaliveAt,
      keepaliveRttMs: null,
      keepaliveTimeoutMs: this.config.keepAliveDisabled ? 0 : this.config.keepAliveTimeoutMs,
      closeReason: this.#closeReason,
    };
  }

  /**
   * Opens a stream: SYN is sent (bounded by the control timeout) and data may follow at once.
   * @throws the session's error once it ended; an Error when stream ids are exhausted
   */
  async openStream(): Promise<MuxStream> {
    if (this.#closed) throw this.#deadError();
    if (this.#nextId + 2 > MAX_STREAM_ID) throw new Error("smux stream ids exhausted: open a new session");
    this.#nextId += 2;
    if (this.#nextId > this.#highestId) this.#highestId = this.#nextId;
    const stream = new MuxStream(this.#host, this.#nextId);
    this.#streams.set(stream.id, stream);
    this.#streamsTotal++;
    try {
      const syn = this.#enqueue(encodeFrame(this.config.version, Cmd.SYN, stream.id), true);
      await timeout(syn, this.config.controlTimeoutMs, "smux SYN");
    } catch (err) {
      this.#streams.delete(stream.id);
      stream.sessionClosed();
      throw err;
    }
    return stream;
  }

  /**
   * The next stream the peer opened.
   * @throws the session's error (a `ConnectionReset`, `TimeoutError` or `MuxProtocolError`) once it ended
   */
  acceptStream(): Promise<MuxStream> {
    const s = this.#accepts.shift();
    if (s) {
      this.#acceptSpace?.();
      return Promise.resolve(s);
    }
    if (this.#closed) return Promise.reject(this.#deadError());
    return new Promise((resolve, reject) => this.#acceptWaiters.push({ resolve, reject }));
  }

  /** Closes the session, its conn and every stream. Idempotent. */
  close(): void {
    this.#die(null);
  }

  // ---- receive ----

  async #recvLoop(): Promise<void> {
    const reader = new FrameReader(this.#conn);
    const version = this.config.version;
    try {
      while (!this.#closed) {
        while (this.#bucket <= 0 && !this.#closed) await new Promise<void>((r) => (this.#bucketSpace = r));
        if (this.#closed) break;
        const f = await reader.next(version);
        if (this.#closed) break;
        if (!f) {
          this.#die(new Deno.errors.ConnectionReset("mux session: the peer closed the connection"), "peer");
          break;
        }
        this.#dataReady = true;
        this.#lastReceivedAt = Date.now();
        this.#bytesIn += HEADER_BYTES + f.length;
        switch (f.cmd) {
          case Cmd.NOP:
            if (f.sid === HELLO_SID) this.#peerHalfClose = true;
            else this.#lastKeepaliveAt = this.#lastReceivedAt;
            break;
          case Cmd.SYN:
            if (f.sid === 0) throw new MuxProtocolError("smux SYN for stream id 0 (never a stream)");
            if (this.#streams.has(f.sid)) throw new MuxProtocolError(`smux SYN for stream ${f.sid}, which is open`);
            if (f.sid > this.#highestId) this.#highestId = f.sid;
            if (this.#peerStreams >= this.config.maxPeerStreams) {
              // refused at once: its later frames are those of a closed stream, dropped
              this.#refusedStreams++;
              this.#enqueue(encodeFrame(this.config.version, Cmd.FIN, f.sid), true).catch(() => {});
              break;
            }
            await this.#incoming(f.sid);
            break;
          case Cmd.FIN:
            this.#stream(f.sid, "FIN")?.fin();
            break;
          case Cmd.PSH: {
            const s = this.#stream(f.sid, "PSH");
            if (s && f.length) this.#bucket -= s.push(f.payload);
            break;
          }
          case Cmd.UPD: {
            const u = decodeUpd(f.payload);
            this.#stream(f.sid, "UPD")?.update(u.consumed, u.window);
            break;
          }
        }
      }
    } catch (err) {
      this.#die(err instanceof Error ? err : new Error(errorMessage(err)));
    }
  }

  /**
   * The open stream `sid`, or undefined for one that was open once (frames still in flight after a close are
   * dropped, as smux drops them).
   * @throws {MuxProtocolError} for an id above every id opened so far (no SYN ever named it)
   */
  #stream(sid: number, cmd: string): MuxStream | undefined {
    const s = this.#streams.get(sid);
    if (s || sid <= this.#highestId) return s;
    throw new MuxProtocolError(`smux ${cmd} for stream ${sid}, which was never opened`);
  }

  /** SYNs refused because the peer held `maxPeerStreams` streams open. */
  get refusedStreams(): number {
    return this.#refusedStreams;
  }

  /** Registers a stream the peer opened and queues it for accept (waits while the backlog is full). */
  async #incoming(sid: number): Promise<void> {
    const stream = new MuxStream(this.#host, sid);
    this.#streams.set(sid, stream);
    this.#streamsTotal++;
    this.#peerStreams++;
    const waiter = this.#acceptWaiters.shift();
    if (waiter) return waiter.resolve(stream);
    this.#accepts.push(stream);
    while (this.#accepts.length > this.config.acceptBacklog && !this.#closed) {
      await new Promise<void>((r) => (this.#acceptSpace = r));
    }
  }

  #returnTokens(n: number): void {
    this.#bucket += n;
    if (this.#bucket > 0 && this.#bucketSpace) {
      const wake = this.#bucketSpace;
      this.#bucketSpace = null;
      wake();
    }
  }

  // ---- send ----

  /**
   * Queues an encoded frame: a control frame (SYN, NOP, UPD) before any data, or a stream's FIN after its data (the
   * stream id is read from the frame's header).
   */
  #enqueue(frame: Uint8Array, control: boolean): Promise<void> {
    if (this.#closed) return Promise.reject(this.#deadError());
    return new Promise<void>((resolve, reject) => {
      if (control) this.#control.push({ frame, sid: 0, data: null, off: 0, resolve, reject });
      else {
        const sid = decodeHeader(frame).sid;
        this.#queue(sid).push({ frame, sid, data: null, off: 0, resolve, reject });
      }
      if (!this.#writing) this.#flush();
    });
  }

  /** Queues `data` for stream `sid` after what it queued so far; resolves once all of it is written to the conn. */
  #enqueueData(sid: number, data: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(this.#deadError());
    return new Promise<void>((resolve, reject) => {
      this.#queue(sid).push({ frame: null, sid, data, off: 0, resolve, reject });
      if (!this.#writing) this.#flush();
    });
  }

  /** Stream `sid`'s write queue, which takes its turn after the streams already waiting. */
  #queue(sid: number): PendingWrite[] {
    let q = this.#queues.get(sid);
    if (!q) {
      this.#queues.set(sid, q = []);
      this.#turns.push(sid);
    }
    return q;
  }

  /**
   * Writes queued frames until the queues are empty, several per write to the conn: control frames first, then the
   * streams' data in turns of {@link TURN_BYTES} (so streams writing at once share the conn fairly), each stream's
   * frames in order. Data is cut into PSH frames of at most `maxFrameSize` as it is copied into one batch buffer
   * borrowed from {@link batchPool} (the only copy: a WebSocket conn frames the batch in place). A write error ends the
   * session.
   */
  async #flush(): Promise<void> {
    this.#writing = true;
    const pooled = batchPool.pop() ?? new Uint8Array(MAX_HEADROOM + BATCH_BYTES);
    const framer = inPlaceFramer(this.#conn);
    const buf = pooled.subarray(MAX_HEADROOM);
    try {
      while (!this.#closed && (this.#control.length || this.#turns.length)) {
        const done: PendingWrite[] = [];
        const size = this.#fillBatch(buf, done);
        try {
          if (framer) await framer.writeInPlace(pooled, MAX_HEADROOM, MAX_HEADROOM + size);
          else await writeFull(this.#conn, buf.subarray(0, size));
          this.#bytesOut += size;
        } catch (err) {
          const e = err instanceof Error ? err : new Error(errorMessage(err));
          for (const w of done) w.reject(e);
          this.#die(e);
          return;
        }
        for (const w of done) w.resolve();
      }
    } finally {
      this.#writing = false;
      if (batchPool.length < BATCH_POOL_MAX) batchPool.push(pooled);
    }
  }

  /** Copies queued frames into `buf` (entries written in full go to `done`); returns the bytes filled. */
  #fillBatch(buf: Uint8Array, done: PendingWrite[]): number {
    const { version, maxFrameSize } = this.config;
    let size = 0;
    while (this.#control.length && size + this.#control[0].frame!.length <= buf.length) {
      const w = this.#control.shift()!;
      buf.set(w.frame!, size);
      size += w.frame!.length;
      done.push(w);
    }
    while (this.#turns.length) {
      const sid = this.#turns[0];
      const q = this.#queues.get(sid)!;
      while (q.length && this.#turnLeft > 0) {
        const w = q[0];
        if (w.frame) {
          if (size + w.frame.length > buf.length) return size;
          buf.set(w.frame, size);
          size += w.frame.length;
          q.shift();
          done.push(w);
          continue;
        }
        const data = w.data!;
        const room = buf.length - size - HEADER_BYTES;
        // no sliver frames at the end of a batch: the rest goes in the next one
        if (room < Math.min(data.length - w.off, 512)) return size;
        const n = Math.min(maxFrameSize, data.length - w.off, room, this.#turnLeft);
        putHeader(buf, size, version, Cmd.PSH, n, sid);
        buf.set(n === data.length ? data : data.subarray(w.off, w.off + n), size + HEADER_BYTES);
        size += HEADER_BYTES + n;
        w.off += n;
        this.#turnLeft -= n;
        if (w.off === data.length) {
          q.shift();
          done.push(w);
        }
      }
      this.#turns.shift();
      this.#turnLeft = TURN_BYTES;
      if (q.length) this.#turns.push(sid);
      else this.#queues.delete(sid);
    }
    return size;
  }

  // ---- keepalive ----

  #startKeepalive(): void {
    const { keepAliveIntervalMs, keepAliveTimeoutMs, version } = this.config;
    const nop = encodeFrame(version, Cmd.NOP, 0);
    this.#timers.push(setInterval(() => {
      this.#enqueue(nop, true).catch(() => {});
    }, keepAliveIntervalMs));
    this.#timers.push(setInterval(() => {
      if (this.#dataReady) {
        this.#dataReady = false;
        return;
      }
      // a paused read loop (receive budget or accept backlog full) is not an idle peer
      if (this.#bucket <= 0 || this.#accepts.length > this.config.acceptBacklog) return;
      this.#die(
        new TimeoutError(
          `mux session: nothing received from the peer for ${keepAliveTimeoutMs} ms (keep-alive timeout)`,
        ),
        "keepalive",
      );
    }, keepAliveTimeoutMs));
  }

  // ---- end ----

  #deadError(): Error {
    const cause = this.#error;
    if (cause instanceof Deno.errors.ConnectionReset || cause instanceof TimeoutError) return cause;
    return new Deno.errors.ConnectionReset(
      cause ? `mux session closed: ${errorMessage(cause)}` : "mux session closed",
      cause ? { cause } : undefined,
    );
  }

  #die(err: Error | null, reason?: MuxCloseReason): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#error = err;
    this.#closeReason = reason ?? (err ? "error" : "local");
    for (const t of this.#timers) clearInterval(t);
    closeQuietly(this.#conn);
    const dead = this.#deadError();
    for (const w of this.#control.splice(0)) w.reject(dead);
    for (const q of this.#queues.values()) for (const w of q) w.reject(dead);
    this.#queues.clear();
    this.#turns.length = 0;
    for (const s of this.#streams.values()) s.sessionClosed();
    this.#streams.clear();
    for (const s of this.#accepts.splice(0)) s.sessionClosed();
    for (const w of this.#acceptWaiters.splice(0)) w.reject(dead);
    this.#bucketSpace?.();
    this.#acceptSpace?.();
  }
}
