/**
 * The loggers of a config: the root logger (`log`), the named ones (`loggers: [{name, log}]`) and the logger of
 * each service (`logger: name` or `loggers: [names]`, a group: every named logger receives every line, each with
 * its own level, format and output). Outputs naming the same file share one sink, so one file is rotated once.
 * @module
 */
import { ConfigError, errorMessage } from "./errors.ts";
import { Logger, type LogOptions, type LogSink, openSink, parseLevelFormat } from "./log.ts";

/** The part of a config the loggers are built from (`Config` of `core/config/types.ts`). */
export interface LoggersConfig {
  readonly log?: LogOptions;
  readonly loggers?: readonly { readonly name: string; readonly log?: unknown }[];
}

/** The part of a service's config that chooses its logger (`ServiceConfig` of `core/config/types.ts`). */
export interface ServiceLoggerConfig {
  /** The service's name. */
  readonly name: string;
  /** The named logger it uses (`logger:`). */
  readonly logger?: string;
  /** The named loggers it uses (`loggers:`), all at once. */
  readonly loggers?: readonly string[];
}

/** Everything the loggers of one config are. */
export interface LoggerSet {
  /** The `log` logger: process-wide lines, and services without `logger`/`loggers`. */
  readonly root: Logger;
  /** `loggers` by name. */
  readonly named: ReadonlyMap<string, Logger>;
  /**
   * The logger a service writes to: its `logger` and `loggers` together, or the root logger.
   * @throws {ConfigError} for a name not defined under `loggers`
   */
  forService(cfg: ServiceLoggerConfig): Logger;
  /** Closes every sink once pending rotations are done. Never rejects. */
  close(): Promise<void>;
}

/** How often the same sink error is reported at most. */
const ERROR_REPORT_INTERVAL_MS = 60_000;

/**
 * Builds the root and named loggers of a config.
 * @param sink where every output goes instead (tests)
 * @throws {ConfigError} naming the path of a bad level, format or rotation, or a duplicate name
 * @example
 * const logs = buildLoggers({ log: { level: "info" }, loggers: [{ name: "file", log: { output: "/tmp/a.log" } }] });
 * logs.forService({ name: "s", logger: "file" }).info("hello");
 * await logs.close();
 */
export function buildLoggers(config: LoggersConfig, sink?: LogSink): LoggerSet {
  const sinks = new Map<string, LogSink>();
  let root: Logger | undefined;
  let reporting = false;
  let last = { message: "", at: 0 };
  const onError = (message: string) => {
    const now = Date.now();
    if (reporting || !root || (message === last.message && now - last.at < ERROR_REPORT_INTERVAL_MS)) return;
    last = { message, at: now };
    reporting = true; // the failing sink may be the root logger's own
    try {
      root.warn(message);
    } finally {
      reporting = false;
    }
  };
  const make = (opts: LogOptions, where: string): Logger => {
    let parsed;
    try {
      parsed = parseLevelFormat(opts);
      const key = sink ? "" : normaliseOutput(opts.output);
      let s = sink ?? sinks.get(key);
      if (!s) {
        s = openSink(opts.output, opts.rotation, onError);
        sinks.set(key, s);
      }
      return new Logger(s, parsed.level, parsed.format);
    } catch (err) {
      if (err instanceof ConfigError) throw new ConfigError(`${where}: ${err.message}`, { cause: err });
      throw err;
    }
  };
  const closeAll = () => Promise.all([...sinks.values()].map((s) => s.close?.())).then(() => {});
  const named = new Map<string, Logger>();
  try {
    root = make(config.log ?? {}, "log");
    for (const [i, l] of (config.loggers ?? []).entries()) {
      if (named.has(l.name)) throw new ConfigError(`loggers[${i}].name: duplicate logger name "${l.name}"`);
      named.set(l.name, make((l.log ?? {}) as LogOptions, `loggers[${i}].log`));
    }
  } catch (err) {
    closeAll().catch(() => {});
    throw err;
  }
  const rootLogger = root;
  return {
    root: rootLogger,
    named,
    forService(cfg) {
      const names = [...new Set([cfg.logger, ...(cfg.loggers ?? [])].filter((n): n is string => Boolean(n)))];
      const chosen = names.map((n) => {
        const l = named.get(n);
        if (!l) throw new ConfigError(`service ${cfg.name}: unknown logger "${n}": define it under loggers`);
        return l;
      });
      if (!chosen.length) return rootLogger;
      return chosen.length === 1 ? chosen[0] : Logger.group(chosen);
    },
    close: () => closeAll().catch((err) => void onError(`closing logs: ${errorMessage(err)}`)),
  };
}

/** One key per destination: `stderr` for the default, the path as given otherwise. */
function normaliseOutput(output: string | undefined): string {
  return !output ? "stderr" : output === "null" ? "none" : output;
}
