/**
 * Bypasses, admissions and hosts whose entries come from a file as well as inline, re-read every `reload` period
 * (README.md, "Data sources: file and reload"). Each is the live object of its kind: it keeps one inner table built
 * from the inline entries and the file's good lines, and swaps it whole when the file changes, so the services,
 * which look the object up by name at each connection, see the new set at their next one.
 * File lines are GOST's: a bypass or admission line is one matcher, a hosts line is `IP hostname [aliases...]` as in
 * /etc/hosts; `#` starts a comment.
 * @module
 */
import type { Logger } from "../log.ts";
import {
  Admission,
  type AdmissionChecker,
  admissionPattern,
  compileAdmission,
  resolveAdmissionMatcher,
} from "./admission.ts";
import { Bypass, type BypassChecker } from "./bypass.ts";
import { FileSource, type FileSourceOptions, parseLines } from "./file_source.ts";
import { HostMapper, type HostMapping, type HostTable } from "./hosts.ts";
import { AddressMatcher, compilePattern, parseIP } from "./matcher.ts";

/** Where a reloading object's file is and how it reports. */
export interface FileListOptions {
  /** The object's name (`b1`). */
  name: string;
  /** The file. */
  path: string;
  /** Re-read period in ms; 0 reads the file once. */
  reloadMs: number;
  /** Where warnings and reload lines go. */
  logger: Logger;
}

/** What a reloading object holds and must release: its timer. */
export interface Reloading {
  /** Re-reads the file now; true when the set was replaced. */
  reload(): Promise<boolean>;
  /** Stops the reload timer. */
  close(): void;
}

/** What the three kinds share: a name and the file source whose current set they read. */
abstract class FileBacked<T> implements Reloading {
  readonly name: string;
  protected readonly source: FileSource<T>;

  protected constructor(name: string, source: FileSource<T>) {
    this.name = name;
    this.source = source;
  }

  /** The number of entries now (inline and the file's). */
  get size(): number {
    return this.source.count;
  }

  reload(): Promise<boolean> {
    return this.source.reload();
  }

  close(): void {
    this.source.close();
  }
}

/** Opens the file of object `opts.name` of `kind` (`bypass`), whose entries are called `unit` in messages. */
function openSource<T>(
  opts: FileListOptions,
  kind: string,
  unit: string,
  parse: FileSourceOptions<T>["parse"],
): Promise<FileSource<T>> {
  const { name, path, reloadMs, logger } = opts;
  return FileSource.open({ owner: `${kind} ${name}`, kind, path, unit, reloadMs, logger, parse });
}

/**
 * A bypass of inline matchers and a file's (one matcher a line).
 * @example
 * const b = await FileBypass.open({ name: "b", path: "bypass.txt", reloadMs: 10_000, logger }, { matchers: [] });
 * b.contains("tcp", "example.com:443");
 * b.close();
 */
export class FileBypass extends FileBacked<Bypass> implements BypassChecker {
  readonly whitelist: boolean;
  readonly network?: "tcp" | "udp";

  private constructor(name: string, source: FileSource<Bypass>) {
    super(name, source);
    this.whitelist = source.value.whitelist;
    this.network = source.value.network;
  }

  /**
   * Reads the file and starts its reload timer.
   * @param base the inline part: mode, network and matchers (checked: a bad inline matcher throws)
   * @throws {ConfigError} naming a bad inline matcher; {Error} when the file cannot be read
   */
  static async open(
    opts: FileListOptions,
    base: { whitelist?: boolean; network?: "tcp" | "udp"; matchers: string[] },
  ): Promise<FileBypass> {
    const inline = base.matchers.map(compilePattern);
    const source = await openSource(opts, "bypass", "matcher(s)", async (text) => {
      // each line goes into the new matcher as it is parsed; the old one answers until it is complete
      const matcher = AddressMatcher.builder();
      for (const p of inline) matcher.add(p);
      const { entries, problems } = await parseLines(text, (t) => matcher.add(compilePattern(t)));
      const value = new Bypass(
        { name: opts.name, whitelist: base.whitelist, network: base.network, matchers: inline },
        matcher.finish(),
      );
      return { value, count: inline.length + entries.length, problems };
    });
    return new FileBypass(opts.name, source);
  }

  contains(network: string, addr: string): boolean {
    return this.source.value.contains(network, addr);
  }

  containsAny(network: string, addrs: readonly string[]): boolean {
    return this.source.value.containsAny(network, addrs);
  }
}

/**
 * An admission of inline matchers and a file's (one IP, CIDR, IP range or host name a line). Host names are resolved
 * when the file is read: at start and at each change (GOST re-resolves at every reload); one that does not resolve
 * is a bad line.
 * @example
 * const a = await FileAdmission.open({ name: "a", path: "clients.txt", reloadMs: 10_000, logger }, { matchers: [] });
 * a.admit("10.0.0.1:40000");
 */
export class FileAdmission extends FileBacked<Admission> implements AdmissionChecker {
  private constructor(name: string, source: FileSource<Admission>) {
    super(name, source);
  }

  /**
   * Resolves the inline matchers, reads the file and starts its reload timer.
   * @param resolve resolves host names (default: the system's A and AAAA)
   * @throws {ConfigError} naming a bad or unresolvable inline matcher; {Error} when the file cannot be read
   */
  static async open(
    opts: FileListOptions,
    base: { whitelist?: boolean; matchers: string[]; resolve?: (host: string) => Promise<string[]> },
  ): Promise<FileAdmission> {
    const inline = (await Promise.all(base.matchers.map((m) => resolveAdmissionMatcher(m, base.resolve)))).flat();
    const source = await openSource(opts, "admission", "matcher(s)", async (text) => {
      // each IP, CIDR or range goes into the new matcher as it is parsed; host names are resolved after
      const matcher = AddressMatcher.builder();
      for (const m of inline) matcher.add(compileAdmission(m));
      const names: { name: string; line: number }[] = [];
      const lines = await parseLines(text, (t, line) => {
        const p = admissionPattern(t);
        typeof p === "string" ? names.push({ name: t, line }) : matcher.add(p);
      });
      const settled = await Promise.allSettled(names.map((e) => resolveAdmissionMatcher(e.name, base.resolve)));
      const problems = [...lines.problems];
      let count = inline.length + lines.entries.length - names.length;
      settled.forEach((r, i) => {
        if (r.status === "fulfilled") {
          for (const ip of r.value) matcher.add(compileAdmission(ip));
          count++;
        } else problems.push({ line: names[i].line, message: (r.reason as Error).message });
      });
      problems.sort((a, b) => a.line - b.line);
      const value = new Admission({ name: opts.name, whitelist: base.whitelist, matchers: inline }, matcher.finish());
      return { value, count, problems };
    });
    return new FileAdmission(opts.name, source);
  }

  admit(addr: string): boolean {
    return this.source.value.admit(addr);
  }
}

/**
 * Parses one hosts file line, `IP hostname [aliases...]`.
 * @throws {Error} naming what is wrong
 * @example parseHostsLine("127.0.0.1 origin.test www.origin.test") // { ip: "127.0.0.1", hostname: "origin.test", aliases: ["www.origin.test"] }
 */
export function parseHostsLine(text: string): HostMapping {
  const [ip, hostname, ...aliases] = text.split(" ").filter((f) => f !== "");
  if (!hostname) throw new Error(`expected "IP hostname [aliases...]", got ${JSON.stringify(text)}`);
  if (!parseIP(ip)) throw new Error(`invalid IP ${JSON.stringify(ip)}`);
  return { ip, hostname, aliases };
}

/**
 * A hosts table of inline mappings and a file's (`IP hostname [aliases...]` lines).
 * @example
 * const h = await FileHosts.open({ name: "h", path: "hosts.txt", reloadMs: 10_000, logger }, []);
 * h.lookup("ip", "origin.test"); // ["127.0.0.1"] while the file says so
 */
export class FileHosts extends FileBacked<HostMapper> implements HostTable {
  private constructor(name: string, source: FileSource<HostMapper>) {
    super(name, source);
  }

  /**
   * Reads the file and starts its reload timer.
   * @throws {ConfigError} naming a bad inline mapping; {Error} when the file cannot be read
   */
  static async open(opts: FileListOptions, inline: HostMapping[]): Promise<FileHosts> {
    new HostMapper(inline); // checks the inline mappings now
    const source = await openSource(opts, "hosts", "mapping(s)", async (text) => {
      // each line goes into the new table as it is parsed; the old one answers until it is complete
      const table = HostMapper.builder();
      for (const m of inline) table.add(m);
      const { entries, problems } = await parseLines(text, (t) => table.add(parseHostsLine(t)));
      return { value: table.finish(), count: inline.length + entries.length, problems };
    });
    return new FileHosts(opts.name, source);
  }

  lookup(network: string, host: string): string[] {
    return this.source.value.lookup(network, host);
  }
}
