/**
 * The KCP protocol engine (skywind3000's ikcp as kcp-go v5 runs it; docs/wire.md, "KCP"): segments of
 * `conv u32, cmd u8, frg u8, wnd u16, ts u32, sn u32, una u32, len u32` (little-endian) and `len` data bytes; commands
 * PUSH (81), ACK (82), WASK (83, window probe) and WINS (84, window size). It keeps the send queue and buffer, the
 * receive buffer and queue, acknowledges every PUSH, retransmits on RTO, on `fastresend` duplicate acks and early
 * (kcp-go's early retransmit), keeps the congestion window unless `nocwnd`, and probes a zero remote window. Pure:
 * no sockets and no timers; the caller feeds datagrams with {@link Kcp.input}, calls {@link Kcp.flush} on its timer
 * and sends what `output` gets. Stream mode only (GOST and kcptun set it): every segment has `frg` 0.
 * @module
 */

import { encodeHeader, Queue, Segment, u32 } from "./segment.ts";

export { encodeHeader };

export const IKCP_RTO_NDL = 30;
export const IKCP_RTO_MIN = 100;
export const IKCP_RTO_DEF = 200;
export const IKCP_RTO_MAX = 60_000;
export const IKCP_CMD_PUSH = 81;
export const IKCP_CMD_ACK = 82;
export const IKCP_CMD_WASK = 83;
export const IKCP_CMD_WINS = 84;
const IKCP_ASK_SEND = 1;
const IKCP_ASK_TELL = 2;
export const IKCP_WND_SND = 32;
export const IKCP_WND_RCV = 32;
export const IKCP_MTU_DEF = 1400;
export const IKCP_INTERVAL = 100;
/** Bytes of a segment header. */
export const IKCP_OVERHEAD = 24;
const IKCP_DEADLINK = 20;
const IKCP_THRESH_INIT = 2;
const IKCP_THRESH_MIN = 2;
const IKCP_PROBE_INIT = 7000;
const IKCP_PROBE_LIMIT = 120_000;
/** Offset of `sn` in a segment header. */
export const IKCP_SN_OFFSET = 12;

/** Milliseconds as kcp-go counts them: a wrapping 32-bit clock. */
export function currentMs(): number {
  return Math.floor(performance.now()) >>> 0;
}

/** later − earlier on the wrapping clock (or sequence numbers). */
const diff = (later: number, earlier: number) => (later - earlier) | 0;

/** Called with the datagram built so far: `buf[0, size)`, the first `reserved` bytes left for the caller. */
export type KcpOutput = (buf: Uint8Array, size: number) => void;

/** Counters of one engine. */
export interface KcpCounters {
  /** Segments retransmitted (RTO, fast and early). */
  retransmits: number;
  /** PUSH segments received that were already there or outside the window. */
  repeats: number;
  /** PUSH segments that arrived past a gap (the segments before them lost, or late). */
  gaps: number;
}

/**
 * One KCP conversation.
 * @example
 * const kcp = new Kcp(conv, (buf, size) => send(buf.slice(0, size)));
 * kcp.send(bytes); kcp.flush(false);
 */
export class Kcp {
  readonly conv: number;
  mtu = IKCP_MTU_DEF;
  mss = IKCP_MTU_DEF - IKCP_OVERHEAD;
  /** 0xffffffff once a segment was sent `deadLink` times without an ack. */
  state = 0;
  sndUna = 0;
  sndNxt = 0;
  rcvNxt = 0;
  ssthresh = IKCP_THRESH_INIT;
  rxRttvar = 0;
  rxSrtt = 0;
  rxRto = IKCP_RTO_DEF;
  rxMinrto = IKCP_RTO_MIN;
  sndWnd = IKCP_WND_SND;
  rcvWnd = IKCP_WND_RCV;
  rmtWnd = IKCP_WND_RCV;
  cwnd = 0;
  probe = 0;
  interval = IKCP_INTERVAL;
  nodelay = 0;
  tsProbe = 0;
  probeWait = 0;
  deadLink = IKCP_DEADLINK;
  incr = 0;
  fastresend = 0;
  nocwnd = 0;
  readonly counters: KcpCounters = { retransmits: 0, repeats: 0, gaps: 0 };
  /**
   * The most receive window announced (segments), below `rcvWnd`: the window the caller lets a peer fill at once
   * (listeners/kcp/session.ts adapts it). Segments up to `rcvWnd` are still taken.
   */
  announceCap = Infinity;
  /** The highest `sn` received, -1 before the first. */
  #maxSn = -1;

  readonly #sndQueue = new Queue<Segment>();
  readonly #sndBuf = new Queue<Segment>();
  readonly #rcvBuf = new Queue<Segment>();
  readonly #rcvQueue = new Queue<Segment>();
  /** Bytes of the front segment of the receive queue already read. */
  #rcvOffset = 0;
  /** Pending acks: sn, ts pairs. */
  #acklist: number[] = [];
  #buffer: Uint8Array;
  #reserved = 0;
  readonly #output: KcpOutput;
  readonly #now: () => number;

  /** @param clock the wrapping millisecond clock (tests drive their own) */
  constructor(conv: number, output: KcpOutput, clock: () => number = currentMs) {
    this.conv = conv >>> 0;
    this.#output = output;
    this.#now = clock;
    this.#buffer = new Uint8Array(this.mtu);
  }

  /** Keeps the first `n` bytes of every datagram for the caller (crypt and FEC headers). */
  reserveBytes(n: number): boolean {
    if (n >= this.mtu - IKCP_OVERHEAD || n < 0) return false;
    this.#reserved = n;
    this.mss = this.mtu - IKCP_OVERHEAD - n;
    return true;
  }

  /** Sets the MTU (datagram size, headers included); false when too small. */
  setMtu(mtu: number): boolean {
    if (mtu < 50 || mtu < IKCP_OVERHEAD + this.#reserved + 1) return false;
    this.mtu = mtu;
    this.mss = mtu - IKCP_OVERHEAD - this.#reserved;
    this.#buffer = new Uint8Array(mtu);
    return true;
  }

  /** ikcp_nodelay: nodelay 0/1, interval (clamped to 10–5000 ms), fast resend count, no congestion window. */
  setNoDelay(nodelay: number, interval: number, resend: number, nc: number): void {
    if (nodelay >= 0) {
      this.nodelay = nodelay;
      this.rxMinrto = nodelay !== 0 ? IKCP_RTO_NDL : IKCP_RTO_MIN;
    }
    if (interval >= 0) this.interval = Math.min(5000, Math.max(10, interval));
    if (resend >= 0) this.fastresend = resend;
    if (nc >= 0) this.nocwnd = nc;
  }

  /** Sets the send and receive windows (in segments); zero keeps a value. */
  setWindow(sndwnd: number, rcvwnd: number): void {
    if (sndwnd > 0) this.sndWnd = sndwnd;
    if (rcvwnd > 0) this.rcvWnd = rcvwnd;
  }

  /** Segments waiting to be sent or acknowledged. */
  waitSnd(): number {
    return this.#sndBuf.length + this.#sndQueue.length;
  }

  /** True when a write may queue more (kcp-go's check before `Write`). */
  canSend(): boolean {
    const w = this.waitSnd();
    return w < this.sndWnd && w < this.rmtWnd;
  }

  /** Acks waiting for the next flush. */
  pendingAcks(): number {
    return this.#acklist.length >> 1;
  }

  /** Bytes ready to read now. */
  readable(): boolean {
    return this.#rcvQueue.length > 0;
  }

  /**
   * Copies received bytes into `p` (stream mode: segments are concatenated, the last one may be read in part).
   * @returns the count copied, 0 when nothing is ready
   */
  recv(p: Uint8Array): number {
    const q = this.#rcvQueue;
    if (q.length === 0) return 0;
    const fastRecover = q.length >= this.rcvWnd;
    let n = 0, done = 0;
    while (done < q.length && n < p.length) {
      const seg = q.at(done);
      const take = Math.min(seg.len - this.#rcvOffset, p.length - n);
      p.set(seg.data.subarray(this.#rcvOffset, this.#rcvOffset + take), n);
      n += take;
      this.#rcvOffset += take;
      if (this.#rcvOffset < seg.len) break;
      this.#rcvOffset = 0;
      done++;
    }
    if (done) q.dropFront(done);
    this.#moveToQueue();
    if (q.length < this.rcvWnd && fastRecover) this.probe |= IKCP_ASK_TELL;
    return n;
  }

  /** Queues `p` for sending (copied), appending to the last queued segment first. */
  send(p: Uint8Array): void {
    let off = 0;
    const mss = this.mss;
    const last = this.#sndQueue.last();
    if (last && last.len < mss) {
      const take = Math.min(mss - last.len, p.length);
      last.data.set(p.subarray(0, take), last.len);
      last.len += take;
      off = take;
    }
    while (off < p.length) {
      const take = Math.min(mss, p.length - off);
      const seg = new Segment(new Uint8Array(mss), take);
      seg.data.set(p.subarray(off, off + take));
      this.#sndQueue.push(seg);
      off += take;
    }
  }

  #updateAck(rtt: number): void {
    if (this.rxSrtt === 0) {
      this.rxSrtt = rtt;
      this.rxRttvar = rtt >> 1;
    } else {
      let delta = rtt - this.rxSrtt;
      this.rxSrtt += delta >> 3;
      if (delta < 0) delta = -delta;
      if (rtt < this.rxSrtt - this.rxRttvar) this.rxRttvar += (delta - this.rxRttvar) >> 5;
      else this.rxRttvar += (delta - this.rxRttvar) >> 2;
    }
    const rto = this.rxSrtt + Math.max(this.interval, this.rxRttvar << 2);
    this.rxRto = Math.min(Math.max(this.rxMinrto, rto), IKCP_RTO_MAX);
  }

  #shrinkBuf(): void {
    this.sndUna = this.#sndBuf.length ? this.#sndBuf.at(0).sn : this.sndNxt;
  }

  #parseAck(sn: number): void {
    if (diff(sn, this.sndUna) < 0 || diff(sn, this.sndNxt) >= 0) return;
    const b = this.#sndBuf;
    for (let k = 0; k < b.length; k++) {
      const seg = b.at(k);
      if (sn === seg.sn) {
        seg.acked = true;
        break;
      }
      if (diff(sn, seg.sn) < 0) break;
    }
  }

  #parseFastack(sn: number, ts: number): void {
    if (diff(sn, this.sndUna) < 0 || diff(sn, this.sndNxt) >= 0) return;
    const b = this.#sndBuf;
    for (let k = 0; k < b.length; k++) {
      const seg = b.at(k);
      if (diff(sn, seg.sn) < 0) break;
      if (sn !== seg.sn && diff(seg.ts, ts) <= 0) seg.fastack++;
    }
  }

  #parseUna(una: number): number {
    const b = this.#sndBuf;
    let count = 0;
    while (count < b.length && diff(una, b.at(count).sn) > 0) count++;
    if (count) b.dropFront(count);
    return count;
  }

  /** Moves in-order segments from the receive buffer to the receive queue while the window allows. */
  #moveToQueue(): void {
    const buf = this.#rcvBuf, q = this.#rcvQueue;
    let count = 0;
    while (count < buf.length && buf.at(count).sn === this.rcvNxt && q.length < this.rcvWnd) {
      q.push(buf.at(count));
      this.rcvNxt = (this.rcvNxt + 1) >>> 0;
      count++;
    }
    if (count) buf.dropFront(count);
  }

  /** Stores a PUSH segment (data copied); true when it was a repeat. */
  #parseData(sn: number, data: Uint8Array, off: number, len: number): boolean {
    if (diff(sn, (this.rcvNxt + this.rcvWnd) >>> 0) >= 0 || diff(sn, this.rcvNxt) < 0) return true;
    const buf = this.#rcvBuf;
    let insert = 0, repeat = false;
    for (let i = buf.length - 1; i >= 0; i--) {
      const s = buf.at(i);
      if (s.sn === sn) {
        repeat = true;
        break;
      }
      if (diff(sn, s.sn) > 0) {
        insert = i + 1;
        break;
      }
    }
    if (!repeat) {
      const seg = new Segment(data.slice(off, off + len), len);
      seg.sn = sn;
      if (insert === buf.length) buf.push(seg);
      else buf.insert(insert, seg);
    }
    this.#moveToQueue();
    return repeat;
  }

  /**
   * Feeds one datagram's segments (after the crypt and FEC headers).
   * @param regular false for a segment rebuilt by FEC (its window and timestamps are not trusted)
   * @param ackNoDelay flush the acks at once
   * @returns 0, or -1 (short or another conv), -2 (a `len` past the datagram), -3 (an unknown command): the rest of
   *   the datagram is dropped
   */
  input(data: Uint8Array, regular: boolean, ackNoDelay: boolean): number {
    const prevUna = this.sndUna;
    if (data.length < IKCP_OVERHEAD) return -1;
    let latest = 0, gotAck = false, windowSlides = false;
    let off = 0;
    const end = data.length;
    while (end - off >= IKCP_OVERHEAD) {
      const conv = (data[off] | (data[off + 1] << 8) | (data[off + 2] << 16) | (data[off + 3] << 24)) >>> 0;
      if (conv !== this.conv) return -1;
      const cmd = data[off + 4];
      const wnd = data[off + 6] | (data[off + 7] << 8);
      const ts = u32(data, off + 8);
      const sn = u32(data, off + 12);
      const una = u32(data, off + 16);
      const len = u32(data, off + 20);
      off += IKCP_OVERHEAD;
      if (end - off < len) return -2;
      if (cmd !== IKCP_CMD_PUSH && cmd !== IKCP_CMD_ACK && cmd !== IKCP_CMD_WASK && cmd !== IKCP_CMD_WINS) return -3;
      if (regular) this.rmtWnd = wnd;
      if (this.#parseUna(una) > 0) windowSlides = true;
      this.#shrinkBuf();
      if (cmd === IKCP_CMD_ACK) {
        this.#parseAck(sn);
        this.#parseFastack(sn, ts);
        gotAck = true;
        latest = ts;
      } else if (cmd === IKCP_CMD_PUSH) {
        let repeat = true;
        if (regular) {
          if (this.#maxSn >= 0 && diff(sn, this.#maxSn) > 1) this.counters.gaps++;
          if (this.#maxSn < 0 || diff(sn, this.#maxSn) > 0) this.#maxSn = sn;
        }
        if (diff(sn, (this.rcvNxt + this.rcvWnd) >>> 0) < 0) {
          this.#acklist.push(sn, ts);
          if (diff(sn, this.rcvNxt) >= 0) repeat = this.#parseData(sn, data, off, len);
        }
        if (regular && repeat) this.counters.repeats++;
      } else if (cmd === IKCP_CMD_WASK) {
        this.probe |= IKCP_ASK_TELL;
      }
      off += len;
    }
    if (gotAck && regular) {
      const now = this.#now();
      if (diff(now, latest) >= 0) this.#updateAck(diff(now, latest));
    }
    if (this.nocwnd === 0 && diff(this.sndUna, prevUna) > 0 && this.cwnd < this.rmtWnd) {
      const mss = this.mss;
      if (this.cwnd < this.ssthresh) {
        this.cwnd++;
        this.incr += mss;
      } else {
        if (this.incr < mss) this.incr = mss;
        this.incr += Math.floor((mss * mss) / this.incr) + Math.floor(mss / 16);
        if ((this.cwnd + 1) * mss <= this.incr) this.cwnd = Math.floor((this.incr + mss - 1) / mss);
      }
      if (this.cwnd > this.rmtWnd) {
        this.cwnd = this.rmtWnd;
        this.incr = this.rmtWnd * mss;
      }
    }
    if (windowSlides) this.flush(false);
    else if (ackNoDelay && this.#acklist.length) this.flush(true);
    return 0;
  }

  #wndUnused(): number {
    const free = this.#rcvQueue.length < this.rcvWnd ? this.rcvWnd - this.#rcvQueue.length : 0;
    return Math.min(free, this.announceCap);
  }

  /**
   * Sends acks, window probes, new segments within the window and retransmissions (`ackOnly`: the acks alone).
   * @returns when to flush next, in ms (at most `interval`: the nearest retransmission time)
   */
  flush(ackOnly: boolean): number {
    const buffer = this.#buffer;
    const reserved = this.#reserved;
    const mtu = this.mtu;
    const wnd = this.#wndUnused();
    const una = this.rcvNxt;
    let ptr = reserved;
    const emit = (space: number) => {
      if (ptr + space > mtu) {
        this.#output(buffer, ptr);
        ptr = reserved;
      }
    };
    const header = (cmd: number, frg: number, ts: number, sn: number, len: number) => {
      encodeHeader(buffer, ptr, this.conv, cmd, frg, wnd, ts, sn, una, len);
      ptr += IKCP_OVERHEAD;
    };

    const acks = this.#acklist;
    for (let i = 0; i < acks.length; i += 2) {
      emit(IKCP_OVERHEAD);
      // kcp-go drops acks below rcv_nxt (already covered by una) except the last one
      if (diff(acks[i], this.rcvNxt) >= 0 || i === acks.length - 2) header(IKCP_CMD_ACK, 0, acks[i + 1], acks[i], 0);
    }
    this.#acklist = [];
    if (ackOnly) {
      if (ptr > reserved) this.#output(buffer, ptr);
      return this.interval;
    }

    if (this.rmtWnd === 0) {
      const now = this.#now();
      if (this.probeWait === 0) {
        this.probeWait = IKCP_PROBE_INIT;
        this.tsProbe = (now + this.probeWait) >>> 0;
      } else if (diff(now, this.tsProbe) >= 0) {
        if (this.probeWait < IKCP_PROBE_INIT) this.probeWait = IKCP_PROBE_INIT;
        this.probeWait += this.probeWait >> 1;
        if (this.probeWait > IKCP_PROBE_LIMIT) this.probeWait = IKCP_PROBE_LIMIT;
        this.tsProbe = (now + this.probeWait) >>> 0;
        this.probe |= IKCP_ASK_SEND;
      }
    } else {
      this.tsProbe = 0;
      this.probeWait = 0;
    }
    if (this.probe & IKCP_ASK_SEND) {
      emit(IKCP_OVERHEAD);
      header(IKCP_CMD_WASK, 0, 0, 0, 0);
    }
    if (this.probe & IKCP_ASK_TELL) {
      emit(IKCP_OVERHEAD);
      header(IKCP_CMD_WINS, 0, 0, 0, 0);
    }
    this.probe = 0;

    let cwnd = Math.min(this.sndWnd, this.rmtWnd);
    if (this.nocwnd === 0) cwnd = Math.min(this.cwnd, cwnd);
    let newSegs = 0;
    const q = this.#sndQueue;
    while (newSegs < q.length && diff(this.sndNxt, (this.sndUna + cwnd) >>> 0) < 0) {
      const seg = q.at(newSegs);
      seg.sn = this.sndNxt;
      this.#sndBuf.push(seg);
      this.sndNxt = (this.sndNxt + 1) >>> 0;
      newSegs++;
    }
    if (newSegs) q.dropFront(newSegs);

    const resent = this.fastresend > 0 ? this.fastresend : 0xffffffff;
    let current = this.#now();
    let change = 0, lost = 0, retrans = 0;
    let minrto = this.interval;
    const b = this.#sndBuf;
    for (let k = 0; k < b.length; k++) {
      const seg = b.at(k);
      if (seg.acked) continue;
      let needsend = false;
      if (seg.xmit === 0) {
        needsend = true;
        seg.rto = this.rxRto;
        seg.resendts = (current + seg.rto) >>> 0;
      } else if (seg.fastack >= resent) {
        needsend = true;
        seg.fastack = 0;
        seg.rto = this.rxRto;
        seg.resendts = (current + seg.rto) >>> 0;
        change++;
        retrans++;
      } else if (seg.fastack > 0 && newSegs === 0) {
        needsend = true;
        seg.fastack = 0;
        seg.rto = this.rxRto;
        seg.resendts = (current + seg.rto) >>> 0;
        change++;
        retrans++;
      } else if (diff(current, seg.resendts) >= 0) {
        needsend = true;
        seg.rto += this.nodelay === 0 ? this.rxRto : this.rxRto >> 1;
        seg.fastack = 0;
        seg.resendts = (current + seg.rto) >>> 0;
        lost++;
        retrans++;
      }
      if (needsend) {
        current = this.#now();
        seg.xmit++;
        seg.ts = current;
        seg.wnd = wnd;
        seg.una = una;
        emit(IKCP_OVERHEAD + seg.len);
        header(IKCP_CMD_PUSH, 0, current, seg.sn, seg.len);
        buffer.set(seg.data.subarray(0, seg.len), ptr);
        ptr += seg.len;
        if (seg.xmit >= this.deadLink) this.state = 0xffffffff;
      }
      const rto = diff(seg.resendts, current);
      if (rto > 0 && rto < minrto) minrto = rto;
    }
    if (ptr > reserved) this.#output(buffer, ptr);
    this.counters.retransmits += retrans;

    if (this.nocwnd === 0) {
      if (change > 0) {
        const inflight = (this.sndNxt - this.sndUna) >>> 0;
        this.ssthresh = Math.max(IKCP_THRESH_MIN, inflight >> 1);
        this.cwnd = this.ssthresh + resent;
        this.incr = this.cwnd * this.mss;
      }
      if (lost > 0) {
        this.ssthresh = Math.max(IKCP_THRESH_MIN, cwnd >> 1);
        this.cwnd = 1;
        this.incr = this.mss;
      }
      if (this.cwnd < 1) {
        this.cwnd = 1;
        this.incr = this.mss;
      }
    }
    return minrto;
  }

  /** Drops every queued segment (the session ended). */
  release(): void {
    this.#sndQueue.clear();
    this.#sndBuf.clear();
    this.#rcvBuf.clear();
    this.#rcvQueue.clear();
    this.#acklist = [];
  }
}
