/**
 * Service stats (`enableStats`): counted on the client-side conn as GOST does — +1 total/current on accept,
 * −1 current on close, bytes read from the client are input, bytes written to it are output.
 * @module
 */
import { type Conn, ConnWrapper, nextDatagram } from "../conn.ts";

/** The stats JSON object GOST reports. */
export interface StatsSnapshot {
  /** Connections accepted. */
  totalConns: number;
  /** Connections open now. */
  currentConns: number;
  /** Connections that ended with a server error. */
  totalErrs: number;
  /** Bytes read from clients. */
  inputBytes: number;
  /** Bytes written to clients. */
  outputBytes: number;
}

/**
 * Counters of one service (or one client of a handler).
 * @example
 * const s = new Stats(); s.totalConns++; s.toJSON().totalConns // 1
 */
export class Stats {
  /** Connections accepted. */
  totalConns = 0;
  /** Connections open now. */
  currentConns = 0;
  /** Connections that ended with a server error. */
  totalErrs = 0;
  /** Bytes read from clients. */
  inputBytes = 0;
  /** Bytes written to clients. */
  outputBytes = 0;
  /** With `resetTraffic`, reading bytes returns the delta and zeroes them (GOST's semantics). */
  resetTraffic = false;
  #lastSeen = "";

  /** The snapshot; resets byte counters when {@link resetTraffic} is on. */
  toJSON(): StatsSnapshot {
    const snap = {
      totalConns: this.totalConns,
      currentConns: this.currentConns,
      totalErrs: this.totalErrs,
      inputBytes: this.inputBytes,
      outputBytes: this.outputBytes,
    };
    if (this.resetTraffic) this.inputBytes = this.outputBytes = 0;
    return snap;
  }

  /** True when any counter changed since the last call (observers send only then). */
  isUpdated(): boolean {
    const key = `${this.totalConns},${this.currentConns},${this.totalErrs},${this.inputBytes},${this.outputBytes}`;
    if (key === this.#lastSeen) return false;
    this.#lastSeen = key;
    return true;
  }
}

/**
 * A conn that counts its own traffic (for the close log line) and, when given, a service's {@link Stats}:
 * reads from the client are input, writes to it are output; closing it decrements `currentConns` once.
 */
export class CountingConn extends ConnWrapper {
  readonly #stats: Stats | undefined;
  /** Bytes read from this conn. */
  input = 0;
  /** Bytes written to this conn. */
  output = 0;
  #open = true;

  /** Counts `inner`'s traffic, and in `stats` when given (+1 total and current now). */
  constructor(inner: Conn, stats?: Stats) {
    super(inner);
    this.#stats = stats;
    if (stats) {
      stats.totalConns++;
      stats.currentConns++;
    }
  }
  // Reads and writes count in callbacks made once per conn, not in async methods: an idle relay keeps a read
  // pending for its lifetime, and a suspended async method would hold its frame all along.
  /** Reads and counts the bytes as input. */
  override read(p: Uint8Array): Promise<number | null> {
    return this.inner.read(p).then(this.#countIn);
  }
  /** Reads the next datagram and counts it as input. */
  override readDatagram(): Promise<Uint8Array | null> {
    return nextDatagram(this.inner).then(this.#countDatagramIn);
  }
  /** Writes and counts the bytes as output. */
  override write(p: Uint8Array): Promise<number> {
    return this.inner.write(p).then(this.#countOut);
  }
  readonly #countDatagramIn = (d: Uint8Array | null): Uint8Array | null => {
    if (d) this.#countIn(d.length);
    return d;
  };
  readonly #countIn = (n: number | null): number | null => {
    if (n) {
      this.input += n;
      if (this.#stats) this.#stats.inputBytes += n;
    }
    return n;
  };
  readonly #countOut = (n: number): number => {
    this.output += n;
    if (this.#stats) this.#stats.outputBytes += n;
    return n;
  };
  /** Closes once; later calls do nothing (closing twice would throw and cost an exception per conn). */
  override close(): void {
    if (!this.#open) return;
    this.#open = false;
    if (this.#stats) this.#stats.currentConns--;
    this.inner.close();
  }
}
