/**
 * Ingresses (GOST's `ingresses`, README.md, "Reverse-proxy tunnel"): rules `hostname → endpoint` that route what
 * arrives at a tunnel server's public entrypoint to a tunnel. The endpoint is a tunnel id (a UUID; `$` in front marks
 * the rule private: the public entrypoint never routes to it, a visitor with the id may). Host lookup is GOST's: the
 * port is stripped, then the exact name, then `.name`, then each parent suffix (`.example.com`, `.com`) is tried, so a
 * `.example.com` (or `*.example.com`) rule covers the name and every subdomain. Names are case-insensitive and a
 * trailing dot is ignored (GOST compares them byte for byte).
 *
 * Beyond GOST, a rule's hostname may be a raw listening address, `tcp://[host]:port` or `udp://[host]:port`: the
 * tunnel server's entrypoint then also listens there and sends every connection (TCP) or peer session (UDP) to that
 * rule's tunnel, which GOST's entrypoint cannot (it routes HTTP and TLS by name only). Such a rule is never matched
 * by a host name.
 *
 * Rules come inline (`rules`) and from a file of `hostname endpoint` lines re-read every `reload` (file_source.ts).
 * @module
 */
import { ConfigError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { FileSource, parseLines } from "./file_source.ts";

/** One rule as the config writes it. */
export interface IngressRule {
  /** `example.com`, `.example.com`, `*.example.com`, or a raw address `tcp://:2222` / `udp://0.0.0.0:5353`. */
  hostname: string;
  /** The tunnel id (a UUID), with `$` in front for a private rule. */
  endpoint: string;
}

/** A raw listening rule (`tcp://host:port`, `udp://host:port`). */
export interface RawIngressRule {
  /** The network listened on. */
  network: "tcp" | "udp";
  /** The host to listen on: "" is every interface. */
  host: string;
  /** The port. */
  port: number;
  /** The rule's hostname as written, which identifies it. */
  hostname: string;
  /** The rule's endpoint. */
  endpoint: string;
}

/** What routes host names to endpoints: an {@link IngressTable}, or one re-read from a file ({@link FileIngress}). */
export interface Ingress {
  /** The rule `host` (`name` or `name:port`) routes by, or undefined. */
  getRule(host: string): IngressRule | undefined;
  /** The raw listening rules (beyond GOST), in the order given. */
  rawRules(): readonly RawIngressRule[];
  /** Every rule now. */
  rules(): readonly IngressRule[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RAW = /^(tcp|udp):\/\/(\[[^\]]*\]|[^:/\[\]]*):(\d{1,5})$/i;

function normalizeName(name: string): string {
  let n = name.trim().toLowerCase();
  if (n.startsWith("*")) n = n.slice(1);
  return n.length > 1 && n.endsWith(".") ? n.slice(0, -1) : n;
}

/**
 * Checks a rule: an endpoint that is a UUID (with an optional `$`), a hostname that is a name or a raw address.
 * @returns the raw rule when the hostname is a raw address, else undefined
 * @throws {ConfigError} naming the rule and what is wrong
 */
export function checkIngressRule(rule: IngressRule): RawIngressRule | undefined {
  const hostname = (rule.hostname ?? "").trim();
  const endpoint = (rule.endpoint ?? "").trim();
  if (!hostname) throw new ConfigError(`ingress rule without a hostname (endpoint ${JSON.stringify(endpoint)})`);
  if (!UUID.test(endpoint.startsWith("$") ? endpoint.slice(1) : endpoint)) {
    throw new ConfigError(
      `ingress rule ${hostname}: endpoint ${JSON.stringify(endpoint)} is not a tunnel id (a UUID, "$" in front for ` +
        `a private tunnel)`,
    );
  }
  const raw = RAW.exec(hostname);
  if (raw) {
    const port = Number(raw[3]);
    if (port < 1 || port > 65535) throw new ConfigError(`ingress rule ${hostname}: port ${port} is out of range`);
    return {
      network: raw[1].toLowerCase() as "tcp" | "udp",
      host: raw[2].replace(/^\[|\]$/g, ""),
      port,
      hostname,
      endpoint,
    };
  }
  if (hostname.includes("://")) {
    throw new ConfigError(
      `ingress rule ${hostname}: a raw address rule is tcp://[host]:port or udp://[host]:port`,
    );
  }
  if (/[\s/]/.test(hostname)) throw new ConfigError(`ingress rule ${JSON.stringify(hostname)}: not a host name`);
  return undefined;
}

/**
 * A static ingress.
 * @example
 * const ing = new IngressTable([{ hostname: ".example.com", endpoint: "4d21094e-b74c-4916-86c1-d9fa36ea677b" }]);
 * ing.getRule("www.example.com:80")?.endpoint // "4d21094e-b74c-4916-86c1-d9fa36ea677b"
 */
export class IngressTable implements Ingress {
  readonly #byName = new Map<string, IngressRule>();
  readonly #raw = new Map<string, RawIngressRule>();
  readonly #all: IngressRule[] = [];

  /** @throws {ConfigError} naming a bad rule */
  constructor(rules: readonly IngressRule[] = []) {
    for (const r of rules) this.add(r);
  }

  /** Adds a rule (a later rule for the same name replaces the earlier one, as in GOST). @throws {ConfigError} */
  add(rule: IngressRule): void {
    const r = { hostname: rule.hostname.trim(), endpoint: rule.endpoint.trim() };
    const raw = checkIngressRule(r);
    if (raw) this.#raw.set(`${raw.network}://${raw.host}:${raw.port}`, raw);
    else this.#byName.set(normalizeName(r.hostname), r);
    this.#all.push(r);
  }

  /** The number of rules. */
  get size(): number {
    return this.#all.length;
  }

  getRule(host: string): IngressRule | undefined {
    if (!host) return undefined;
    let name = host;
    const v6 = /^\[([^\]]*)\](?::\d*)?$/.exec(name);
    if (v6) name = v6[1];
    else if (/^[^:]*:\d*$/.test(name)) name = name.slice(0, name.lastIndexOf(":"));
    name = normalizeName(name);
    if (!name) return undefined;
    const exact = this.#byName.get(name) ?? this.#byName.get("." + name);
    if (exact) return exact;
    for (let i = name.indexOf("."); i > 0; i = name.indexOf(".", i + 1)) {
      const hit = this.#byName.get(name.slice(i));
      if (hit) return hit;
    }
    return undefined;
  }

  rawRules(): readonly RawIngressRule[] {
    return [...this.#raw.values()];
  }

  rules(): readonly IngressRule[] {
    return this.#all;
  }
}

/**
 * Parses one ingress file line, `hostname endpoint` (GOST's format; more fields are ignored, as GOST ignores them).
 * @throws {ConfigError} naming what is wrong
 */
export function parseIngressLine(text: string): IngressRule {
  const [hostname, endpoint] = text.split(" ").filter((f) => f !== "");
  if (!endpoint) throw new ConfigError(`expected "hostname endpoint", got ${JSON.stringify(text)}`);
  return { hostname, endpoint };
}

/** Where a file-backed ingress's file is and how it reports. */
export interface FileIngressOptions {
  /** The ingress's name. */
  name: string;
  /** The file. */
  path: string;
  /** Re-read period in ms; 0 reads the file once. */
  reloadMs: number;
  /** Where warnings and reload lines go. */
  logger: Logger;
}

/**
 * An ingress of inline rules and a file's (`hostname endpoint` lines), re-read every `reload`; bad lines are warned
 * about and skipped, an unreadable file keeps the last good rules.
 * @example
 * const ing = await FileIngress.open({ name: "i", path: "ingress.txt", reloadMs: 10_000, logger }, []);
 * ing.getRule("example.com");
 * ing.close();
 */
export class FileIngress implements Ingress {
  readonly name: string;
  readonly #source: FileSource<IngressTable>;

  private constructor(name: string, source: FileSource<IngressTable>) {
    this.name = name;
    this.#source = source;
  }

  /**
   * Reads the file and starts its reload timer.
   * @throws {ConfigError} naming a bad inline rule; {Error} when the file cannot be read
   */
  static async open(opts: FileIngressOptions, inline: readonly IngressRule[]): Promise<FileIngress> {
    new IngressTable(inline); // checks the inline rules now
    const source = await FileSource.open({
      owner: `ingress ${opts.name}`,
      kind: "ingress",
      path: opts.path,
      unit: "rule(s)",
      reloadMs: opts.reloadMs,
      logger: opts.logger,
      parse: async (text) => {
        const table = new IngressTable(inline);
        const { entries, problems } = await parseLines(text, (t) => table.add(parseIngressLine(t)));
        return { value: table, count: inline.length + entries.length, problems };
      },
    });
    return new FileIngress(opts.name, source);
  }

  getRule(host: string): IngressRule | undefined {
    return this.#source.value.getRule(host);
  }

  rawRules(): readonly RawIngressRule[] {
    return this.#source.value.rawRules();
  }

  rules(): readonly IngressRule[] {
    return this.#source.value.rules();
  }

  /** Re-reads the file now; true when the rules were replaced. */
  reload(): Promise<boolean> {
    return this.#source.reload();
  }

  /** Stops the reload timer. */
  close(): void {
    this.#source.close();
  }
}
