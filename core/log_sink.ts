/**
 * The types a log output is made of, shared by the logger (`core/log.ts`) and the rotating file (`core/log_rotate.ts`).
 * @module
 */

/**
 * Where lines go. A sink writes a line synchronously, or (a `StreamSink` of `core/log.ts`) by the end of the current
 * microtask run, so lines are never held across an event-loop wait.
 */
export interface LogSink {
  /** Writes one line (newline included). */
  write(line: string): void;
  /** Releases the sink; settles once pending work (a backup being compressed) is done. Never rejects. */
  close?(): void | Promise<void>;
}

/** Rotation of a file output (`log.rotation`), with lumberjack's semantics. */
export interface LogRotation {
  /** Megabytes before the file is rotated (default 100; fractions allowed). */
  maxSize?: number;
  /** Days to keep backups, by the time in their name (0 = forever). */
  maxAge?: number;
  /** Backups to keep (0 = all). */
  maxBackups?: number;
  /** Local time in backup names instead of UTC. */
  localTime?: boolean;
  /** Gzip backups. */
  compress?: boolean;
}
