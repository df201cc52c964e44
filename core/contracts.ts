/**
 * The contracts every protocol and transport implements: listeners accept conns, handlers speak a protocol on them, the router reaches targets.
 * @module
 */
import { type Conn, type Network, splitHostPort } from "./conn.ts";
import type { Logger } from "./log.ts";
import type { Metadata } from "./metadata.ts";

/** A target node of a forwarder or a hop: where to dial and how it is chosen. */
export interface Node {
  /** The node's name (`node-0`, `target-0`, …). */
  readonly name: string;
  /** `host:port` to dial. */
  readonly addr: string;
  /** Optional network override (`tcp`/`udp`). */
  readonly network?: string;
  /** Weight for `random` (default 1). */
  readonly weight: number;
  /** Used only when every non-backup node is dead. */
  readonly backup: boolean;
  /** The node's own options. */
  readonly metadata?: Metadata;
  /** Reverse-proxy routing of a forwarder node (GOST's `filter`, `http`, `tls`), read by sniffing handlers. */
  readonly route?: NodeRoute;
}

/**
 * How a sniffing forwarder routes to a node and what it changes on the way (GOST's forwarder node `filter`, `http`
 * and `tls`; core/config/forward_node.ts reads them from the config).
 */
export interface NodeRoute {
  /** Host filter (lower case): a name, or `.example.com` for the domain and its subdomains; `""` matches any. */
  readonly host: string;
  /** Protocol filter (`http`, `tls`, `ssh`, `redis`); `""` matches any. */
  readonly protocol: string;
  /** URL path prefix filter for HTTP; `""` matches any. */
  readonly path: string;
  /** What is done to sniffed HTTP requests sent to the node and their responses. */
  readonly http?: NodeHttpSettings;
  /** The node is dialed with TLS (re-origination): these client settings. */
  readonly tls?: ClientTlsOptions & { readonly options?: Readonly<Record<string, unknown>> };
}

/** A regular-expression rewrite with a Go-style replacement (`$1`, `${name}`, `$$`). */
export interface RegexRewrite {
  /** The pattern (GOST's Go regexp, translated). */
  readonly pattern: RegExp;
  /** The replacement, expanded as Go's `Regexp.Expand` does. */
  readonly replacement: string;
}

/** A body rewrite rule (GOST's `rewriteBody` / `rewriteResponseBody` / `rewriteRequestBody` entries). */
export interface BodyRewrite extends RegexRewrite {
  /** The content types (without parameters, lower case) the rule applies to; `["*"]`: every type. */
  readonly types: readonly string[];
  /** The largest body rewritten; a larger one passes unchanged. */
  readonly maxBytes: number;
}

/** GOST's `http` settings of a forwarder node. */
export interface NodeHttpSettings {
  /** Replaces the request's Host header; `""` keeps it. */
  readonly host: string;
  /** Request headers set on every request (an empty value deletes the header). */
  readonly requestHeader: readonly (readonly [string, string])[];
  /** Response headers set on every response. */
  readonly responseHeader: readonly (readonly [string, string])[];
  /** URL path rewrites, tried in order; the first that matches and yields a non-empty path wins. */
  readonly rewriteURL: readonly RegexRewrite[];
  /** Request body rewrites. */
  readonly rewriteRequestBody: readonly BodyRewrite[];
  /** Response body rewrites. */
  readonly rewriteResponseBody: readonly BodyRewrite[];
  /** Response statuses that mark the node failed (GOST's `failCodes`); absent: none. */
  readonly failCodes?: (status: number) => boolean;
  /** Basic authentication of clients before the request goes to the node. */
  readonly auth?: Authenticator;
}

/** A forwarding handler's fixed targets and their selector (core/routing/node_group.ts implements it). */
export interface ForwardTargets {
  /** Every target, dead or alive. */
  readonly nodes: readonly Node[];
  /** The next live node (by the selector's strategy), skipping `exclude`; undefined when none is left. */
  select(hashKey?: string, exclude?: ReadonlySet<Node>): Node | undefined;
  /** Counts a failure of `node` (dead after `maxFails` for `failTimeout`). */
  markFailed(node: Node): void;
  /** Clears `node`'s failures. */
  markOk(node: Node): void;
}

/** Checks credentials; returns the client id (the user name) or null. */
export interface Authenticator {
  /** The client id for these credentials, or null when they are refused. */
  authenticate(username: string, password: string): string | null;
}

/** Options of one dial. */
export interface DialOptions {
  /** Aborts the dial (service close). */
  signal?: AbortSignal;
  /** The connection's logger, for route lines. */
  logger?: Logger;
  /** Client id or IP for the `hash` selector. */
  hashKey?: string;
  /** The address of the client the dial is for (`ConnContext.src`): the router's loop guard reads its trail. */
  src?: string;
  /** Set by the router on every dial through a chain: see {@link DirectDial}. */
  direct?: DirectDial;
}

/**
 * Opens a conn from this host to `addr` (the target, or the next node of the chain) for a connector that reaches
 * it itself (GOST's `direct`/`virtual`, given its dialer in the connect options): the router's own dial, with its
 * checks (own endpoints, the loop guard).
 */
export type DirectDial = (network: Network, addr: string, signal?: AbortSignal) => Promise<Conn>;

/** The address of one datagram: where it came from or goes to (`host` an IP, or a name through a chain). */
export interface PacketAddr {
  /** IP or host name. */
  readonly host: string;
  /** UDP port. */
  readonly port: number;
}

/** One datagram and its peer's address. */
export interface Packet {
  /** The payload, valid until the next `readFrom()`. */
  readonly data: Uint8Array;
  /** Where it came from. */
  readonly addr: PacketAddr;
}

/**
 * A datagram socket whose every packet names its own peer (GOST's `net.PacketConn`): one association that carries
 * datagrams to any number of targets (docs/architecture.md, "Datagram sessions").
 */
export interface PacketConn {
  /** The local end's address. */
  readonly localAddr: Deno.Addr;
  /** The next datagram and its source; null once the association ends or is closed. */
  readFrom(): Promise<Packet | null>;
  /**
   * Sends one datagram to `to`; resolves with its length, or 0 when it was dropped (a destination the rules refuse,
   * one that cannot be reached: logged at debug, as a lost datagram).
   * @throws when the association itself failed
   */
  writeTo(data: Uint8Array, to: PacketAddr): Promise<number>;
  /** Ends the association and releases its sockets; a pending `readFrom()` resolves null. */
  close(): void;
}

/** Reaches targets: directly now; through hosts, resolver, bypass and chains as they are configured. */
export interface Router {
  /**
   * Opens a conn to `addr` (`host:port`). For `udp` the conn is a datagram conn to that one target.
   * @throws {DialError} naming the target when every attempt fails
   */
  dial(network: Network, addr: string, opts?: DialOptions): Promise<Conn>;
  /** Listens on `addr` at the far end of the chain (remote port forwarding); absent when unsupported. */
  bind?(network: Network, addr: string, opts?: DialOptions): Promise<Listener>;
  /**
   * A key under which conns to `addr` may be kept and shared between clients: the target and the path a dial to it
   * takes, when that path is always the same (no chain, or one node in every hop). Undefined when every dial may
   * pick another path (a hop with several nodes: sharing would defeat its selector) or the target is bypassed.
   */
  reuseKey?(network: Network, addr: string): Promise<string | undefined>;
  /**
   * Resolves `addr` as a direct dial would and applies the same rules (bypass, own-endpoint guard) without dialing:
   * for sockets that send datagrams to targets themselves (relay UDP BIND). Absent: no rules to apply.
   * @returns the canonical `ip:port` to send to
   * @throws {PolicyError} when the rules refuse the target
   */
  resolveDirect?(network: Network, addr: string, opts?: DialOptions): Promise<string>;
  /**
   * Opens one UDP association with no fixed target (GOST's `Dial(ctx, "udp", "")`): a local socket for a direct
   * route, one upstream association through a chain. Every packet's destination passes the rules a dial to it would.
   * Absent: one `dial("udp", …)` per target.
   * @throws {DialError} when the chain cannot be reached
   */
  dialPacket?(opts?: DialOptions): Promise<PacketConn>;
}

/** One accepted connection's facts (sing-box's inbound context). */
export interface ConnContext {
  /** Unique id of the connection, as GOST's `sid`. */
  readonly sid: string;
  /** The service's name. */
  readonly service: string;
  /** The client's address, `host:port`. */
  readonly src: string;
  /** Aborted when the service closes. */
  readonly signal: AbortSignal;
  /** The connection's child logger. */
  logger: Logger;
  /** The id the authenticator returned, once the client is authenticated. */
  clientId?: string;
  /** The target, once known. */
  dst?: string;
  /** Bytes moved on the client conn so far (live counters for metrics and observers). */
  readonly traffic?: () => { inputBytes: number; outputBytes: number };
}

/** Options every listener receives. */
export interface ListenerOptions {
  /** `host:port` to bind (`:port` = all interfaces). */
  readonly addr: string;
  /** The service's logger. */
  readonly logger: Logger;
  /** The service's name. */
  readonly service: string;
  /** The service's router (a listener such as rtcp dials through it). */
  readonly router: Router;
  /** TLS settings for TLS-based listeners (certificate, key, client CA). */
  readonly tls?: ServerTlsOptions;
}

/** Accepts conns of one transport. */
export interface Listener {
  /** Binds; errors here fail the service. */
  init(md: Metadata): Promise<void>;
  /** The bound address (after init). */
  readonly addr: Deno.Addr;
  /** The next conn. Rejects with {@link ListenerClosedError} once closed. */
  accept(): Promise<Conn>;
  /** Stops accepting; a pending `accept()` rejects. */
  close(): void;
}

/** Options every handler receives. */
export interface HandlerOptions {
  /** The service's name. */
  readonly service: string;
  /** The service's logger. */
  readonly logger: Logger;
  /** Reaches targets: bypass, hosts/resolver, chain, dial. */
  readonly router: Router;
  /** Client authentication, when configured. */
  readonly auth?: Authenticator;
  /**
   * The raw user and password of the service's one inline user (`handler.auth`, or the `-L` URL's user info), for
   * handlers that use them as keys rather than to check clients (Shadowsocks: method and password). Absent with an
   * auth file or named authers.
   */
  readonly credentials?: HandlerCredentials;
  /** Fixed targets (forwarder nodes), for forwarding handlers. */
  readonly forwarder?: ForwardTargets;
  /**
   * The service's hosts table (`hosts`), looked up at each use, for a handler that answers names itself (a DNS
   * proxy's A/AAAA answers); core/routing/hosts.ts's `HostTable` fits. Absent: the service has none.
   */
  readonly hosts?: () => HandlerHosts | undefined;
  /**
   * The service bypass, looked up at each use, for a handler registered with `ownBypass` (its router is then built
   * without it); core/routing/bypass.ts's `BypassChecker` fits. Absent otherwise.
   */
  readonly bypass?: () => HandlerBypass | undefined;
}

/** What a handler looks names up in (core/routing/hosts.ts's `HostTable`). */
export interface HandlerHosts {
  /** The IPs `host` maps to for `network` (`ip`, `ip4`, `ip6`), or an empty array. */
  lookup(network: string, host: string): string[];
}

/** What a handler that applies the service bypass itself asks (core/routing/bypass.ts's `BypassChecker`). */
export interface HandlerBypass {
  /** True means "bypass" `addr` (a host, or `host:port`) on `network`. */
  contains(network: string, addr: string): boolean;
}

/**
 * A count a handler keeps besides the service's (a DNS proxy's cache hits): the service's stats show it as `key`
 * (with `enableStats`), the metrics as the counter `metric` labelled `host` and `service`.
 */
export interface HandlerCounter {
  /** The field in the service's `stats` (camelCase). */
  readonly key: string;
  /** The Prometheus counter (`gost_service_…_total`). */
  readonly metric: string;
  /** The counter's help text. */
  readonly help: string;
  /** The count so far. */
  readonly value: number;
}

/** A service's one configured user and password, as written in its config. */
export interface HandlerCredentials {
  /** The user name. */
  readonly username: string;
  /** The password (`""` when none is given). */
  readonly password: string;
}

/** Speaks one protocol on accepted conns. A handler owns the conn and closes it before its promise settles. */
export interface Handler {
  /** Reads the handler's metadata; rejects with a ConfigError on a bad value. */
  init(md: Metadata): Promise<void>;
  /** Serves one client conn to its end and closes it. */
  handle(conn: Conn, ctx: ConnContext): Promise<void>;
  /** Releases shared resources at service close. */
  close?(): void;
  /** Counts of its own, shown in the service's stats and metrics (see {@link HandlerCounter}). */
  counters?(): readonly HandlerCounter[];
}

/** Client-side TLS settings of a dialer or connector (`tls:` of a node, or URL keys on `-F`). */
export interface ClientTlsOptions {
  /** Verify the server certificate (GOST's default is false: skip verification). */
  secure?: boolean;
  /** SNI and the name verified (defaults to the node's host). */
  serverName?: string;
  /** PEM file of CAs to trust. */
  caFile?: string;
  /** Client certificate for mTLS. */
  certFile?: string;
  /** Private key of the client certificate. */
  keyFile?: string;
}

/** Server-side TLS settings of a listener (`tls:` of a listener or the global `tls:`). */
export interface ServerTlsOptions {
  /** PEM certificate file (a self-signed one is made when absent). */
  certFile?: string;
  /** PEM private key file of the certificate. */
  keyFile?: string;
  /** Require and verify client certificates signed by these CAs (mTLS). */
  caFile?: string;
}

/** Credentials a connector or dialer sends to the next hop. */
export interface ClientAuth {
  /** The user name. */
  username: string;
  /** The password; absent sends an empty one. */
  password?: string;
}

/** Options every dialer and connector receives. */
export interface ClientPluginOptions {
  /** The logger of the chain or service that uses the plugin. */
  readonly logger: Logger;
  /** Credentials for the node, when configured. */
  readonly auth?: ClientAuth;
  /** TLS settings for the node, when configured. */
  readonly tls?: ClientTlsOptions;
}

/**
 * Client-side transport to a node: opens the conn (`dial`) or wraps an existing one (`handshake`, e.g. TLS over a
 * conn that earlier hops opened). Mirror of a listener.
 */
export interface Dialer {
  /** Reads the dialer's metadata (and files it names); rejects with a ConfigError on a bad value. */
  init(md: Metadata): Promise<void>;
  /** Opens a new conn to `addr` (`host:port`), transport handshake included: the first node of a route. */
  dial(addr: string, opts?: DialOptions): Promise<Conn>;
  /**
   * Wraps a conn that earlier hops opened to the node (TLS, WebSocket upgrade, …): the nodes after the first.
   * Absent = the conn is used as is.
   */
  handshake?(conn: Conn, addr: string, opts?: DialOptions): Promise<Conn>;
  /**
   * Present on a multiplexing transport (mtcp, mtls, …; GOST's `Multiplexer`): starts a session over a conn to the
   * node that `dial` (first node) or `handshake` (through earlier hops) opened. The chain keeps one session per node,
   * opens a stream on it for every dial through the node and starts a new session once it has ended; the hops before
   * the node only carry the session's conn (docs/architecture.md, "Multiplexing dialers").
   */
  multiplex?(conn: Conn, addr: string, opts?: DialOptions): Promise<DialerSession>;
}

/** A session of a multiplexing dialer: many conns (streams) over one conn to the node. */
export interface DialerSession {
  /**
   * Opens a stream: a conn to the node that its connector speaks on.
   * @throws once the session has ended
   */
  open(): Promise<Conn>;
  /** True once the session has ended (its conn failed or closed). */
  readonly closed: boolean;
  /** Settles (never rejects) once the session has ended. */
  readonly done: Promise<void>;
  /** Ends the session, its streams and its conn. */
  close(): void;
  /** Live figures of the session (the Web API's `GET /sessions`); absent: the dialer keeps none. */
  stats?(): MuxSessionStats;
}

/** Live figures of one multiplexed session (README.md, "Web API", `GET /sessions`). Times are epoch milliseconds. */
export interface MuxSessionStats {
  /** The dialer's transport (`mtcp`, `mtls`, …). */
  transport: string;
  /** Local address of the session's conn (`host:port`). */
  local: string;
  /** Peer address of the session's conn (`host:port`). */
  remote: string;
  /** Streams open now. */
  streamsOpen: number;
  /** Streams opened over the session's life (by either end). */
  streamsTotal: number;
  /** Bytes of frames received (headers included). */
  bytesIn: number;
  /** Bytes of frames sent (headers included). */
  bytesOut: number;
  /** When the session started. */
  createdAt: number;
  /** When the last frame of any kind arrived; null: none yet. */
  lastReceivedAt: number | null;
  /** When the peer's last keep-alive (smux NOP) arrived; null: none yet. */
  lastKeepaliveAt: number | null;
  /**
   * Keep-alive round trip in ms; null when the protocol cannot measure it (smux NOPs are never answered, so the
   * peer's own keep-alives, `lastKeepaliveAt`, are what shows that it is alive).
   */
  keepaliveRttMs: number | null;
  /** The keep-alive timeout in ms (0: keep-alive disabled). */
  keepaliveTimeoutMs: number;
  /** Why it ended (`keepalive`, `peer`, `error`, `local`); null while open. */
  closeReason: MuxCloseReason | null;
}

/** Why a multiplexed session ended: nothing arrived for the keep-alive timeout, the peer closed, an error, or this side closed it. */
export type MuxCloseReason = "keepalive" | "peer" | "error" | "local";

/**
 * Client-side proxy protocol over a conn to a node: asks it to connect to `addr`. Mirror of a handler.
 * For `udp` the returned conn is a datagram conn (one read = one datagram) to that target.
 */
export interface Connector {
  /** Reads the connector's metadata (and files it names); rejects with a ConfigError on a bad value. */
  init(md: Metadata): Promise<void>;
  /** Asks the node on `conn` to connect to `addr` (`host:port`); resolves with the conn to the target. */
  connect(conn: Conn, network: Network, addr: string, opts?: DialOptions): Promise<Conn>;
  /** Asks the node to listen on `addr` and hand back accepted conns (remote port forwarding). */
  bind?(conn: Conn, network: Network, addr: string, opts?: DialOptions): Promise<Listener>;
  /**
   * Packet capability: whether {@link Connector.connectPacket} works when the node is the route's first (`firstHop`)
   * or a later one (standard SOCKS5 ASSOCIATE sends its datagrams from this host straight to the node: first only).
   */
  canConnectPacket?(firstHop: boolean): boolean;
  /** Opens one association on `conn` that carries datagrams to any target. A failure closes `conn`. */
  connectPacket?(conn: Conn, opts?: DialOptions): Promise<PacketConn>;
}

// A factory may return a promise: the built-in registrations import their implementation on first use, so a
// process loads only the protocols its config names (docs/architecture.md, "Module loading").

/** Builds a dialer. */
export type DialerFactory = (opts: ClientPluginOptions) => Dialer | Promise<Dialer>;
/** Builds a connector. */
export type ConnectorFactory = (opts: ClientPluginOptions) => Connector | Promise<Connector>;

/** Builds a listener. */
export type ListenerFactory = (opts: ListenerOptions) => Listener | Promise<Listener>;
/** Builds a handler. */
export type HandlerFactory = (opts: HandlerOptions) => Handler | Promise<Handler>;

/** Thrown by `accept()` after `close()`. */
export class ListenerClosedError extends Error {
  constructor() {
    super("Listener closed");
    this.name = "ListenerClosedError";
  }
}

/** The host of a `host:port` or `[v6]:port` client address (its hash key). */
function clientHost(src: string): string {
  try {
    return splitHostPort(src).host;
  } catch {
    return src; // a unix socket path
  }
}

/**
 * The dial options for one connection: its abort signal, its logger, the `hash` selector key (the
 * authenticated client id, else the client IP) and the client's address.
 * @example await router.dial("tcp", dst, dialOptions(ctx));
 */
export function dialOptions(ctx: ConnContext): DialOptions {
  return {
    signal: ctx.signal,
    logger: ctx.logger,
    hashKey: ctx.clientId ?? clientHost(ctx.src),
    src: ctx.src,
  };
}
