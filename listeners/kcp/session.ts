/**
 * One KCP session as a byte-stream {@link Conn} (kcp-go's `UDPSession` in stream mode, docs/wire.md, "KCP"): writes
 * queue segments and flush at once (GOST turns kcp-go's write delay off), a per-session timer flushes every
 * `interval` (sooner when a retransmission is due), datagrams from the endpoint go through the FEC decoder into the
 * engine. A write waits while the send window is full; a read waits for data. KCP has no end of stream: the session
 * ends on `close()`, when a segment was sent 20 times without an ack (kcp-go's dead link), or when nothing valid
 * arrived for `idleTimeoutMs`; its timer stops then.
 * @module
 */
import { addrString, type Conn } from "../../core/conn.ts";
import { TimeoutError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import { CRYPT_HEADER_SIZE, type PacketCipher, seal } from "./crypt.ts";
import { FEC_HEADER_SIZE_PLUS2, FecDecoder, FecEncoder, TYPE_DATA, TYPE_PARITY } from "./fec.ts";
import { currentMs, Kcp } from "./kcp.ts";
import { fecOn, type KcpConfig } from "./config.ts";

/** Acks are sent once this many wait, before the next flush (see {@link KcpSession}). */
export const ACK_EVERY = 8;
/** The receive window announced at first and at least (segments): see {@link KcpSession}. */
export const ANNOUNCE_MIN = 32;
/** Growth of the announced window per flush without a gap: an eighth, at least this. */
const ANNOUNCE_STEP = 4;

/** Sends one sealed datagram to the session's peer. */
export type DatagramSend = (p: Uint8Array) => void;

/** What a session needs besides its config. */
export interface KcpSessionOptions {
  conv: number;
  config: KcpConfig;
  cipher: PacketCipher;
  send: DatagramSend;
  localAddr: Deno.NetAddr;
  remoteAddr: Deno.NetAddr;
  /** The session ends after this long with no valid datagram from the peer (ms). */
  idleTimeoutMs: number;
  /** Called once when the session has ended (the endpoint forgets it). */
  onClose?: (err: Error | null) => void;
  /** Where the first refused datagram of the session is logged (the rest are counted in `inputErrors`). */
  logger?: Logger;
}

/** Figures of one session. */
export interface KcpSessionStats {
  datagramsIn: number;
  datagramsOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Datagrams whose segments the engine refused (another conv, a `len` past the end, an unknown command). */
  inputErrors: number;
  /** Data shards rebuilt from parity. */
  fecRecovered: number;
  retransmits: number;
}

/** A KCP session over a datagram endpoint. */
export class KcpSession implements Conn {
  readonly localAddr: Deno.NetAddr;
  readonly remoteAddr: Deno.NetAddr;
  readonly conv: number;
  readonly #kcp: Kcp;
  readonly #cipher: PacketCipher;
  readonly #send: DatagramSend;
  readonly #fecEnc: FecEncoder | null;
  #fecDec: FecDecoder | null;
  readonly #ackNoDelay: boolean;
  readonly #idleMs: number;
  readonly #onClose?: (err: Error | null) => void;
  readonly #logger?: Logger;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastInput = currentMs();
  #closed = false;
  #error: Error | null = null;
  #readWaiter: (() => void) | null = null;
  #writeWaiters: (() => void)[] = [];
  readonly #rcvwnd: number;
  #gapsSeen = 0;
  #inputWaiters: ((heard: boolean) => void)[] = [];
  readonly stats: KcpSessionStats = {
    datagramsIn: 0,
    datagramsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    inputErrors: 0,
    fecRecovered: 0,
    retransmits: 0,
  };

  constructor(opts: KcpSessionOptions) {
    const c = opts.config;
    this.conv = opts.conv >>> 0;
    this.localAddr = opts.localAddr;
    this.remoteAddr = opts.remoteAddr;
    this.#cipher = opts.cipher;
    this.#send = opts.send;
    this.#ackNoDelay = c.acknodelay;
    this.#idleMs = opts.idleTimeoutMs;
    this.#onClose = opts.onClose;
    this.#logger = opts.logger;
    const fec = fecOn(c);
    this.#fecEnc = fec ? new FecEncoder(c.datashard, c.parityshard, CRYPT_HEADER_SIZE) : null;
    this.#fecDec = fec ? new FecDecoder(c.datashard, c.parityshard) : null;
    this.#kcp = new Kcp(this.conv, (buf, size) => this.#output(buf, size));
    this.#kcp.reserveBytes(CRYPT_HEADER_SIZE + (fec ? FEC_HEADER_SIZE_PLUS2 : 0));
    this.#kcp.setMtu(c.mtu);
    this.#kcp.setNoDelay(c.nodelay, c.interval, c.resend, c.nc);
    this.#kcp.setWindow(c.sndwnd, c.rcvwnd);
    this.#rcvwnd = c.rcvwnd;
    this.#kcp.announceCap = Math.min(c.rcvwnd, ANNOUNCE_MIN);
    this.#schedule(0);
  }

  /** True once the session ended. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Seals and sends one datagram the engine built (and the parity datagrams it completes). */
  #output(buf: Uint8Array, size: number): void {
    const p = buf.slice(0, size);
    const parity = this.#fecEnc ? this.#fecEnc.encode(p) : null;
    this.#emit(p);
    if (parity) { for (const q of parity) this.#emit(q); }
  }

  #emit(p: Uint8Array): void {
    seal(p, this.#cipher);
    this.stats.datagramsOut++;
    this.stats.bytesOut += p.length;
    this.#send(p);
  }

  /**
   * Takes one datagram from the peer, already opened (after the crypt header).
   * @returns false when the engine refused it
   */
  input(data: Uint8Array): boolean {
    if (this.#closed) return false;
    this.stats.datagramsIn++;
    this.stats.bytesIn += data.length;
    const kcp = this.#kcp;
    let ok = true;
    const flag = data.length >= 6 ? data[4] | (data[5] << 8) : 0;
    if (flag === TYPE_DATA || flag === TYPE_PARITY) {
      if (data.length < FEC_HEADER_SIZE_PLUS2) return this.#refused();
      // a peer with FEC while this side has none: decode with the smallest shape and let auto-tune find the peer's
      this.#fecDec ??= new FecDecoder(1, 1);
      const now = currentMs();
      const rebuilt = this.#fecDec.decode(data, now);
      if (flag === TYPE_DATA && kcp.input(data.subarray(FEC_HEADER_SIZE_PLUS2), true, this.#ackNoDelay) !== 0) {
        ok = false;
      }
      for (const r of rebuilt) {
        const size = r[0] | (r[1] << 8);
        if (size < 2 || size > r.length || kcp.input(r.subarray(2, size), false, this.#ackNoDelay) !== 0) continue;
        this.stats.fecRecovered++;
      }
    } else if (kcp.input(data, true, this.#ackNoDelay) !== 0) {
      ok = false;
    }
    if (!this.#ackNoDelay && kcp.pendingAcks() >= ACK_EVERY) kcp.flush(true);
    if (!ok) this.#inputError();
    else {
      this.#lastInput = currentMs();
      if (this.#inputWaiters.length) { for (const w of this.#inputWaiters.splice(0)) w(true); }
    }
    this.#wake();
    return ok;
  }

  #refused(): boolean {
    this.#inputError();
    return false;
  }

  #inputError(): void {
    if (this.stats.inputErrors++ === 0) {
      this.#logger?.info(
        `kcp session ${this.conv}: a datagram was refused (another conv, a segment length past its end, an unknown ` +
          "command or a short FEC header); further ones are only counted",
        { remote: addrString(this.remoteAddr) },
      );
    }
  }

  /** Wakes a reader when data is ready and the writers when the window has room. */
  #wake(): void {
    if (this.#readWaiter && this.#kcp.readable()) {
      const w = this.#readWaiter;
      this.#readWaiter = null;
      w();
    }
    if (this.#writeWaiters.length && this.#kcp.canSend()) {
      for (const w of this.#writeWaiters.splice(0)) w();
    }
  }

  #schedule(ms: number): void {
    this.#timer = setTimeout(() => this.#update(), ms);
  }

  /** The timer: flush, wake writers, check the session is alive, schedule the next flush. */
  #update(): void {
    this.#timer = undefined;
    if (this.#closed) return;
    const next = this.#kcp.flush(false);
    this.stats.retransmits = this.#kcp.counters.retransmits;
    if (this.#kcp.state === 0xffffffff) {
      return this.#die(new TimeoutError(`kcp session ${this.conv}: a segment was sent 20 times without an ack`));
    }
    if (((currentMs() - this.#lastInput) | 0) > this.#idleMs) {
      return this.#die(new TimeoutError(`kcp session ${this.conv}: nothing received for ${this.#idleMs} ms`));
    }
    this.#adaptWindow();
    this.#wake();
    this.#schedule(next);
  }

  /**
   * Halves the announced window after a flush interval in which segments arrived past a gap, grows it by an eighth
   * after one without, between {@link ANNOUNCE_MIN} and `rcvwnd`.
   */
  #adaptWindow(): void {
    const k = this.#kcp;
    const cap = k.announceCap;
    if (k.counters.gaps !== this.#gapsSeen) {
      this.#gapsSeen = k.counters.gaps;
      k.announceCap = Math.max(ANNOUNCE_MIN, cap >> 1);
    } else if (cap < this.#rcvwnd) {
      k.announceCap = Math.min(this.#rcvwnd, cap + Math.max(ANNOUNCE_STEP, cap >> 3));
    }
  }

  /** Sends a window probe (WASK): a kcp-go peer answers with its window (WINS), which proves it is there. */
  probe(): void {
    if (this.#closed) return;
    this.#kcp.probe |= 1;
    this.#kcp.flush(false);
  }

  /** Resolves true at the next datagram the engine takes, false if the session ends first. */
  nextInput(): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    return new Promise((r) => this.#inputWaiters.push(r));
  }

  /** Milliseconds since the last valid datagram from the peer arrived. */
  get idleMs(): number {
    return (currentMs() - this.#lastInput) | 0;
  }

  /** Counters of the datagrams and the engine. */
  figures(): KcpSessionStats {
    this.stats.retransmits = this.#kcp.counters.retransmits;
    return this.stats;
  }

  async read(p: Uint8Array): Promise<number | null> {
    for (;;) {
      if (this.#kcp.readable()) {
        const n = this.#kcp.recv(p);
        // the window opened again: tell the peer now rather than on the next flush
        if (this.#kcp.probe & 2) this.#kcp.flush(false);
        return n;
      }
      if (this.#closed) {
        if (this.#error) throw this.#error;
        return null;
      }
      if (p.length === 0) return 0;
      await new Promise<void>((r) => (this.#readWaiter = r));
    }
  }

  async write(p: Uint8Array): Promise<number> {
    for (;;) {
      if (this.#closed) throw this.#deadError();
      if (this.#kcp.canSend()) break;
      await new Promise<void>((r) => this.#writeWaiters.push(r));
    }
    if (p.length === 0) return 0;
    this.#kcp.send(p);
    this.#kcp.flush(false);
    return p.length;
  }

  /** KCP has no half-close (the smux above carries each stream's FIN): resolves at once. */
  closeWrite(): Promise<void> {
    return Promise.resolve();
  }

  /** Flushes what is queued once more, then ends the session. */
  close(): void {
    if (this.#closed) return;
    this.#kcp.flush(false);
    this.#die(null);
  }

  #deadError(): Error {
    return this.#error ?? new Deno.errors.BadResource("kcp session closed");
  }

  #die(err: Error | null): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#error = err;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#kcp.release();
    this.#fecDec = null;
    this.#readWaiter?.();
    this.#readWaiter = null;
    for (const w of this.#writeWaiters.splice(0)) w();
    for (const w of this.#inputWaiters.splice(0)) w(false);
    this.#onClose?.(err);
  }
}
