/**
 * GOST v3's config schema (YAML or JSON, camelCase keys), validated with zod. Objects are loose: unknown keys pass
 * through untouched, as Go's decoders ignore them (the loader warns about them in files).
 *
 * The types live in `core/config/types.ts`; each schema here is annotated with its type, and the compiler checks
 * that what a schema accepts is exactly that type (`Same` below). Importing this module loads zod (~35 ms): modules
 * on the startup path import the types from types.ts and load this module with `loadSchema()` of
 * `core/config/load_schema.ts` when they validate (docs/architecture.md, "Module loading").
 * @module
 */
import { z } from "../deps/zod.ts";
import type {
  ApiConfig,
  AuthConfig,
  ChainConfig,
  Config,
  ForwarderConfig,
  ForwardNodeConfig,
  HandlerConfig,
  HopConfig,
  ListenerConfig,
  LogConfig,
  MetricsConfig,
  NodeConfig,
  ObjectKind,
  SelectorConfig,
  ServiceConfig,
  TlsConfig,
} from "./types.ts";

const str = z.string();
const duration = z.union([z.string(), z.number()]);
const metadata = z.record(z.string(), z.unknown());
const nameList = z.array(str);

const auth = z.looseObject({ username: str.optional(), password: str.optional(), file: str.optional() });
const tls = z.looseObject({
  certFile: str.optional(),
  keyFile: str.optional(),
  caFile: str.optional(),
  secure: z.boolean().optional(),
  serverName: str.optional(),
  options: z.looseObject({}).optional(),
});
const selector = z.looseObject({
  strategy: str.optional(),
  maxFails: z.number().int().optional(),
  failTimeout: duration.optional(),
});
const plugin = z.looseObject({
  type: str.optional(),
  addr: str.optional(),
  token: str.optional(),
  timeout: duration.optional(),
});
const nodeFilter = z.looseObject({ host: str.optional(), protocol: str.optional(), path: str.optional() });
const urlRewrite = z.looseObject({ match: str.optional(), replacement: str.optional() });
const bodyRewrite = z.looseObject({
  type: str.optional(),
  match: str.optional(),
  replacement: str.optional(),
  rewriter: str.optional(),
  maxChunkSize: z.number().int().optional(),
});
const headerMap = z.record(z.string(), z.string());
const httpNode = z.looseObject({
  host: str.optional(),
  header: headerMap.optional(),
  requestHeader: headerMap.optional(),
  responseHeader: headerMap.optional(),
  rewrite: z.array(urlRewrite).optional(),
  rewriteURL: z.array(urlRewrite).optional(),
  rewriteBody: z.array(bodyRewrite).optional(),
  rewriteRequestBody: z.array(bodyRewrite).optional(),
  rewriteResponseBody: z.array(bodyRewrite).optional(),
  failCodes: str.optional(),
  auth: auth.optional(),
});
const forwardNode = z.looseObject({
  name: str.optional(),
  addr: str,
  network: str.optional(),
  bypass: str.optional(),
  bypasses: nameList.optional(),
  protocol: str.optional(),
  host: str.optional(),
  path: str.optional(),
  auth: auth.optional(),
  filter: nodeFilter.optional(),
  http: httpNode.optional(),
  tls: tls.optional(),
  metadata: metadata.optional(),
});
const forwarder = z.looseObject({
  name: str.optional(),
  hop: str.optional(),
  selector: selector.optional(),
  nodes: z.array(forwardNode).optional(),
});
const handler = z.looseObject({
  type: str.optional(),
  retries: z.number().int().min(0).optional(),
  chain: str.optional(),
  chainGroup: z.looseObject({}).optional(),
  auther: str.optional(),
  authers: nameList.optional(),
  auth: auth.optional(),
  tls: tls.optional(),
  limiter: str.optional(),
  observer: str.optional(),
  metadata: metadata.optional(),
});
const listener = z.looseObject({
  type: str.optional(),
  chain: str.optional(),
  chainGroup: z.looseObject({}).optional(),
  auther: str.optional(),
  authers: nameList.optional(),
  auth: auth.optional(),
  tls: tls.optional(),
  metadata: metadata.optional(),
});
const service = z.looseObject({
  name: str.min(1, "name is required"),
  addr: str.optional(),
  interface: str.optional(),
  sockopts: z.looseObject({ mark: z.number().int().optional() }).optional(),
  admission: str.optional(),
  admissions: nameList.optional(),
  bypass: str.optional(),
  bypasses: nameList.optional(),
  resolver: str.optional(),
  hosts: str.optional(),
  limiter: str.optional(),
  climiter: str.optional(),
  rlimiter: str.optional(),
  logger: str.optional(),
  loggers: nameList.optional(),
  observer: str.optional(),
  recorders: z.array(z.looseObject({ name: str, record: str.optional(), metadata: metadata.optional() })).optional(),
  handler: handler.optional(),
  listener: listener.optional(),
  forwarder: forwarder.optional(),
  metadata: metadata.optional(),
  status: z.unknown().optional(),
});
const connector = z.looseObject({
  type: str.optional(),
  auth: auth.optional(),
  tls: tls.optional(),
  metadata: metadata.optional(),
});
const node = z.looseObject({
  name: str.optional(),
  addr: str.optional(),
  network: str.optional(),
  bypass: str.optional(),
  bypasses: nameList.optional(),
  resolver: str.optional(),
  hosts: str.optional(),
  connector: connector.optional(),
  dialer: connector.optional(),
  interface: str.optional(),
  metadata: metadata.optional(),
});
const hop = z.looseObject({
  name: str.optional(),
  interface: str.optional(),
  selector: selector.optional(),
  bypass: str.optional(),
  bypasses: nameList.optional(),
  resolver: str.optional(),
  hosts: str.optional(),
  nodes: z.array(node).optional(),
  file: z.looseObject({ path: str }).optional(),
  reload: duration.optional(),
  metadata: metadata.optional(),
});
const chain = z.looseObject({
  name: str.min(1, "name is required"),
  hops: z.array(hop).optional(),
  metadata: metadata.optional(),
});
const named = <T extends z.ZodRawShape = Record<never, never>>(extra: T = {} as T) =>
  z.looseObject({ name: str.min(1, "name is required"), plugin: plugin.optional(), ...extra });
const log = z.looseObject({
  level: str.optional(),
  format: str.optional(),
  output: str.optional(),
  rotation: z.looseObject({}).optional(),
});
/** The bounds of the built-in HTTP servers (gost.ts additions; core/http1/limits.ts). */
const serverBounds = {
  readTimeout: duration.optional(),
  writeTimeout: duration.optional(),
  idleTimeout: duration.optional(),
  maxConns: z.union([z.number().int(), str]).optional(),
};
const api = z.looseObject({
  addr: str.optional(),
  pathPrefix: str.optional(),
  accesslog: z.boolean().optional(),
  auth: auth.optional(),
  auther: str.optional(),
  allowOrigins: z.union([str, z.array(str)]).optional(),
  ...serverBounds,
});
const metrics = z.looseObject({
  addr: str.optional(),
  path: str.optional(),
  auth: auth.optional(),
  auther: str.optional(),
  ...serverBounds,
});
const matcherList = () => named({ whitelist: z.boolean().optional(), matchers: nameList.optional() });
const limiter = () => named({ limits: nameList.optional() });

/** The schema of one object of each kind: the elements of the config's lists. */
const objects = {
  services: service,
  chains: chain,
  hops: hop.extend({ name: str.min(1, "name is required") }),
  authers: named({ auths: z.array(auth).optional(), file: z.looseObject({ path: str }).optional() }),
  admissions: matcherList(),
  bypasses: matcherList(),
  resolvers: named({ nameservers: z.array(z.looseObject({ addr: str })).optional() }),
  hosts: named({ mappings: z.array(z.looseObject({ ip: str, hostname: str })).optional() }),
  ingresses: named({ rules: z.array(z.looseObject({ hostname: str, endpoint: str })).optional() }),
  routers: named(),
  sds: named(),
  recorders: named(),
  limiters: limiter(),
  climiters: limiter(),
  rlimiters: limiter(),
  observers: named(),
  quotas: named(),
  caches: named(),
};
const config = z.looseObject({
  services: z.array(objects.services).optional(),
  chains: z.array(objects.chains).optional(),
  hops: z.array(objects.hops).optional(),
  authers: z.array(objects.authers).optional(),
  admissions: z.array(objects.admissions).optional(),
  bypasses: z.array(objects.bypasses).optional(),
  resolvers: z.array(objects.resolvers).optional(),
  hosts: z.array(objects.hosts).optional(),
  ingresses: z.array(objects.ingresses).optional(),
  routers: z.array(objects.routers).optional(),
  sds: z.array(objects.sds).optional(),
  recorders: z.array(objects.recorders).optional(),
  limiters: z.array(objects.limiters).optional(),
  climiters: z.array(objects.climiters).optional(),
  rlimiters: z.array(objects.rlimiters).optional(),
  observers: z.array(objects.observers).optional(),
  quotas: z.array(objects.quotas).optional(),
  caches: z.array(objects.caches).optional(),
  loggers: z.array(named({ log: log.optional() })).optional(),
  tls: tls.optional(),
  log: log.optional(),
  profiling: z.looseObject({ addr: str.optional() }).optional(),
  api: api.optional(),
  metrics: metrics.optional(),
});

/** One problem a schema found in a value: where (the path into the value) and what. */
export interface ValidationIssue {
  /** The path to the offending value: `["services", 1, "handler", "type"]`. */
  readonly path: readonly PropertyKey[];
  /** What is wrong, in words. */
  readonly message: string;
}

/** What {@link Validator.safeParse} returns: the valid value, or every problem found. */
export type ValidationResult<T> =
  | {
    /** The value is valid. */
    readonly success: true;
    /** The value as validated (unknown keys kept). */
    readonly data: T;
  }
  | {
    /** The value is invalid. */
    readonly success: false;
    /** The problems found. */
    readonly error: {
      /** Each problem, in the order found. */
      readonly issues: readonly ValidationIssue[];
    };
  };

/**
 * A schema of the config, seen through what gost.ts calls on it: each exported schema below is a zod schema with
 * this type, so the public API names no zod type.
 */
export interface Validator<T> {
  /**
   * Validates `value`.
   * @throws {Error} (zod's `ZodError`) listing every problem, when the value is invalid
   */
  parse(value: unknown): T;
  /** Validates `value` without throwing. */
  safeParse(value: unknown): ValidationResult<T>;
}

/** One object of a kind: the element type of `Config[kind]`. */
export type ObjectConfig<K extends ObjectKind> = NonNullable<Config[K]>[number];

/** `{username, password, file}`. */
export const AuthSchema: Validator<AuthConfig> = auth;
/** TLS block. */
export const TlsSchema: Validator<TlsConfig> = tls;
/** Selector `{strategy, maxFails, failTimeout}`. */
export const SelectorSchema: Validator<SelectorConfig> = selector;
/** A forwarder target. */
export const ForwardNodeSchema: Validator<ForwardNodeConfig> = forwardNode;
/** `forwarder: {name|hop, selector, nodes}`. */
export const ForwarderSchema: Validator<ForwarderConfig> = forwarder;
/** `handler: {type, retries, chain, auther, authers, auth, tls, …, metadata}`. */
export const HandlerSchema: Validator<HandlerConfig> = handler;
/** `listener: {type, chain, auther, authers, auth, tls, metadata}`. */
export const ListenerSchema: Validator<ListenerConfig> = listener;
/** One service. */
export const ServiceSchema: Validator<ServiceConfig> = service;
/** A chain node. */
export const NodeSchema: Validator<NodeConfig> = node;
/** A hop. */
export const HopSchema: Validator<HopConfig> = hop;
/** A chain. */
export const ChainSchema: Validator<ChainConfig> = chain;
/** `log: {level, format, output, rotation}`. */
export const LogSchema: Validator<LogConfig> = log;
/** `api: {addr, pathPrefix, accesslog, auth, auther}`, plus `allowOrigins` and the server bounds (gost.ts). */
export const ApiSchema: Validator<ApiConfig> = api;
/** `metrics: {addr, path, auth, auther}`, plus the server bounds (gost.ts). */
export const MetricsSchema: Validator<MetricsConfig> = metrics;
/** The whole config file. */
export const ConfigSchema: Validator<Config> = config;
/** The schema of one object of each kind (`/config/{kind}` of the Web API): the element of its list in a config. */
export const OBJECT_SCHEMAS: { readonly [K in ObjectKind]: Validator<ObjectConfig<K>> } = objects;

/** True when `A` and `B` are the same type (not merely assignable: no key more or less, none typed otherwise). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
/** Compiles only when `T` is `true`. */
type Assert<T extends true> = T;
/** The compile-time check that each schema accepts exactly its hand-written type from types.ts. */
type _SchemasMatchTypes = [
  Assert<Same<z.output<typeof auth>, AuthConfig>>,
  Assert<Same<z.output<typeof tls>, TlsConfig>>,
  Assert<Same<z.output<typeof selector>, SelectorConfig>>,
  Assert<Same<z.output<typeof forwardNode>, ForwardNodeConfig>>,
  Assert<Same<z.output<typeof forwarder>, ForwarderConfig>>,
  Assert<Same<z.output<typeof handler>, HandlerConfig>>,
  Assert<Same<z.output<typeof listener>, ListenerConfig>>,
  Assert<Same<z.output<typeof service>, ServiceConfig>>,
  Assert<Same<z.output<typeof node>, NodeConfig>>,
  Assert<Same<z.output<typeof hop>, HopConfig>>,
  Assert<Same<z.output<typeof chain>, ChainConfig>>,
  Assert<Same<z.output<typeof log>, LogConfig>>,
  Assert<Same<z.output<typeof api>, ApiConfig>>,
  Assert<Same<z.output<typeof metrics>, MetricsConfig>>,
  Assert<Same<z.output<typeof config>, Config>>,
];
