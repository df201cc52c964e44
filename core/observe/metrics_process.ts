/**
 * The `process_*` series of Prometheus' Go process collector (client_golang 1.19, the version GOST builds with), with
 * the same names, types and help texts, read at each scrape:
 *
 * | metric | type | Linux source | elsewhere |
 * |---|---|---|---|
 * | process_cpu_seconds_total | counter | `/proc/self/stat` utime + stime | left out |
 * | process_max_fds | gauge | `/proc/self/limits` "Max open files" (soft) | left out |
 * | process_open_fds | gauge | entries of `/proc/self/fd` | left out |
 * | process_resident_memory_bytes | gauge | `/proc/self/status` VmRSS | `Deno.memoryUsage().rss` |
 * | process_start_time_seconds | gauge | `/proc/self/stat` starttime + `/proc/stat` btime | `performance.timeOrigin` |
 * | process_virtual_memory_bytes | gauge | `/proc/self/stat` vsize | left out |
 * | process_virtual_memory_max_bytes | gauge | `/proc/self/limits` "Max address space" (soft) | left out |
 *
 * A limit of `unlimited` is 2^64 − 1, as procfs reports it. A file that cannot be read (no `--allow-read`, no procfs)
 * leaves its series out, as the Go collector does on an error. Families are in name order, as client_golang writes
 * them.
 * @module
 */
import { formatValue } from "./metrics_value.ts";

/** Linux's `USER_HZ`: the clock ticks per second of `/proc/<pid>/stat` (fixed at 100 on every architecture). */
const USER_HZ = 100;
/** What `unlimited` in `/proc/self/limits` stands for (procfs: `^uint64(0)`). */
const UNLIMITED = 18446744073709551615;

/** One process series: name, help, type and value. */
export interface ProcessSample {
  readonly name: string;
  readonly help: string;
  readonly type: "counter" | "gauge";
  readonly value: number;
}

/** Where the process facts come from (tests hand in their own files). */
export interface ProcessSource {
  /** A file's text, or undefined when it cannot be read. */
  readText(path: string): string | undefined;
  /** The number of entries of a directory, or undefined when it cannot be read. */
  countDir(path: string): number | undefined;
  /** The resident set size the runtime reports. */
  rss(): number;
  /** The process' start, in ms since the epoch. */
  startMs(): number;
}

/** The source of the running process. */
export const denoProcessSource: ProcessSource = {
  readText(path) {
    try {
      return Deno.readTextFileSync(path);
    } catch {
      return undefined;
    }
  },
  countDir(path) {
    try {
      let n = 0;
      for (const _ of Deno.readDirSync(path)) n++;
      return n;
    } catch {
      return undefined;
    }
  },
  rss: () => Deno.memoryUsage().rss,
  startMs: () => performance.timeOrigin,
};

const HELP = {
  cpu: "Total user and system CPU time spent in seconds.",
  maxFds: "Maximum number of open file descriptors.",
  openFds: "Number of open file descriptors.",
  rss: "Resident memory size in bytes.",
  start: "Start time of the process since unix epoch in seconds.",
  vsize: "Virtual memory size in bytes.",
  vmax: "Maximum amount of virtual memory available in bytes.",
};

/** The fields of `/proc/self/stat` after the command name (field 3, `state`, is index 0). */
function statFields(text: string | undefined): string[] | undefined {
  if (!text) return undefined;
  const end = text.lastIndexOf(")"); // the command name may hold spaces and parentheses
  if (end < 0) return undefined;
  return text.slice(end + 2).trim().split(/\s+/);
}

/** The soft limit of one row of `/proc/self/limits` (`unlimited` is 2^64 − 1); undefined when the row is absent. */
export function softLimit(limits: string | undefined, row: string): number | undefined {
  if (!limits) return undefined;
  for (const line of limits.split("\n")) {
    if (!line.startsWith(row)) continue;
    const soft = line.slice(row.length).trim().split(/\s+/)[0];
    if (soft === "unlimited") return UNLIMITED;
    const n = Number(soft);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** The boot time (`btime`, seconds since the epoch) of `/proc/stat`; undefined when absent. */
export function bootTime(stat: string | undefined): number | undefined {
  const m = stat?.match(/^btime\s+(\d+)/m);
  return m ? Number(m[1]) : undefined;
}

/** A `kB` line of `/proc/self/status` in bytes. */
function statusBytes(status: string | undefined, key: string): number | undefined {
  const m = status?.match(new RegExp(`^${key}:\\s*(\\d+)\\s*kB`, "m"));
  return m ? Number(m[1]) * 1024 : undefined;
}

/**
 * The process series that `src` can tell, in name order.
 * @param procfs read `/proc` (default: on Linux); false leaves only the portable series (resident memory, start time)
 * @example
 * renderProcess(collectProcess()) // "# HELP process_cpu_seconds_total …"
 */
export function collectProcess(
  procfs: boolean = Deno.build.os === "linux",
  src: ProcessSource = denoProcessSource,
): ProcessSample[] {
  const out: ProcessSample[] = [];
  const add = (name: string, help: string, type: "counter" | "gauge", value: number | undefined) => {
    if (value !== undefined && Number.isFinite(value)) out.push({ name, help, type, value });
  };
  if (!procfs) {
    add("process_resident_memory_bytes", HELP.rss, "gauge", src.rss());
    add("process_start_time_seconds", HELP.start, "gauge", src.startMs() / 1000);
    return out;
  }
  const stat = statFields(src.readText("/proc/self/stat"));
  const limits = src.readText("/proc/self/limits");
  // stat fields (1-based as in proc(5)): utime 14, stime 15, starttime 22, vsize 23; index = field - 3
  const num = (field: number) => (stat && stat.length > field - 3 ? Number(stat[field - 3]) : undefined);
  const utime = num(14), stime = num(15);
  const cpu = utime !== undefined && stime !== undefined ? (utime + stime) / USER_HZ : undefined;
  add("process_cpu_seconds_total", HELP.cpu, "counter", cpu);
  add("process_max_fds", HELP.maxFds, "gauge", softLimit(limits, "Max open files"));
  add("process_open_fds", HELP.openFds, "gauge", src.countDir("/proc/self/fd"));
  add("process_resident_memory_bytes", HELP.rss, "gauge", statusBytes(src.readText("/proc/self/status"), "VmRSS"));
  const btime = bootTime(src.readText("/proc/stat"));
  const start = num(22);
  add(
    "process_start_time_seconds",
    HELP.start,
    "gauge",
    btime !== undefined && start !== undefined ? btime + start / USER_HZ : undefined,
  );
  add("process_virtual_memory_bytes", HELP.vsize, "gauge", num(23));
  add("process_virtual_memory_max_bytes", HELP.vmax, "gauge", softLimit(limits, "Max address space"));
  return out;
}

/** The samples (default: {@link collectProcess} now) in the text format, one family each. */
export function renderProcess(samples: readonly ProcessSample[] = collectProcess()): string {
  let text = "";
  for (const s of samples) {
    text += `# HELP ${s.name} ${s.help}\n# TYPE ${s.name} ${s.type}\n${s.name} ${formatValue(s.value)}\n`;
  }
  return text;
}
