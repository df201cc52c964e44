/**
 * A log file that rotates itself, with the semantics of lumberjack (the Go package GOST uses for
 * `log.rotation`): when a line would take the file past `maxSize` MB, the file is renamed to
 * `<name>-<time><ext>` (time `2006-01-02T15-04-05.000`, UTC unless `localTime`) and a new one is started; then,
 * in the background, backups beyond `maxBackups` or older than `maxAge` days (by the time in their name) are
 * removed and the others gzipped when `compress` is set. Writes are synchronous: a line is in the file when the
 * log call returns, so nothing is lost at exit. A backup is compressed to a temporary file renamed into place, so
 * an exit mid-way loses nothing either: the next rotation (or start) compresses it again.
 * @module
 */
import { ConfigError, errorMessage } from "./errors.ts";
import type { LogRotation, LogSink } from "./log_sink.ts";

const MB = 1024 * 1024;
/** lumberjack's default `maxSize`, in MB. */
export const DEFAULT_MAX_SIZE_MB = 100;
const DAY_MS = 24 * 60 * 60 * 1000;
const encoder = new TextEncoder();

/** Writes all of `bytes` (a synchronous write may write less). */
export function writeAllSync(w: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += w.writeSync(bytes.subarray(off));
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, "0");
}

/** `2006-01-02T15-04-05.000` in UTC or local time: the time part of a backup name. */
export function backupTime(d: Date, local: boolean): string {
  const [y, mo, da, h, mi, s, ms] = local
    ? [
      d.getFullYear(),
      d.getMonth() + 1,
      d.getDate(),
      d.getHours(),
      d.getMinutes(),
      d.getSeconds(),
      d.getMilliseconds(),
    ]
    : [
      d.getUTCFullYear(),
      d.getUTCMonth() + 1,
      d.getUTCDate(),
      d.getUTCHours(),
      d.getUTCMinutes(),
      d.getUTCSeconds(),
      d.getUTCMilliseconds(),
    ];
  return `${y}-${pad(mo)}-${pad(da)}T${pad(h)}-${pad(mi)}-${pad(s)}.${pad(ms, 3)}`;
}

const TIME_RE = /^(\d{4})-(\d\d)-(\d\d)T(\d\d)-(\d\d)-(\d\d)\.(\d{3})$/;

function parseBackupTime(s: string, local: boolean): number | undefined {
  const m = TIME_RE.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h, mi, sec, ms] = m.slice(1).map(Number);
  return local ? new Date(y, mo - 1, d, h, mi, sec, ms).getTime() : Date.UTC(y, mo - 1, d, h, mi, sec, ms);
}

function nonNegative(v: unknown, key: string, integer: boolean): number {
  const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) {
    throw new ConfigError(`Cannot parse "rotation.${key}" as a ${integer ? "whole " : ""}number >= 0: ${v}`);
  }
  return n;
}

/** The checked rotation settings. */
export interface RotationSettings {
  maxBytes: number;
  maxAgeMs: number;
  maxBackups: number;
  localTime: boolean;
  compress: boolean;
}

/**
 * Checks a `rotation` block.
 * @throws {ConfigError} naming the key and value
 */
export function parseRotation(r: LogRotation): RotationSettings {
  const maxSize = r.maxSize === undefined ? DEFAULT_MAX_SIZE_MB : nonNegative(r.maxSize, "maxSize", false);
  return {
    maxBytes: Math.max(1, Math.round((maxSize || DEFAULT_MAX_SIZE_MB) * MB)),
    maxAgeMs: r.maxAge === undefined ? 0 : nonNegative(r.maxAge, "maxAge", false) * DAY_MS,
    maxBackups: r.maxBackups === undefined ? 0 : nonNegative(r.maxBackups, "maxBackups", true),
    localTime: Boolean(r.localTime),
    compress: Boolean(r.compress),
  };
}

function splitPath(path: string): { dir: string; prefix: string; ext: string } {
  const slash = path.lastIndexOf("/");
  const dir = slash >= 0 ? path.slice(0, slash) || "/" : ".";
  const base = path.slice(slash + 1);
  const dot = base.lastIndexOf(".");
  return dot > 0
    ? { dir, prefix: base.slice(0, dot) + "-", ext: base.slice(dot) }
    : { dir, prefix: base + "-", ext: "" };
}

/**
 * A rotating log file.
 * @example
 * const sink = new RotatingFileSink("/var/log/gost/gost.log", { maxSize: 10, maxBackups: 5, compress: true });
 * sink.write("line\n");
 * await sink.close();
 */
export class RotatingFileSink implements LogSink {
  readonly path: string;
  readonly settings: RotationSettings;
  readonly #parts: { dir: string; prefix: string; ext: string };
  readonly #onError: (message: string) => void;
  readonly #now: () => number;
  #file: Deno.FsFile | null = null;
  #size = 0;
  #closed = false;
  #compressing: Promise<void> = Promise.resolve();
  #compressQueued = false;
  /** The time in the newest backup's name: a new backup is always named later, even within one millisecond. */
  #lastBackupTime = 0;

  /**
   * Opens (or creates) the file; directories are created.
   * @param onError told about failed writes, rotations and clean-ups; logging goes on
   * @param now the clock backup names and `maxAge` are read from (tests freeze it)
   * @throws {ConfigError} for bad settings; Deno permission errors (`--allow-write`, `--allow-read`)
   */
  constructor(
    path: string,
    rotation: LogRotation,
    onError: (message: string) => void = () => {},
    now: () => number = Date.now,
  ) {
    this.path = path;
    this.settings = parseRotation(rotation);
    this.#parts = splitPath(path);
    this.#onError = onError;
    this.#now = now;
    this.#open();
    try {
      this.#lastBackupTime = this.#backups()[0]?.time ?? 0;
    } catch {
      // an unreadable directory: rotation reports its own error when it comes
    }
    this.#prune();
    this.#scheduleCompression();
  }

  write(line: string): void {
    if (this.#closed) return;
    const bytes = encoder.encode(line);
    if (this.#file && this.#size > 0 && this.#size + bytes.length > this.settings.maxBytes) {
      this.#try("rotating", () => this.#rotate());
    }
    if (!this.#file) this.#try("opening", () => this.#open()); // after a failed rotation, or a removed directory
    const file = this.#file;
    if (file) {
      this.#try("writing", () => {
        writeAllSync(file, bytes);
        this.#size += bytes.length;
      });
    }
  }

  /** Closes the file once the background compression is done. Never rejects. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#closeFile();
    await this.#compressing;
  }

  #try(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#closeFile();
      this.#onError(`${what} log file ${this.path}: ${errorMessage(err)}`);
    }
  }

  #open(): void {
    Deno.mkdirSync(this.#parts.dir, { recursive: true });
    const file = Deno.openSync(this.path, { create: true, append: true });
    this.#size = file.statSync().size;
    this.#file = file;
  }

  #closeFile(): void {
    try {
      this.#file?.close();
    } catch {
      // already closed
    }
    this.#file = null;
  }

  /**
   * Renames the file to a backup (the next write opens a new one: no line can slip in between) and removes the
   * backups beyond maxBackups or maxAge at once, so the set is right even if the process exits next.
   */
  #rotate(): void {
    this.#closeFile();
    const { dir, prefix, ext } = this.#parts;
    // Backups are ordered by the time in their names, so a new one must be named after every earlier one: several
    // rotations within one millisecond take the following milliseconds (a pruned name is never reused, which would
    // make the newest backup look like the oldest and have it pruned at once).
    for (let t = Math.max(this.#now(), this.#lastBackupTime + 1);; t++) {
      const backup = `${dir}/${prefix}${backupTime(new Date(t), this.settings.localTime)}${ext}`;
      if (exists(backup) || exists(`${backup}.gz`)) continue;
      Deno.renameSync(this.path, backup);
      this.#lastBackupTime = t;
      break;
    }
    try {
      this.#prune();
    } catch (err) {
      this.#onError(`removing old backups of ${this.path}: ${errorMessage(err)}`);
    }
    this.#scheduleCompression();
  }

  /**
   * The backups of this file, newest first; a backup and its .gz (a compression whose last step did not run) are
   * one backup.
   */
  #backups(): { time: number; plain?: string; gz?: string }[] {
    const { dir, prefix, ext } = this.#parts;
    const byTime = new Map<number, { time: number; plain?: string; gz?: string }>();
    for (const e of Deno.readDirSync(dir)) {
      if (!e.isFile || !e.name.startsWith(prefix)) continue;
      const gz = e.name.endsWith(`${ext}.gz`);
      const stem = gz ? e.name.slice(0, -3) : e.name;
      if (!stem.endsWith(ext)) continue;
      const time = parseBackupTime(stem.slice(prefix.length, stem.length - ext.length), this.settings.localTime);
      if (time === undefined) continue;
      const b = byTime.get(time) ?? { time };
      b[gz ? "gz" : "plain"] = `${dir}/${e.name}`;
      byTime.set(time, b);
    }
    return [...byTime.values()].sort((a, b) => b.time - a.time);
  }

  /** Removes the backups beyond maxBackups and those older than maxAge days (synchronous: rotations are rare). */
  #prune(): void {
    const { maxBackups, maxAgeMs } = this.settings;
    if (!maxBackups && !maxAgeMs) return;
    const cutoff = this.#now() - maxAgeMs;
    for (const [i, b] of this.#backups().entries()) {
      if ((maxBackups > 0 && i >= maxBackups) || (maxAgeMs > 0 && b.time < cutoff)) {
        for (const p of [b.plain, b.gz]) if (p) removeSyncQuietly(p);
      }
    }
  }

  /** Gzips the uncompressed backups in the background, one run after another; queued calls share a run. */
  #scheduleCompression(): void {
    if (!this.settings.compress || this.#compressQueued) return;
    this.#compressQueued = true;
    this.#compressing = this.#compressing.then(async () => {
      this.#compressQueued = false;
      try {
        await this.#compressAll();
      } catch (err) {
        this.#onError(`compressing backups of ${this.path}: ${errorMessage(err)}`);
      }
    });
  }

  async #compressAll(): Promise<void> {
    const { dir, prefix } = this.#parts;
    for (const e of Deno.readDirSync(dir)) {
      // a compression cut short by an exit: the uncompressed backup is still there and is compressed again
      if (e.isFile && e.name.startsWith(prefix) && e.name.endsWith(".gz.tmp")) removeSyncQuietly(`${dir}/${e.name}`);
    }
    for (const b of this.#backups()) {
      if (!b.plain) continue;
      if (b.gz) removeSyncQuietly(b.plain); // compressed already: only the removal was left
      else await gzipFile(b.plain);
    }
  }
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function removeSyncQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

/** Gzips `src` to `src.gz` through a temporary file, then removes `src` (gone meanwhile: pruned, nothing to do). */
async function gzipFile(src: string): Promise<void> {
  const tmp = `${src}.gz.tmp`;
  let input: Deno.FsFile;
  try {
    input = await Deno.open(src, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    throw err;
  }
  try {
    let output: Deno.FsFile;
    try {
      output = await Deno.open(tmp, { write: true, create: true, truncate: true });
    } catch (err) {
      input.close();
      throw err;
    }
    await input.readable.pipeThrough(new CompressionStream("gzip")).pipeTo(output.writable);
    await Deno.rename(tmp, `${src}.gz`);
    removeSyncQuietly(src);
  } catch (err) {
    try {
      removeSyncQuietly(tmp);
    } catch {
      // the error below says enough
    }
    throw err;
  }
}
