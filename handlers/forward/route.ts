/**
 * Picking and reaching a forwarder node for one sniffed request (GOST's hop `Select` with host, protocol and path,
 * x/hop/hop.go `isEligible`): a node without a filter takes anything; a host filter takes that name (case
 * insensitive, port ignored), or with a leading dot the domain and its subdomains; a protocol filter takes that
 * sniffed protocol; a path filter takes URL paths it prefixes. The selector (strategy, maxFails, backups) picks among
 * the nodes that match; a node that cannot be reached is marked and the next match tried. A node with `tls` is
 * dialed with TLS (re-origination, listeners/tls/dialer.ts).
 * @module
 */
import { closeQuietly, type Conn, splitHostPort } from "../../core/conn.ts";
import { ConfigError, DialError, errorMessage } from "../../core/errors.ts";
import { Metadata } from "../../core/metadata.ts";
import { type ConnContext, dialOptions, type HandlerOptions, type Node } from "../../core/contracts.ts";
import type { Dialer } from "../../core/contracts.ts";
import type { SniffedProtocol } from "./sniff.ts";

/** What a sniffed conn or request is matched on. */
export interface RouteRequest {
  /** The HTTP Host or TLS server name (a port is ignored); `""` when there is none. */
  host: string;
  /** The sniffed protocol. */
  protocol: SniffedProtocol;
  /** The HTTP URL path (no query); `""` for other protocols. */
  path: string;
}

/** The host part of `host` (`a.test:8080` → `a.test`, `[::1]:80` → `::1`), lower case. */
export function hostOnly(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith("[")) {
    const end = h.indexOf("]");
    return end > 0 ? h.slice(1, end) : h;
  }
  const colon = h.indexOf(":");
  return colon >= 0 && h.indexOf(":", colon + 1) < 0 ? h.slice(0, colon) : h;
}

/**
 * Tells whether `node` takes `req` (GOST's filter rules; see the module doc). `.example.com` takes `example.com`
 * and names ending in `.example.com` (GOST's plain suffix test would also take `badexample.com`).
 * @example nodeMatches({ ..., route: { host: ".a.test", protocol: "", path: "" } }, { host: "x.a.test", protocol: "http", path: "/" }) // true
 */
export function nodeMatches(node: Node, req: RouteRequest): boolean {
  const r = node.route;
  if (!r) return true;
  if (r.host) {
    const host = hostOnly(req.host);
    if (!host) return false;
    const ok = r.host.startsWith(".") ? host === r.host.slice(1) || host.endsWith(r.host) : host === r.host;
    if (!ok) return false;
  }
  if (r.protocol && r.protocol !== req.protocol) return false;
  if (r.path && !req.path.startsWith(r.path)) return false;
  return true;
}

/** A node picked for a request and the conn to it. */
export interface Reached {
  node: Node;
  conn: Conn;
  /** The address dialed. */
  addr: string;
}

/** No forwarder node takes the request. */
export class NoNodeError extends DialError {
  constructor(req: RouteRequest) {
    super(
      req.host || "(no host)",
      `No forwarder node takes ${req.protocol || "raw"} ${req.host || "(no host)"}${req.path}`,
    );
  }
}

/** Node selection and dialing for one handler: the forwarder's nodes and the TLS dialers of those with `tls`. */
export class NodeRouter {
  readonly #opts: HandlerOptions;
  readonly #tls = new Map<Node, Dialer>();

  constructor(opts: HandlerOptions) {
    this.#opts = opts;
  }

  /** Makes the TLS dialers of the nodes with `tls` (certificate files are read here). */
  async init(): Promise<void> {
    for (const node of this.#opts.forwarder?.nodes ?? []) {
      const tls = node.route?.tls;
      if (!tls) continue;
      const { TlsDialer } = await import("../../listeners/tls/dialer.ts");
      const d = new TlsDialer({ logger: this.#opts.logger, tls });
      try {
        await d.init(new Metadata({}));
      } catch (err) {
        throw new ConfigError(`forwarder node ${node.name}: tls: ${errorMessage(err)}`, { cause: err });
      }
      this.#tls.set(node, d);
    }
  }

  /** Tells whether any node has reverse-proxy settings. */
  get routed(): boolean {
    return (this.#opts.forwarder?.nodes ?? []).some((n) => n.route);
  }

  /** The next node that takes `req`, skipping `tried`; undefined when none is left. */
  select(req: RouteRequest, ctx: ConnContext, tried: ReadonlySet<Node> = new Set()): Node | undefined {
    const group = this.#opts.forwarder;
    if (!group) return undefined;
    const exclude = new Set(tried);
    for (const n of group.nodes) if (!nodeMatches(n, req)) exclude.add(n);
    return group.select(ctx.clientId ?? ctx.src.replace(/:\d+$/, ""), exclude);
  }

  /**
   * Dials `node` through the router (and TLS when the node has it); marks it ok or failed.
   * @param defaultPort the port of a node address without one (80 for HTTP, 443 for TLS)
   * @throws {DialError} naming the node
   */
  async dial(node: Node, ctx: ConnContext, defaultPort: number): Promise<Reached> {
    const group = this.#opts.forwarder!;
    const addr = withPort(node.addr, defaultPort);
    ctx.dst = addr;
    let conn: Conn;
    try {
      conn = await this.#opts.router.dial("tcp", addr, dialOptions(ctx));
    } catch (err) {
      group.markFailed(node);
      throw err instanceof DialError ? err : new DialError(addr, errorMessage(err), { cause: err });
    }
    const tls = this.#tls.get(node);
    if (tls?.handshake) {
      try {
        conn = await tls.handshake(conn, addr, { signal: ctx.signal });
      } catch (err) {
        closeQuietly(conn);
        group.markFailed(node);
        throw new DialError(addr, `${node.name}@${addr}: ${errorMessage(err)}`, { cause: err, node: node.name });
      }
    }
    group.markOk(node);
    return { node, conn, addr };
  }

  /**
   * Picks a node that takes `req` and dials it; a node that fails is marked and the next match tried.
   * @throws {NoNodeError} when no node takes it; the last {@link DialError} when every match failed
   */
  async reach(req: RouteRequest, ctx: ConnContext, defaultPort: number): Promise<Reached> {
    const tried = new Set<Node>();
    let last: unknown;
    for (let node = this.select(req, ctx); node; node = this.select(req, ctx, tried)) {
      tried.add(node);
      try {
        return await this.dial(node, ctx, defaultPort);
      } catch (err) {
        last = err;
        ctx.logger.warn(`${node.name}@${node.addr}: ${errorMessage(err)}`);
        if (ctx.signal.aborted) break;
      }
    }
    if (!tried.size) throw new NoNodeError(req);
    throw last instanceof DialError ? last : new DialError(ctx.dst ?? "", errorMessage(last), { cause: last });
  }

  /** Marks `node` failed (an HTTP `failCodes` match). */
  markFailed(node: Node): void {
    this.#opts.forwarder?.markFailed(node);
  }
}

/** `addr` with `port` added when it has none. */
function withPort(addr: string, port: number): string {
  try {
    splitHostPort(addr);
    return addr;
  } catch {
    return addr.includes(":") && !addr.startsWith("[") ? `[${addr}]:${port}` : `${addr}:${port}`;
  }
}
