/**
 * GOST v3's config schema (YAML or JSON, camelCase keys), validated with zod. Objects are loose: unknown keys pass
 * through untouched, as Go's decoders ignore them (the loader warns about them in files).
 * @module
 */
import { z } from "../deps/zod.ts";

const str = z.string();
const duration = z.union([z.string(), z.number()]);
const metadata = z.record(z.string(), z.unknown());
const nameList = z.array(str);

/** `{username, password, file}`. */
export const AuthSchema = z.looseObject({ username: str.optional(), password: str.optional(), file: str.optional() });
/** TLS block. */
export const TlsSchema = z.looseObject({
  certFile: str.optional(),
  keyFile: str.optional(),
  caFile: str.optional(),
  secure: z.boolean().optional(),
  serverName: str.optional(),
  options: z.looseObject({}).optional(),
});
/** Selector `{strategy, maxFails, failTimeout}`. */
export const SelectorSchema = z.looseObject({
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

/** A forwarder target. */
export const ForwardNodeSchema = z.looseObject({
  name: str.optional(),
  addr: str,
  network: str.optional(),
  bypass: str.optional(),
  bypasses: nameList.optional(),
  protocol: str.optional(),
  host: str.optional(),
  path: str.optional(),
  auth: AuthSchema.optional(),
  metadata: metadata.optional(),
});
/** `forwarder: {name|hop, selector, nodes}`. */
export const ForwarderSchema = z.looseObject({
  name: str.optional(),
  hop: str.optional(),
  selector: SelectorSchema.optional(),
  nodes: z.array(ForwardNodeSchema).optional(),
});
/** `handler: {type, retries, chain, auther, authers, auth, tls, …, metadata}`. */
export const HandlerSchema = z.looseObject({
  type: str.optional(),
  retries: z.number().int().min(0).optional(),
  chain: str.optional(),
  chainGroup: z.looseObject({}).optional(),
  auther: str.optional(),
  authers: nameList.optional(),
  auth: AuthSchema.optional(),
  tls: TlsSchema.optional(),
  limiter: str.optional(),
  observer: str.optional(),
  metadata: metadata.optional(),
});
/** `listener: {type, chain, auther, authers, auth, tls, metadata}`. */
export const ListenerSchema = z.looseObject({
  type: str.optional(),
  chain: str.optional(),
  chainGroup: z.looseObject({}).optional(),
  auther: str.optional(),
  authers: nameList.optional(),
  auth: AuthSchema.optional(),
  tls: TlsSchema.optional(),
  metadata: metadata.optional(),
});
/** One service. */
export const ServiceSchema = z.looseObject({
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
  handler: HandlerSchema.optional(),
  listener: ListenerSchema.optional(),
  forwarder: ForwarderSchema.optional(),
  metadata: metadata.optional(),
  status: z.unknown().optional(),
});
const connector = z.looseObject({
  type: str.optional(),
  auth: AuthSchema.optional(),
  tls: TlsSchema.optional(),
  metadata: metadata.optional(),
});
/** A chain node. */
export const NodeSchema = z.looseObject({
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
/** A hop. */
export const HopSchema = z.looseObject({
  name: str.optional(),
  interface: str.optional(),
  selector: SelectorSchema.optional(),
  bypass: str.optional(),
  bypasses: nameList.optional(),
  resolver: str.optional(),
  hosts: str.optional(),
  nodes: z.array(NodeSchema).optional(),
  metadata: metadata.optional(),
});
/** A chain. */
export const ChainSchema = z.looseObject({
  name: str.min(1, "name is required"),
  hops: z.array(HopSchema).optional(),
  metadata: metadata.optional(),
});
const named = <T extends z.ZodRawShape>(extra: T = {} as T) =>
  z.looseObject({ name: str.min(1, "name is required"), plugin: plugin.optional(), ...extra });
/** `log: {level, format, output, rotation}`. */
export const LogSchema = z.looseObject({
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
/** `api: {addr, pathPrefix, accesslog, auth, auther}`, plus `allowOrigins` and the server bounds (gost.ts). */
export const ApiSchema = z.looseObject({
  addr: str.optional(),
  pathPrefix: str.optional(),
  accesslog: z.boolean().optional(),
  auth: AuthSchema.optional(),
  auther: str.optional(),
  allowOrigins: z.union([str, z.array(str)]).optional(),
  ...serverBounds,
});
/** `metrics: {addr, path, auth, auther}`, plus the server bounds (gost.ts). */
export const MetricsSchema = z.looseObject({
  addr: str.optional(),
  path: str.optional(),
  auth: AuthSchema.optional(),
  auther: str.optional(),
  ...serverBounds,
});

/** The whole config file. */
export const ConfigSchema = z.looseObject({
  services: z.array(ServiceSchema).optional(),
  chains: z.array(ChainSchema).optional(),
  hops: z.array(HopSchema.extend({ name: str.min(1, "name is required") })).optional(),
  authers: z.array(named({ auths: z.array(AuthSchema).optional(), file: z.looseObject({ path: str }).optional() }))
    .optional(),
  admissions: z.array(named({ whitelist: z.boolean().optional(), matchers: nameList.optional() })).optional(),
  bypasses: z.array(named({ whitelist: z.boolean().optional(), matchers: nameList.optional() })).optional(),
  resolvers: z.array(named({ nameservers: z.array(z.looseObject({ addr: str })).optional() })).optional(),
  hosts: z.array(named({ mappings: z.array(z.looseObject({ ip: str, hostname: str })).optional() })).optional(),
  ingresses: z.array(named()).optional(),
  routers: z.array(named()).optional(),
  sds: z.array(named()).optional(),
  recorders: z.array(named()).optional(),
  limiters: z.array(named({ limits: nameList.optional() })).optional(),
  climiters: z.array(named({ limits: nameList.optional() })).optional(),
  rlimiters: z.array(named({ limits: nameList.optional() })).optional(),
  observers: z.array(named()).optional(),
  quotas: z.array(named()).optional(),
  caches: z.array(named()).optional(),
  loggers: z.array(named({ log: LogSchema.optional() })).optional(),
  tls: TlsSchema.optional(),
  log: LogSchema.optional(),
  profiling: z.looseObject({ addr: str.optional() }).optional(),
  api: ApiSchema.optional(),
  metrics: MetricsSchema.optional(),
});

/** The parsed config. */
export type Config = z.infer<typeof ConfigSchema>;
/** One service config. */
export type ServiceConfig = z.infer<typeof ServiceSchema>;
/** A chain config. */
export type ChainConfig = z.infer<typeof ChainSchema>;
/** A hop config. */
export type HopConfig = z.infer<typeof HopSchema>;
/** A node config. */
export type NodeConfig = z.infer<typeof NodeSchema>;
/** A forward node config. */
export type ForwardNodeConfig = z.infer<typeof ForwardNodeSchema>;
/** An auth config. */
export type AuthConfig = z.infer<typeof AuthSchema>;
/** A selector config. */
export type SelectorConfig = z.infer<typeof SelectorSchema>;

/** The named object kinds the Web API manages (`/config/{kind}`), in GOST's order. */
export const OBJECT_KINDS = [
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
export const LIST_KEYS = [...OBJECT_KINDS, "loggers"] as const;
/** The single-valued top-level keys (a later source replaces them). */
export const SINGLE_KEYS = ["tls", "log", "profiling", "api", "metrics"] as const;
