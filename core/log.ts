/**
 * Structured logging in GOST's formats: JSON lines (default) or text, to stderr, stdout, a file or nowhere.
 * Child loggers carry fields (`service`, `sid`, `remote`, …) that every line repeats.
 * @module
 */
import { ConfigError } from "./errors.ts";

/** Log levels from the most to the least verbose, as GOST names them. */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = typeof LOG_LEVELS[number];
/** Line formats. */
export type LogFormat = "json" | "text";
/** Extra key/values printed with a line. */
export type LogFields = Record<string, unknown>;

/** Where lines go: anything with a synchronous write. */
export interface LogSink {
  write(line: string): void;
  close?(): void;
}

/** The `log` block of the config (`log: {level, format, output}`). */
export interface LogOptions {
  level?: string;
  format?: string;
  output?: string;
}

const encoder = new TextEncoder();

function writeAll(w: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += w.writeSync(bytes.subarray(off));
}

/** A sink that writes to a Deno stream or file synchronously, so nothing is lost at exit. */
export class StreamSink implements LogSink {
  #w: { writeSync(p: Uint8Array): number; close?(): void };
  #owned: boolean;
  constructor(w: { writeSync(p: Uint8Array): number; close?(): void }, owned = false) {
    this.#w = w;
    this.#owned = owned;
  }
  write(line: string): void {
    try {
      writeAll(this.#w, encoder.encode(line));
    } catch {
      // a closed pipe must never crash the proxy
    }
  }
  close(): void {
    if (this.#owned) this.#w.close?.();
  }
}

/** A sink that keeps lines in memory (tests). */
export class MemorySink implements LogSink {
  readonly lines: string[] = [];
  write(line: string): void {
    this.lines.push(line);
  }
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, "0");
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

function textValue(v: unknown): string {
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return /[\s"=]/.test(s) ? JSON.stringify(s) : s;
}

/**
 * A leveled structured logger. `child()` adds fields without copying the sink.
 * @example
 * const log = createLogger({ level: "debug", format: "text" });
 * log.child({ service: "service-0" }).info("service service-0 is running");
 */
export class Logger {
  readonly #sink: LogSink;
  readonly #min: number;
  readonly #format: LogFormat;
  readonly #fields: LogFields;

  constructor(sink: LogSink, level: LogLevel = "info", format: LogFormat = "json", fields: LogFields = {}) {
    this.#sink = sink;
    this.#min = LOG_LEVELS.indexOf(level);
    this.#format = format;
    this.#fields = fields;
  }

  /** The lowest level this logger prints. */
  get level(): LogLevel {
    return LOG_LEVELS[this.#min];
  }

  /** Tells whether lines at `level` are printed (use it to skip building costly messages). */
  enabled(level: LogLevel): boolean {
    return LOG_LEVELS.indexOf(level) >= this.#min;
  }

  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger {
    return new Logger(this.#sink, this.level, this.#format, { ...this.#fields, ...fields });
  }

  trace(msg: string, fields?: LogFields): void {
    if (this.#min <= 0) this.#emit("trace", msg, fields);
  }
  debug(msg: string, fields?: LogFields): void {
    if (this.#min <= 1) this.#emit("debug", msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    if (this.#min <= 2) this.#emit("info", msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    if (this.#min <= 3) this.#emit("warn", msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    if (this.#min <= 4) this.#emit("error", msg, fields);
  }
  fatal(msg: string, fields?: LogFields): void {
    this.#emit("fatal", msg, fields);
  }

  /** Releases the sink (closes a log file). */
  close(): void {
    this.#sink.close?.();
  }

  #emit(level: LogLevel, msg: string, fields?: LogFields): void {
    const time = formatTime(new Date());
    const all = fields ? { ...this.#fields, ...fields } : this.#fields;
    if (this.#format === "json") {
      this.#sink.write(JSON.stringify({ level, msg, time, ...all }) + "\n");
    } else {
      let line = `${time} ${level} ${msg}`;
      for (const [k, v] of Object.entries(all)) if (v !== undefined) line += ` ${k}=${textValue(v)}`;
      this.#sink.write(line + "\n");
    }
  }
}

function openSink(output: string): LogSink {
  switch (output) {
    case "":
    case "stderr":
      return new StreamSink(Deno.stderr);
    case "stdout":
      return new StreamSink(Deno.stdout);
    case "none":
    case "null":
      return { write() {} };
    default: {
      const dir = output.replace(/[/\\][^/\\]*$/, "");
      if (dir && dir !== output) Deno.mkdirSync(dir, { recursive: true });
      return new StreamSink(Deno.openSync(output, { create: true, append: true }), true);
    }
  }
}

/**
 * Builds a logger from the config's `log` block.
 * @throws {ConfigError} on an unknown level or format
 */
export function createLogger(opts: LogOptions = {}, sink?: LogSink): Logger {
  const level = (opts.level || "info").toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError(`Unknown log level "${opts.level}": supported are ${LOG_LEVELS.join(", ")}`);
  }
  const format = (opts.format || "json").toLowerCase();
  if (format !== "json" && format !== "text") {
    throw new ConfigError(`Unknown log format "${opts.format}": supported are json, text`);
  }
  return new Logger(sink ?? openSink(opts.output ?? "stderr"), level as LogLevel, format);
}

/** A logger that prints nothing (library default and tests). */
export const nopLogger: Logger = new Logger({ write() {} }, "fatal");
