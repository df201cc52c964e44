/**
 * The types of GOST v3's config (YAML or JSON, camelCase keys) and the lists of its top-level keys. Plain types and
 * data: importing this module loads no validator. `core/config/schema.ts` holds the zod schemas that validate a
 * config against these types (its schemas are annotated with them, so the compiler keeps both in step); a module
 * that validates loads it on first use through `loadSchema()` of `core/config/load_schema.ts`
 * (docs/architecture.md, "Module loading").
 *
 * Every object is open, as the schema's objects are loose: unknown keys pass through untouched (Go's decoders ignore
 * them), so each interface ends with an index signature of `unknown` values.
 * @module
 */

/** A duration: a Go duration string (`"10s"`, `"1m30s"`) or a number of seconds. */
export type Duration = string | number;

/** Free-form `metadata` of a service, handler, listener, node, …: keys and values as the config gives them. */
export type MetadataConfig = Record<string, unknown>;

/** `{username, password, file}`: one set of credentials, or a file of them. */
export interface AuthConfig {
  /** The user name. */
  username?: string;
  /** The password. */
  password?: string;
  /** A file of `user password` lines. */
  file?: string;
  /** Unknown keys, kept as given. */
  [key: string]: unknown;
}

/** A TLS block (the top-level `tls`, or a handler's, listener's, connector's or dialer's). */
export interface TlsConfig {
  /** The certificate file (PEM). */
  certFile?: string;
  /** The private key file (PEM). */
  keyFile?: string;
  /** The CA file (PEM) peers are verified against. */
  caFile?: string;
  /** Verify the peer's certificate. */
  secure?: boolean;
  /** The server name sent and verified. */
  serverName?: string;
  /** Further options (versions, cipher suites, ALPN). */
  options?: { [key: string]: unknown };
  /** Unknown keys, kept as given. */
  [key: string]: unknown;
}

/** A node selector `{strategy, maxFails, failTimeout}`. */
export interface SelectorConfig {
  /** `round`, `rand`, `fifo`, `hash`. */
  strategy?: string;
  /** Failures before a node is marked dead (an integer). */
  maxFails?: number;
  /** How long a dead node stays out. */
  failTimeout?: Duration;
  /** Unknown keys, kept as given. */
  [key: string]: unknown;
}

/** A plugin reference `{type, addr, token, timeout}`: a named object served by an external gRPC or HTTP plugin. */
export interface PluginConfig {
  /** `grpc` or `http`. */
  type?: string;
  /** The plugin's address. */
  addr?: string;
  /** The token sent to the plugin. */
  token?: string;
  /** The timeout of one call. */
  timeout?: Duration;
  /** Unknown keys, kept as given. */
  [key: string]: unknown;
}

/** A forwarder target (a node of `forwarder.nodes`). */
export interface ForwardNodeConfig {
  /** The node's name. */
  name?: string;
  /** The target address (required). */
  addr: string;
  /** The target's network. */
  network?: string;
  /** A bypass by name. */
  bypass?: string;
  /** Bypasses by name. */
  bypasses?: string[];
  /** The protocol matched by the sniffing forwarders (GOST's older spelling of `filter.protocol`). */
  protocol?: string;
  /** The host matched by the sniffing forwarders (GOST's older spelling of `filter.host`). */
  host?: string;
  /** The path matched by the sniffing forwarders (GOST's older spelling of `filter.path`). */
  path?: string;
  /** Basic auth asked of HTTP clients before their requests go to the node (GOST's older `http.auth`). */
  auth?: AuthConfig;
  /** What a sniffed conn must match to go to the node. */
  filter?: NodeFilterConfig;
  /** What is done to sniffed HTTP requests sent to the node. */
  http?: HttpNodeConfig;
  /** The node is dialed with TLS (`serverName`, `secure`, `options`). */
  tls?: TlsConfig;
  /** Free-form metadata. */
  metadata?: MetadataConfig;
  /** Unknown keys, kept as given. */
  [key: string]: unknown;
}

/** A forwarder node's `filter: {host, protocol, path}`. */
export interface NodeFilterConfig {
  /** The sniffed HTTP Host or TLS server name: a name, `*.example.com` or `.example.com`. */
  host?: string;
  /** The sniffed protocol: `http`, `tls`, `ssh`, `redis`. */
  protocol?: string;
  /** The HTTP URL path prefix. */
  path?: string;
  /** Unknown keys, kept as given. */
  [key: string]: unknown;
}

/** A URL rewrite rule `{match, replacement}` of a node's `http.rewriteURL`. */
export interface HttpUrlRewriteConfig {
  /** The path pattern (a Go regexp). */
  match?: string;
  /** The replacement (`$1`, `${name}`). */
  replacement?: string;
  /** Unknown keys, kept as given. */
  [key: string]: unknown;
}

/** A body rewrite rule `{type, match, replacement, maxChunkSize}` of a node's `http.rewrite*Body`. */
export interface HttpBodyRewriteConfig {
  /** The content types it applies to (comma-separated, `*` for all; default `text/html`). */
  type?: string;
  /** The body pattern (a Go regexp). */
  match?: string;
  /** The replacement (`$1`, `${name}`). */
  replacement?: string;
  /** A rewriter plugin by name. */
  rewriter?: string;
  /** The largest body rewritten. */
  maxChunkSize?: number;
  /** Unknown keys, kept as given. */
  [key: string]: unknown;
}

/** A forwarder node's `http` settings. */
export interface HttpNodeConfig {
  /** The Host header sent to the node. */
  host?: string;
  /** Request headers (GOST's older spelling of `requestHeader`). */
  header?: Record<string, string>;
  /** Request headers set (an empty value deletes). */
  requestHeader?: Record<string, string>;
  /** Response headers set. */
  responseHeader?: Record<string, string>;
  /** URL rewrites (GOST's older spelling of `rewriteURL`). */
  rewrite?: HttpUrlRewriteConfig[];
  /** URL path rewrites. */
  rewriteURL?: HttpUrlRewriteConfig[];
  /** Response body rewrites (GOST's older spelling of `rewriteResponseBody`). */
  rewriteBody?: HttpBodyRewriteConfig[];
  /** Request body rewrites. */
  rewriteRequestBody?: HttpBodyRewriteConfig[];
  /** Response body rewrites. */
  rewriteResponseBody?: HttpBodyRewriteConfig[];
  /** Response statuses that mark the node failed (`"429,5xx"`). */
  failCodes?: string;
  /** Basic auth asked of clients. */
  auth?: AuthConfig;
  /** Unknown keys, kept as given. */
  [key: string]: unknown;
}

/** `forwarder: {name|hop, selector, nodes}`. */
export interface ForwarderConfig {
  /** The forwarder's name. */
  name?: string;
  /** A top-level hop to take the nodes from. */
  hop?: string;
  /** How a target is chosen. */
  selector?: SelectorConfig;
  /** The targets. */
  nodes?: ForwardNodeConfig[];
  /** Unknown keys, kept as given. */
  [key: string]: unknown;
}

/** `handler: {type, retries, chain, auther, authers, auth, tls, …, metadata}`. */
export interface HandlerConfig {
  /** The handler type. */
  type?: string;
  /** How often a failed dial is retried (an integer, 0 or more). */
  retries?: number;
  /** The chain dials go through, by name. */
  chain?: string;
  /** A chain group. */
  chainGroup?: { [key: string]: unknown };
  /** An auther by name. */
  auther?: string;
  /** Authers by name. */
  authers?: string[];
  /** Inline credentials. */
  auth?: AuthConfig;
  /** The handler's TLS. */
  tls?: TlsConfig;
  /** A limiter by name. */
  limiter?: string;
  /** An observer by name. */
  observer?: string;
  /** Free-form metadata. */
  metadata?: MetadataConfig;
  /** Unknown keys, kept as given. */
  [key: string]: unknown;
}

/** `listener: {type, chain, auther, authers, auth, tls, metadata}`. */
export interface ListenerConfig {
  /** The listener type. */
  type?: string;
  /** The chain a tunnel listener listens through, by name. */
  chain?: string;
  /** A chain group. */
  chainGroup?: { [key: string]: unknown };
  /** An auther by name. */
  auther?: string;
  /** Authers by name. */
  authers?: string[];
  /** Inline credentials. */
  auth?: AuthConfig;
  /** The listener's TLS. */
  tls?: TlsConfig;
  /** Free-form metadata. */
  metadata?: MetadataConfig;
  /** Unknown keys, kept as given. */
  [key: string]: unknown;
}

/** A service's recorder reference `{name, record, metadata}`. */
export interface ServiceRecorderConfig {
  /** The recorder's name (required). */
  name: string;
  /** What is recorded. */
  record?: string;
  /** Free-form metadata. */
  metadata?: MetadataConfig;
  /** Unknown keys, kept as given. */
  [key: string]: unknown;
}

/** One service: a listener, a handler and what they use. */
export interface ServiceConfig {
  /** The service's name (required, non-empty). */
  name: string;
  /** The listen address. */
  addr?: string;
  /** The interface (or address) outgoing conns bind to. */
  interface?: string;
  /** Socket options. */
  sockopts?: {
    /** The SO_MARK of outgoing conns (an integer). */
    mark?: number;
    /** Unknown keys, kept as given. */
    [key: string]: unknown;
  };
  /** An admission by name. */
  admission?: string;
  /** Admissions by name. */
  admissions?: string[];
  /** A bypass by name. */
  bypass?: string;
  /** Bypasses by name. */
  bypasses?: string[];
  /** A resolver by name. */
  resolver?: string;
  /** A hosts mapper by name. */
  hosts?: string;
  /** A traffic limiter by name. */
  limiter?: string;
  /** A connection limiter by name. */
  climiter?: string;
  /** A rate limiter by name. */
  rlimiter?: string;
  /** A logger by name. */
  logger?: string;
  /** Loggers by name. */
  loggers?: string[];
  /** An observer by name. */
  observer?: string;
  /** Recorders by name. */
  recorders?: ServiceRecorderConfig[];
  /** The handler. */
  handler?: HandlerConfig;
  /** The listener. */
  listener?: ListenerConfig;
  /** The forwarder (port forwarding and reverse proxies). */
  forwarder?: ForwarderConfig;
  /** Free-form metadata. */
  metadata?: MetadataConfig;
  /** The status the Web API reports (ignored on input). */
  status?: unknown;
  /** Unknown keys, kept as given. */
  [key: string]: unknown;
}

/** A node's `connector` or `dialer` block `{type, auth, tls, metadata}`. */
export interface ConnectorConfig {
  /** The connector or dialer type. */
  type?: string;
  /** Credentials sent to the node. */
  auth?: AuthConfig;
  /** The TLS of the conn to the node. */
  tls?: TlsConfig;
  /** Free-form metadata. */
  metadata?: MetadataConfig;
  /** Unknown keys, kept as given. */
  [key: string]: unknown;
}

/** A chain node. */
export interface NodeConfig {
  /** The node's name. */
  name?: string;
  /** The node's address. */
  addr?: string;
  /** The node's network. */
  network?: string;
  /** A bypass by name. */
  bypass?: string;
  /** Bypasses by name. */
  bypasses?: string[];
  /** A resolver by name. */
  resolver?: string;
  /** A hosts mapper by name. */
  hosts?: string;
  /** How the node's protocol is spoken. */
  connector?: ConnectorConfig;
  /** How the conn to the node is made. */
  dialer?: ConnectorConfig;
  /** The interface (or address) the conn binds to. */
  interface?: string;
  /** Free-form metadata. */
  metadata?: MetadataConfig;
  /** Unknown keys, kept as given. */
  [key: string]: unknown;
}

/** A hop: a group of nodes, one of which a route takes. */
export interface HopConfig {
  /** The hop's name (required for a top-level hop, see {@link NamedHopConfig}). */
  name?: string;
  /** The interface (or address) the hop's conns bind to. */
  interface?: string;
  /** How a node is chosen. */
  selector?: SelectorConfig;
  /** A bypass by name. */
  bypass?: string;
  /** Bypasses by name. */
  bypasses?: string[];
  /** A resolver by name. */
  resolver?: string;
  /** A hosts mapper by name. */
  hosts?: string;
  /** The nodes. */
  nodes?: NodeConfig[];
  /** A JSON file of more nodes (README.md, "Data sources: file and reload"). */
  file?: { path: string; [key: string]: unknown };
  /** How often `file` is re-read (a duration; absent: once). */
  reload?: string | number;
  /** Free-form metadata. */
  metadata?: MetadataConfig;
  /** Unknown keys, kept as given. */
  [key: string]: unknown;
}

/** A top-level hop (`hops:`): a hop whose name is required, as chains refer to it by name. */
export interface NamedHopConfig extends HopConfig {
  /** The hop's name (required, non-empty). */
  name: string;
}

/** A chain: hops a dial goes through in order. */
export interface ChainConfig {
  /** The chain's name (required, non-empty). */
  name: string;
  /** The hops, in order. */
  hops?: HopConfig[];
  /** Free-form metadata. */
  metadata?: MetadataConfig;
  /** Unknown keys, kept as given. */
  [key: string]: unknown;
}

/** The common part of a named top-level object (an auther, a bypass, …): its name and an optional plugin. */
export interface NamedConfig {
  /** The object's name (required, non-empty). */
  name: string;
  /** An external plugin serving the object. */
  plugin?: PluginConfig;
  /** Unknown keys, kept as given. */
  [key: string]: unknown;
}

/** An auther: credentials inline or from a file. */
export interface AutherConfig extends NamedConfig {
  /** The credentials. */
  auths?: AuthConfig[];
  /** A file of credentials. */
  file?: {
    /** The file's path (required). */
    path: string;
    /** Unknown keys, kept as given. */
    [key: string]: unknown;
  };
}

/** An admission or a bypass: address matchers, as a whitelist or a blacklist. */
export interface MatcherListConfig extends NamedConfig {
  /** Whether the matchers list what is allowed (else what is refused). */
  whitelist?: boolean;
  /** Addresses, CIDRs, domains, wildcards. */
  matchers?: string[];
}

/** A resolver: its nameservers. */
export interface ResolverConfig extends NamedConfig {
  /** The nameservers, each an `{addr, …}`. */
  nameservers?: {
    /** The nameserver's address (required). */
    addr: string;
    /** Unknown keys, kept as given. */
    [key: string]: unknown;
  }[];
}

/** A hosts mapper: hostname-to-IP mappings. */
export interface HostsConfig extends NamedConfig {
  /** The mappings. */
  mappings?: {
    /** The IP address (required). */
    ip: string;
    /** The hostname (required). */
    hostname: string;
    /** Unknown keys, kept as given. */
    [key: string]: unknown;
  }[];
}

/** An ingress: rules `hostname → endpoint` (a tunnel id) for the reverse-proxy tunnel (core/routing/ingress.ts). */
export interface IngressConfig extends NamedConfig {
  /** The rules. */
  rules?: {
    /** `example.com`, `.example.com` (and subdomains), or a raw port `tcp://:2222` / `udp://:5353` (required). */
    hostname: string;
    /** The tunnel id, `$` in front for a private rule (required). */
    endpoint: string;
    /** Unknown keys, kept as given. */
    [key: string]: unknown;
  }[];
}

/** A limiter, a connection limiter or a rate limiter: its limits. */
export interface LimiterConfig extends NamedConfig {
  /** The limits, each a `SCOPE LIMIT` line. */
  limits?: string[];
}

/** `log: {level, format, output, rotation}`. */
export interface LogConfig {
  /** `trace`, `debug`, `info`, `warn`, `error`, `fatal`. */
  level?: string;
  /** `text` or `json`. */
  format?: string;
  /** `stderr`, `stdout`, `none` or a file path. */
  output?: string;
  /** Log file rotation. */
  rotation?: { [key: string]: unknown };
  /** Unknown keys, kept as given. */
  [key: string]: unknown;
}

/** A named logger. */
export interface LoggerConfig extends NamedConfig {
  /** What it logs and where. */
  log?: LogConfig;
}

/** The bounds of the built-in HTTP servers (gost.ts additions; core/http1/limits.ts). */
export interface ServerBoundsConfig {
  /** The time to read a request. */
  readTimeout?: Duration;
  /** The time to write a response. */
  writeTimeout?: Duration;
  /** How long an idle keep-alive conn is kept. */
  idleTimeout?: Duration;
  /** The most conns at once (an integer, or a string of one). */
  maxConns?: number | string;
}

/** `api: {addr, pathPrefix, accesslog, auth, auther}`, plus `allowOrigins` and the server bounds (gost.ts). */
export interface ApiConfig extends ServerBoundsConfig {
  /** The listen address. */
  addr?: string;
  /** The prefix of every path. */
  pathPrefix?: string;
  /** Log every request. */
  accesslog?: boolean;
  /** Inline credentials. */
  auth?: AuthConfig;
  /** An auther by name. */
  auther?: string;
  /** The origins allowed cross-origin requests (one, or a list). */
  allowOrigins?: string | string[];
  /** Unknown keys, kept as given. */
  [key: string]: unknown;
}

/** `metrics: {addr, path, auth, auther}`, plus the server bounds (gost.ts). */
export interface MetricsConfig extends ServerBoundsConfig {
  /** The listen address. */
  addr?: string;
  /** The path of the metrics. */
  path?: string;
  /** Inline credentials. */
  auth?: AuthConfig;
  /** An auther by name. */
  auther?: string;
  /** Unknown keys, kept as given. */
  [key: string]: unknown;
}

/** `profiling: {addr}`. */
export interface ProfilingConfig {
  /** The listen address. */
  addr?: string;
  /** Unknown keys, kept as given. */
  [key: string]: unknown;
}

/** The whole config (a validated config file, or the config built from the command line). */
export interface Config {
  /** The services. */
  services?: ServiceConfig[];
  /** The chains. */
  chains?: ChainConfig[];
  /** The top-level hops (chains refer to them by name). */
  hops?: NamedHopConfig[];
  /** The authers. */
  authers?: AutherConfig[];
  /** The admissions. */
  admissions?: MatcherListConfig[];
  /** The bypasses. */
  bypasses?: MatcherListConfig[];
  /** The resolvers. */
  resolvers?: ResolverConfig[];
  /** The hosts mappers. */
  hosts?: HostsConfig[];
  /** The ingresses. */
  ingresses?: IngressConfig[];
  /** The routers. */
  routers?: NamedConfig[];
  /** The service discoveries. */
  sds?: NamedConfig[];
  /** The recorders. */
  recorders?: NamedConfig[];
  /** The traffic limiters. */
  limiters?: LimiterConfig[];
  /** The connection limiters. */
  climiters?: LimiterConfig[];
  /** The rate limiters. */
  rlimiters?: LimiterConfig[];
  /** The observers. */
  observers?: NamedConfig[];
  /** The quotas. */
  quotas?: NamedConfig[];
  /** The caches. */
  caches?: NamedConfig[];
  /** The named loggers. */
  loggers?: LoggerConfig[];
  /** The default TLS. */
  tls?: TlsConfig;
  /** The default logging. */
  log?: LogConfig;
  /** The profiling server. */
  profiling?: ProfilingConfig;
  /** The Web API. */
  api?: ApiConfig;
  /** The metrics server. */
  metrics?: MetricsConfig;
  /** Unknown keys, kept as given. */
  [key: string]: unknown;
}

/** The named object kinds the Web API manages (`/config/{kind}`), in GOST's order. */
export const OBJECT_KINDS: readonly [
  "services",
  "chains",
  "hops",
  "authers",
  "admissions",
  "bypasses",
  "resolvers",
  "hosts",
  "ingresses",
  "routers",
  "sds",
  "recorders",
  "limiters",
  "climiters",
  "rlimiters",
  "observers",
  "quotas",
  "caches",
] = [
  "services",
  "chains",
  "hops",
  "authers",
  "admissions",
  "bypasses",
  "resolvers",
  "hosts",
  "ingresses",
  "routers",
  "sds",
  "recorders",
  "limiters",
  "climiters",
  "rlimiters",
  "observers",
  "quotas",
  "caches",
] as const;
/** One of {@link OBJECT_KINDS}. */
export type ObjectKind = typeof OBJECT_KINDS[number];

/** The list-valued top-level keys, in GOST's order (merged by concatenation). */
export const LIST_KEYS: readonly [...typeof OBJECT_KINDS, "loggers"] = [...OBJECT_KINDS, "loggers"] as const;
/** One of {@link LIST_KEYS}. */
export type ListKey = typeof LIST_KEYS[number];
/** The single-valued top-level keys (a later source replaces them). */
export const SINGLE_KEYS: readonly ["tls", "log", "profiling", "api", "metrics"] = [
  "tls",
  "log",
  "profiling",
  "api",
  "metrics",
] as const;
/** One of {@link SINGLE_KEYS}. */
export type SingleKey = typeof SINGLE_KEYS[number];
