/**
 * A data source read from a file and re-read every `reload` period, as GOST's `file: {path}` + `reload` of authers,
 * bypasses, admissions, hosts and hops (README.md, "Data sources: file and reload"). The file is read once at start
 * (an unreadable file is an error then: there is no last good set); each period it is re-read and, when its text
 * changed, parsed by the kind's parser (in turns: core/routing/turns.ts; the current set answers meanwhile) and
 * swapped in at once when complete; a reload asked for while one runs shares it. Bad lines are warned about naming
 * `path:line` while the good ones apply; an unreadable file keeps the last good set (warned once per distinct error).
 * The timer is unref'd (the services keep the process alive) and stopped by `close()`.
 * @module
 */
import { ConfigError, errorMessage } from "../errors.ts";
import type { Logger } from "../log.ts";
import { parseDuration } from "../metadata.ts";
import { nextTurn, Turns } from "./turns.ts";

/** GOST's shortest reload period: a smaller positive one is raised to it. */
export const MIN_RELOAD_MS = 1000;

/** The largest data file read (64 MiB): a bigger one is an error, never a partial read. */
export const MAX_SOURCE_FILE_BYTES = 64 << 20;

/** At most this many bad lines are warned about one by one per read; the rest are counted. */
export const MAX_WARNED_LINES = 20;

/** A line that was skipped (or overridden), for a warning naming the file and the line. */
export interface LineProblem {
  /** The 1-based line number. */
  line: number;
  /** What is wrong with it. */
  message: string;
}

/** One entry line of a data file: blanks trimmed, tabs turned into spaces, comments cut. */
export interface SourceLine {
  /** The 1-based line number. */
  line: number;
  /** The line's text. */
  text: string;
}

/**
 * GOST's line format: one entry per line; blank lines and `#` comments are skipped.
 * @param inlineComments true: `#` starts a comment anywhere in the line (bypass, admission and hosts files); false:
 *   only a line whose first non-blank character is `#` is a comment (auth files, whose passwords may hold `#`)
 * @example sourceLines("# lan\n10.0.0.0/8  # office\n\n.example.com\n") // [{line: 2, text: "10.0.0.0/8"}, {line: 4, text: ".example.com"}]
 */
export function sourceLines(text: string, inlineComments = true): SourceLine[] {
  const out: SourceLine[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const t = entryText(lines[i], inlineComments);
    if (t) out.push({ line: i + 1, text: t });
  }
  return out;
}

/** One raw line's entry text (comments cut, blanks trimmed), or "" for a comment or blank line. */
function entryText(raw: string, inlineComments: boolean): string {
  let t = raw;
  if (inlineComments) {
    const hash = t.indexOf("#");
    if (hash >= 0) t = t.slice(0, hash);
  }
  t = t.replaceAll("\t", " ").trim();
  return t.startsWith("#") ? "" : t;
}

/**
 * Parses each entry line with `parse`; a line it throws on becomes a problem (its message) and is skipped. Every few
 * milliseconds of work it lets the event loop run ({@link Turns}), so that a big file does not hold up the
 * connections; the text is cut into lines as it goes.
 * @example await parseLines("10.0.0.1\nbad\n", (t) => { if (t === "bad") throw new Error("no"); return t; })
 * // { entries: ["10.0.0.1"], problems: [{ line: 2, message: "no" }] }
 */
export async function parseLines<E>(
  text: string,
  parse: (text: string, line: number) => E,
  turns: Turns = new Turns(),
): Promise<{ entries: E[]; problems: LineProblem[] }> {
  const entries: E[] = [];
  const problems: LineProblem[] = [];
  for (let at = 0, line = 1; at <= text.length; line++) {
    if (turns.due()) await turns.next();
    let end = text.indexOf("\n", at);
    if (end < 0) end = text.length;
    const t = entryText(text.slice(at, end), true);
    at = end + 1;
    if (!t) continue;
    try {
      entries.push(parse(t, line));
    } catch (err) {
      problems.push({ line, message: errorMessage(err) });
    }
  }
  return { entries, problems };
}

/** `KIND file PATH:LINE: message` for each problem. */
export function problemLines(kind: string, path: string, problems: readonly LineProblem[]): string[] {
  return problems.map((p) => `${kind} file ${path}:${p.line}: ${p.message}`);
}

function checkSize(path: string, info: Deno.FileInfo, max: number, what: string): void {
  if (!info.isFile) throw new Error(`${path} is not a regular file`);
  if (info.size > max) throw new Error(`${path} is ${info.size} bytes, more than the ${max} ${what} may have`);
}

/**
 * Reads a data file's text (a regular file of at most `max` bytes).
 * @param what the file's kind for messages (`an auth file`)
 * @throws {Error} when it cannot be read, is not a regular file or is too big
 */
export function readSourceText(path: string, max = MAX_SOURCE_FILE_BYTES, what = "a data file"): string {
  checkSize(path, Deno.statSync(path), max, what);
  const text = Deno.readTextFileSync(path);
  if (text.length > max) throw new Error(`${path} grew past ${max} bytes`);
  return text;
}

/** How many bytes {@link readSourceTextAsync} decodes in one turn. */
const DECODE_CHUNK = 256 << 10;

/**
 * {@link readSourceText}, without blocking: read off the event loop, decoded as UTF-8 {@link DECODE_CHUNK} bytes a
 * turn (a 4 MB file decoded at once would hold the event loop some 15 ms).
 */
export async function readSourceTextAsync(
  path: string,
  max = MAX_SOURCE_FILE_BYTES,
  what = "a data file",
): Promise<string> {
  checkSize(path, await Deno.stat(path), max, what);
  const bytes = await Deno.readFile(path);
  if (bytes.length > max) throw new Error(`${path} grew past ${max} bytes`);
  const decoder = new TextDecoder();
  const parts: string[] = [];
  for (let at = 0; at < bytes.length; at += DECODE_CHUNK) {
    if (at > 0) await nextTurn();
    parts.push(decoder.decode(bytes.subarray(at, at + DECODE_CHUNK), { stream: true }));
  }
  parts.push(decoder.decode());
  return parts.join("");
}

/** What a kind's parser makes of a file's text. */
export interface ParsedSource<T> {
  /** The new set (swapped in whole). */
  value: T;
  /** How many entries it has, for the `reloaded` line (`3 matcher(s)`). */
  count: number;
  /** The lines that were skipped. */
  problems: readonly LineProblem[];
}

/** Options of {@link FileSource}. */
export interface FileSourceOptions<T> {
  /** Whose data it is, for messages (`bypass b1`). */
  owner: string;
  /** The kind of file, for the warnings about bad lines (`bypass` gives `bypass file PATH:LINE: …`). */
  kind: string;
  /** The file. */
  path: string;
  /** What an entry is called in the `reloaded` line (`matcher(s)`). */
  unit: string;
  /** Re-read period in ms; 0 or absent reads the file once. */
  reloadMs?: number;
  /** The largest file read (default {@link MAX_SOURCE_FILE_BYTES}). */
  maxBytes?: number;
  /** Where warnings and reload lines go. */
  logger: Logger;
  /**
   * Turns the file's text into the set; it may be async (resolving names, building nodes). It throws only when the
   * whole text is unusable: at start that is an error, on a reload the last good set stays.
   */
  parse(text: string): ParsedSource<T> | Promise<ParsedSource<T>>;
  /** Called with each new set after a reload swapped it in. */
  onChange?: (value: T) => void;
}

/**
 * A file's current set, re-read every `reloadMs`.
 * @example
 * const src = await FileSource.open({ owner: "bypass b", kind: "bypass", path: "bypass.txt", unit: "matcher(s)",
 *   reloadMs: 10_000, logger, parse: async (text) => { const { entries, problems } = await parseLines(text, (t) => t);
 *   return { value: entries, count: entries.length, problems }; } });
 * src.value; // the matchers now
 * src.close();
 */
export class FileSource<T> {
  /** Called with each new set after a reload swapped it in. */
  onChange?: (value: T) => void;
  readonly #opts: FileSourceOptions<T>;
  readonly #periodMs: number;
  #value: T;
  #count: number;
  #lastText: string;
  #lastError = "";
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #reloading: Promise<boolean> | undefined;

  private constructor(opts: FileSourceOptions<T>, text: string, parsed: ParsedSource<T>) {
    this.#opts = opts;
    this.onChange = opts.onChange;
    this.#periodMs = opts.reloadMs && opts.reloadMs > 0 ? Math.max(opts.reloadMs, MIN_RELOAD_MS) : 0;
    this.#lastText = text;
    this.#value = parsed.value;
    this.#count = parsed.count;
    this.#warn(parsed.problems);
    this.#schedule();
  }

  /**
   * Reads and parses the file now (synchronously: `parse` must not be async) and starts the reload timer.
   * @throws {Error} when the file cannot be read at startup (there is no last good set to keep)
   */
  static openSync<T>(opts: FileSourceOptions<T>): FileSource<T> {
    const text = readSourceText(opts.path, opts.maxBytes);
    const parsed = opts.parse(text);
    if (parsed instanceof Promise) throw new TypeError("FileSource.openSync needs a synchronous parser");
    return new FileSource(opts, text, parsed);
  }

  /**
   * Reads and parses the file and starts the reload timer.
   * @throws {Error} when the file cannot be read at startup (there is no last good set to keep)
   */
  static async open<T>(opts: FileSourceOptions<T>): Promise<FileSource<T>> {
    const text = await readSourceTextAsync(opts.path, opts.maxBytes);
    return new FileSource(opts, text, await opts.parse(text));
  }

  /** The current set. */
  get value(): T {
    return this.#value;
  }

  /** The number of entries of the current set. */
  get count(): number {
    return this.#count;
  }

  /** The re-read period in ms (0: none), after raising a small one to {@link MIN_RELOAD_MS}. */
  get periodMs(): number {
    return this.#periodMs;
  }

  /**
   * Re-reads the file now. Unreadable, or unusable as a whole (a node file that is not JSON): the current set stays
   * (warned once per distinct error). Unchanged: nothing. Changed: its good lines replace the set, bad lines are
   * warned about. Concurrent calls share one re-read.
   * @returns true when the set was replaced
   */
  reload(): Promise<boolean> {
    this.#reloading ??= this.#reload().finally(() => this.#reloading = undefined);
    return this.#reloading;
  }

  /** Stops the reload timer. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #reload(): Promise<boolean> {
    const { owner, path, logger, unit } = this.#opts;
    let text: string;
    let parsed: ParsedSource<T>;
    try {
      text = await readSourceTextAsync(path, this.#opts.maxBytes);
      if (this.#closed || text === this.#lastText) {
        this.#lastError = "";
        return false;
      }
      parsed = await this.#opts.parse(text);
    } catch (err) {
      const msg = errorMessage(err);
      if (msg !== this.#lastError) {
        this.#lastError = msg;
        logger.warn(`${owner}: reload ${path}: ${msg}; keeping the last ${this.#count} ${unit}`);
      }
      return false;
    }
    this.#lastError = "";
    if (this.#closed) return false;
    this.#lastText = text;
    this.#value = parsed.value;
    this.#count = parsed.count;
    this.#warn(parsed.problems);
    logger.info(`${owner}: reloaded ${path}: ${this.#count} ${unit}`);
    this.onChange?.(parsed.value);
    return true;
  }

  #warn(problems: readonly LineProblem[]): void {
    const { owner, kind, path, logger } = this.#opts;
    const shown = problems.slice(0, MAX_WARNED_LINES);
    for (const line of problemLines(kind, path, shown)) logger.warn(`${owner}: ${line}`);
    if (problems.length > shown.length) {
      logger.warn(`${owner}: ${kind} file ${path}: ${problems.length - shown.length} more bad line(s) skipped`);
    }
  }

  #schedule(): void {
    if (!this.#periodMs || this.#closed) return;
    const timer = setTimeout(async () => {
      this.#timer = undefined;
      try {
        await this.reload();
      } catch (err) {
        this.#opts.logger.warn(`${this.#opts.owner}: reload ${this.#opts.path}: ${errorMessage(err)}`);
      }
      this.#schedule();
    }, this.#periodMs);
    this.#timer = timer;
    // the services keep the process alive, not this timer
    Deno.unrefTimer(timer as unknown as number);
  }
}

/** An object's `file: {path}` and `reload`, checked. */
export interface FileSettings {
  /** The file (absent: the object has inline data only). */
  path?: string;
  /** The re-read period in ms (0: read once). */
  reloadMs: number;
}

/**
 * Reads `file.path` and `reload` of an object.
 * @param where `KIND.NAME` of a named object, or a function making the error for a key of the object
 * @throws {ConfigError} naming `KIND.NAME.file.path` or `KIND.NAME.reload` and the value
 * @example fileSettings("bypasses.b", { file: { path: "/etc/gost/bypass.txt" }, reload: "10s" })
 * // { path: "/etc/gost/bypass.txt", reloadMs: 10000 }
 */
export function fileSettings(
  where: string | ((key: string[], message: string) => Error),
  cfg: Readonly<Record<string, unknown>>,
): FileSettings {
  const fail = typeof where === "string"
    ? (key: string[], message: string) => new ConfigError(`${where}.${key.join(".")}: ${message}`)
    : where;
  let reloadMs = 0;
  if (cfg.reload !== undefined && cfg.reload !== null && cfg.reload !== "") {
    try {
      reloadMs = parseDuration(cfg.reload, "reload");
    } catch (err) {
      throw fail(["reload"], errorMessage(err));
    }
  }
  if (cfg.file === undefined || cfg.file === null) return { reloadMs };
  const path = (cfg.file as { path?: unknown }).path;
  if (typeof path !== "string" || !path) {
    throw fail(["file", "path"], `the path of the file is required (got ${JSON.stringify(cfg.file)})`);
  }
  return { path, reloadMs };
}
