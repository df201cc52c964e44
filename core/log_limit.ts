/**
 * Rate limiting of identical log lines, so that a flood of one message (a client's garbage repeated from many
 * connections) cannot fill the disk: each message text at each level gets {@link LINE_BURST} lines per
 * {@link LINE_WINDOW_MS}; past that, lines are counted instead of written, and when the window ends one line with
 * the same text and a `suppressed` field says how many were left out. Lines differ by their message only (the
 * fields of a connection are not part of it): one client or a thousand sending the same bad bytes is one message.
 * Trace and debug lines are never limited (asked for when debugging).
 * @module
 */

/** Lines of one message written per window. */
export const LINE_BURST = 10;
/** The window (ms). */
export const LINE_WINDOW_MS = 1000;
/** Messages tracked at once; the oldest is forgotten past this (its count starts again). */
const MAX_MESSAGES = 1024;

interface Entry {
  /** When the window began (ms). */
  start: number;
  /** Lines written in the window. */
  written: number;
  /** Lines left out in the window. */
  suppressed: number;
  /** Writes the summary line of the window (through the logger of the last line left out). */
  report: ((suppressed: number) => void) | null;
}

/**
 * Decides whether a line may be written, per level and message text.
 * @example
 * const limit = new LineLimiter();
 * if (!limit.admit(3, "Bad version 0x04")) limit.onSummary(3, "Bad version 0x04", (n) => write(n));
 */
export class LineLimiter {
  /** One map per level (no key string built per line). */
  readonly #levels = new Map<number, Map<string, Entry>>();
  readonly #now: () => number;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** @param now the clock (tests) */
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Tells whether a line at level `rank` with text `msg` may be written now; if not, counts it as left out. */
  admit(rank: number, msg: string): boolean {
    let level = this.#levels.get(rank);
    if (!level) this.#levels.set(rank, level = new Map());
    const now = this.#now();
    const e = level.get(msg);
    if (!e) {
      if (level.size >= MAX_MESSAGES) this.#forgetOldest(level);
      level.set(msg, { start: now, written: 1, suppressed: 0, report: null });
      return true;
    }
    if (now - e.start >= LINE_WINDOW_MS) {
      this.#close(e);
      e.start = now;
      e.written = 1;
      return true;
    }
    if (e.written < LINE_BURST) {
      e.written++;
      return true;
    }
    e.suppressed++;
    this.#timer ??= this.#startTimer();
    return false;
  }

  /** Sets how the summary of the window that just left a line out is written (the latest line's logger). */
  onSummary(rank: number, msg: string, report: (suppressed: number) => void): void {
    const e = this.#levels.get(rank)?.get(msg);
    if (e) e.report = report;
  }

  /** Writes the summary of every window that left lines out (at exit, and by the timer). */
  flush(all = true): void {
    const now = this.#now();
    let pending = false;
    for (const level of this.#levels.values()) {
      for (const e of level.values()) {
        if (!e.suppressed) continue;
        if (all || now - e.start >= LINE_WINDOW_MS) this.#close(e);
        else pending = true;
      }
    }
    if (!pending && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  #close(e: Entry): void {
    const { suppressed, report } = e;
    e.suppressed = 0;
    e.report = null;
    if (suppressed && report) report(suppressed);
  }

  #forgetOldest(level: Map<string, Entry>): void {
    const [msg, e] = level.entries().next().value!;
    this.#close(e);
    level.delete(msg);
  }

  #startTimer(): ReturnType<typeof setInterval> {
    const t = setInterval(() => this.flush(false), LINE_WINDOW_MS);
    Deno.unrefTimer(t as unknown as number);
    return t;
  }
}
