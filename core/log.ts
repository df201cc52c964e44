/**
 * Structured logging in GOST's formats: JSON lines (default) or text (slog's `key=value` lines, core/log_text.ts),
 * to stderr, stdout, a file or nowhere.
 * Child loggers carry fields (`service`, `sid`, `remote`, …) that every line repeats.
 * @module
 */
import { ConfigError } from "./errors.ts";
import { LineLimiter } from "./log_limit.ts";
import { RotatingFileSink, writeAllSync } from "./log_rotate.ts";
import { textLine } from "./log_text.ts";
import type { LogRotation, LogSink } from "./log_sink.ts";

export type { LogRotation, LogSink } from "./log_sink.ts";

/** Log levels from the most to the least verbose, as GOST names them. */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = typeof LOG_LEVELS[number];
/** Line formats. */
export type LogFormat = "json" | "text";
/** Extra key/values printed with a line. */
export type LogFields = Record<string, unknown>;

/** The `log` block of the config (`log: {level, format, output, rotation}`). */
export interface LogOptions {
  /** Lowest level printed: trace, debug, info (default), warn, error, fatal. */
  level?: string;
  /** `json` (default) or `text`. */
  format?: string;
  /** `stderr` (default), `stdout`, `none`, or a file path. */
  output?: string;
  /** Rotation of a log file (`maxSize`, `maxBackups`, …). */
  rotation?: LogRotation;
}

/** One destination of a logger: a sink with its own level and format (a logger group has several). */
export interface LogOutput {
  /** Where the lines go. */
  readonly sink: LogSink;
  /** The lowest level this output prints. */
  readonly level: LogLevel;
  /** The line format of this output. */
  readonly format: LogFormat;
}

const encoder = new TextEncoder();

/** Lines of one microtask run are written together up to this many characters; past it they go out at once. */
const BATCH_CHARS = 64 * 1024;
/** UTF-8 of a batch is written from this buffer (no new buffer per write); sized for a full batch. */
const scratch = new Uint8Array(BATCH_CHARS * 3);

/** `text` as UTF-8, in the shared scratch buffer when it fits (valid until the next call). */
function encodeScratch(text: string): Uint8Array {
  if (text.length * 3 > scratch.length) return encoder.encode(text);
  return scratch.subarray(0, encoder.encodeInto(text, scratch).written);
}

/** Stream sinks holding lines not yet written. */
const unflushed = new Set<StreamSink>();

/**
 * Writes out every line still held by a {@link StreamSink}. Call it before `Deno.exit()`, which runs no handlers.
 */
export function flushLogs(): void {
  for (const s of unflushed) s.flush();
}

/**
 * A sink that writes to a Deno stream or file. Lines logged in one run of the microtask queue (one event-loop turn
 * of the proxy: every conn that made progress) go out in one synchronous write at its end, instead of a system
 * call each; a line is therefore out of the process before the event loop waits again. {@link flushLogs} writes
 * them at once (exit paths).
 */
export class StreamSink implements LogSink {
  #w: { writeSync(p: Uint8Array): number; close?(): void } | null;
  #owned: boolean;
  #pending = "";
  readonly #flushSoon = () => this.flush();
  /** A sink over `w`; `owned` means `close()` also closes `w`. */
  constructor(w: { writeSync(p: Uint8Array): number; close?(): void }, owned = false) {
    this.#w = w;
    this.#owned = owned;
  }
  /** Queues `line`; it is written by the end of the current microtask run. */
  write(line: string): void {
    if (!this.#w) return;
    if (this.#pending === "") {
      unflushed.add(this);
      queueMicrotask(this.#flushSoon);
    }
    this.#pending += line;
    if (this.#pending.length >= BATCH_CHARS) this.flush();
  }
  /** Writes the held lines now. */
  flush(): void {
    const text = this.#pending;
    if (text === "") return;
    this.#pending = "";
    unflushed.delete(this);
    if (!this.#w) return;
    try {
      writeAllSync(this.#w, encodeScratch(text));
    } catch {
      // a closed pipe must never crash the proxy
    }
  }
  close(): void {
    this.flush();
    if (this.#owned) {
      try {
        this.#w?.close?.();
      } catch {
        // already closed
      }
      this.#w = null;
    }
  }
}

/** A sink that keeps lines in memory (tests). */
export class MemorySink implements LogSink {
  /** Every line written, in order. */
  readonly lines: string[] = [];
  /** Keeps `line`. */
  write(line: string): void {
    this.lines.push(line);
  }
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, "0");
}

let lastMs = -1;
let lastText = "";

/** {@link formatTime} of now, reusing the text while the millisecond is the same (many lines share one). */
export function nowText(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastText = formatTime(new Date(ms));
  }
  return lastText;
}

/** Formats a time as GOST does: `2006-01-02T15:04:05.000Z07:00` in local time. */
export function formatTime(d: Date): string {
  const off = -d.getTimezoneOffset();
  const zone = off === 0
    ? "Z"
    : `${off > 0 ? "+" : "-"}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${
    pad(d.getSeconds())
  }.${pad(d.getMilliseconds(), 3)}${zone}`;
}

/**
 * A leveled structured logger. `child()` adds fields and shares the outputs; a logger made by {@link Logger.group}
 * writes every line to each output that accepts its level (GOST's logger group). Identical info, warn and error
 * lines are rate-limited ({@link LineLimiter}, shared by a logger and its children).
 * @example
 * const log = createLogger({ level: "debug", format: "text" });
 * log.child({ service: "service-0" }).info("service service-0 is running");
 */
export class Logger {
  readonly #outputs: readonly LogOutput[];
  readonly #min: number;
  readonly #fields: LogFields;
  /** `,"k":v…` of {@link #fields}, made once (each connection's logger prints several lines). */
  #jsonFields: string | undefined;
  /** Shared with the children; made on first use (a connection's logger must not cost one). */
  #limiter: LineLimiter | undefined;

  /**
   * A logger with one sink, or (second form) with several outputs, each with its own level and format.
   * @param sink where lines go; @param level lowest level printed (default info); @param format default json
   * @param fields key/values every line repeats
   */
  constructor(sink: LogSink, level?: LogLevel, format?: LogFormat, fields?: LogFields);
  /** A logger writing to several outputs, each with its own level and format. */
  constructor(outputs: readonly LogOutput[], fields?: LogFields);
  constructor(a: LogSink | readonly LogOutput[], b?: LogLevel | LogFields, format?: LogFormat, fields?: LogFields) {
    if (Array.isArray(a)) {
      this.#outputs = a;
      this.#fields = (b as LogFields | undefined) ?? {};
    } else {
      this.#outputs = [{ sink: a as LogSink, level: (b as LogLevel | undefined) ?? "info", format: format ?? "json" }];
      this.#fields = fields ?? {};
    }
    let min: number = LOG_LEVELS.length;
    for (const o of this.#outputs) min = Math.min(min, LOG_LEVELS.indexOf(o.level));
    this.#min = min;
  }

  /** A logger writing to every output of `loggers` (fields of the members are not kept). */
  static group(loggers: readonly Logger[]): Logger {
    return new Logger(loggers.flatMap((l) => l.#outputs));
  }

  /** The lowest level any output prints. */
  get level(): LogLevel {
    return LOG_LEVELS[Math.min(this.#min, LOG_LEVELS.length - 1)];
  }

  /** Tells whether lines at `level` are printed (use it to skip building costly messages). */
  enabled(level: LogLevel): boolean {
    return LOG_LEVELS.indexOf(level) >= this.#min;
  }

  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger {
    const c = new Logger(this.#outputs, { ...this.#fields, ...fields });
    c.#limiter = this.#limiter ??= new LineLimiter();
    // The parent's fields text is a prefix of the child's when no key repeats (the usual case: one per connection):
    // made once and shared, so a connection's logger keeps only its own fields' text.
    if (!sharesKey(fields, this.#fields)) {
      c.#jsonFields = (this.#jsonFields ??= jsonMembers(this.#fields)) + jsonMembers(fields);
    }
    return c;
  }

  /** Logs at trace level. */
  trace(msg: string, fields?: LogFields): void {
    if (this.#min <= 0) this.#emit(0, msg, fields);
  }
  /** Logs at debug level. */
  debug(msg: string, fields?: LogFields): void {
    if (this.#min <= 1) this.#emit(1, msg, fields);
  }
  /** Logs at info level. */
  info(msg: string, fields?: LogFields): void {
    if (this.#min <= 2) this.#emit(2, msg, fields);
  }
  /** Logs at warn level. */
  warn(msg: string, fields?: LogFields): void {
    if (this.#min <= 3) this.#emit(3, msg, fields);
  }
  /** Logs at error level. */
  error(msg: string, fields?: LogFields): void {
    if (this.#min <= 4) this.#emit(4, msg, fields);
  }
  /** Logs at fatal level, whatever the level set. */
  fatal(msg: string, fields?: LogFields): void {
    this.#emit(5, msg, fields);
  }

  /**
   * Releases the sinks (closes log files) once every pending rotation is done. Never rejects; awaiting it is
   * optional, as every line is already written when a log call returns.
   */
  async close(): Promise<void> {
    this.#limiter?.flush();
    await Promise.all(this.#outputs.map((o) => o.sink.close?.()));
  }

  /** One JSON line: `{"time","level","msg",…fields}` (slog's order) built from the cached fields text. */
  #json(level: string, msg: string, time: string, fields?: LogFields): string {
    if (fields && sharesKey(fields, this.#fields)) {
      return JSON.stringify({ time, level, msg, ...this.#fields, ...fields }) + "\n";
    }
    this.#jsonFields ??= jsonMembers(this.#fields);
    return `{"time":"${time}","level":"${level}","msg":${jsonText(msg)}${this.#jsonFields}${
      fields ? jsonMembers(fields) : ""
    }}\n`;
  }

  /** Writes a line unless it is one identical line too many (info, warn and error). */
  #emit(rank: number, msg: string, fields?: LogFields): void {
    if (rank >= 2 && rank <= 4 && !(this.#limiter ??= new LineLimiter()).admit(rank, msg)) {
      this.#limiter.onSummary(rank, msg, (suppressed) => this.#write(rank, msg, { ...fields, suppressed }));
      return;
    }
    this.#write(rank, msg, fields);
  }

  #write(rank: number, msg: string, fields?: LogFields): void {
    const level = LOG_LEVELS[rank];
    const time = nowText();
    let json: string | undefined;
    let text: string | undefined;
    for (const out of this.#outputs) {
      if (LOG_LEVELS.indexOf(out.level) > rank) continue;
      if (out.format === "json") {
        json ??= this.#json(level, msg, time, fields);
        out.sink.write(json);
      } else {
        text ??= textLine(time, level, msg, fields ? { ...this.#fields, ...fields } : this.#fields);
        out.sink.write(text);
      }
    }
  }
}

/** Tells whether `a` has a key of `b`. */
function sharesKey(a: LogFields, b: LogFields): boolean {
  for (const k in a) if (k in b) return true;
  return false;
}

/** Printable ASCII without `"` and `\`: such a string is its own JSON text between quotes. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** JSON text of a field name or value, skipping JSON.stringify for the common plain strings and numbers. */
function jsonText(v: unknown): string {
  if (typeof v === "string") return PLAIN.test(v) ? `"${v}"` : JSON.stringify(v);
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return JSON.stringify(v);
}

/**
 * `,"k":v` for each defined field, as JSON.stringify would write them. Joined, not concatenated: a logger keeps its
 * fields text for the connection's life, and a joined string is one flat string where `+=` leaves a tree of pieces.
 */
function jsonMembers(fields: LogFields): string {
  const parts: string[] = [];
  for (const k in fields) {
    const v = fields[k];
    if (v === undefined || typeof v === "function" || typeof v === "symbol") continue;
    parts.push(",", jsonText(k), ":", jsonText(v));
  }
  return parts.join("");
}

/** A sink that drops every line (`output: none`). */
export const nullSink: LogSink = { write() {} };

/**
 * Opens the sink for an `output` value: `stderr` (default), `stdout`, `none`/`null`, or a file path (directories
 * are created, the file is appended to; with `rotation` it is rotated as lumberjack does).
 * @param onError told about rotation failures (a full disk must not stop the proxy)
 * @throws Deno permission errors for the file (`--allow-write`, and `--allow-read` for rotation)
 */
export function openSink(output?: string, rotation?: LogRotation, onError?: (message: string) => void): LogSink {
  const out = output ?? "";
  switch (out) {
    case "":
    case "stderr":
      return new StreamSink(Deno.stderr);
    case "stdout":
      return new StreamSink(Deno.stdout);
    case "none":
    case "null":
      return nullSink;
  }
  if (rotation) return new RotatingFileSink(out, rotation, onError);
  const dir = out.replace(/[/\\][^/\\]*$/, "");
  if (dir && dir !== out) Deno.mkdirSync(dir, { recursive: true });
  return new StreamSink(Deno.openSync(out, { create: true, append: true }), true);
}

/**
 * Checks a level and a format name (case-insensitive) and returns them normalised.
 * @throws {ConfigError} on an unknown level or format
 */
export function parseLevelFormat(opts: LogOptions): { level: LogLevel; format: LogFormat } {
  const level = (opts.level || "info").toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError(`Unknown log level "${opts.level}": supported are ${LOG_LEVELS.join(", ")}`);
  }
  const format = (opts.format || "json").toLowerCase();
  if (format !== "json" && format !== "text") {
    throw new ConfigError(`Unknown log format "${opts.format}": supported are json, text`);
  }
  return { level: level as LogLevel, format };
}

/**
 * Builds a logger from a `log` block (see `buildLoggers` in loggers.ts for `loggers` and per-service loggers).
 * @param sink where lines go instead of `opts.output` (tests)
 * @throws {ConfigError} on an unknown level or format
 */
export function createLogger(opts: LogOptions = {}, sink?: LogSink): Logger {
  const { level, format } = parseLevelFormat(opts);
  return new Logger(sink ?? openSink(opts.output, opts.rotation), level, format);
}

/** A logger that prints nothing (library default and tests). */
export const nopLogger: Logger = new Logger(nullSink, "fatal");
