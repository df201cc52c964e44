/**
 * The named object kinds of the config and the Web API (`/config/{kind}`), with how each is validated and, for
 * the kinds that act, how its live object is built and registered. Kinds without a live builder are still
 * validated, stored, listed and saved.
 * @module
 */
import { refusedSetting } from "../config/refused.ts";
import { ConfigError, errorMessage } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { Registries } from "../registries.ts";
import { Admission } from "../routing/admission.ts";
import { buildAuther } from "../routing/auther.ts";
import { Bypass, namedBypass } from "../routing/bypass.ts";
import { HostMapper } from "../routing/hosts.ts";
import { FileIngress, type IngressRule, IngressTable } from "../routing/ingress.ts";
import { FileAdmission, FileBypass, FileHosts, type FileListOptions } from "../routing/file_lists.ts";
import { fileSettings } from "../routing/file_source.ts";
import { type NameserverOptions, Resolver } from "../routing/resolver.ts";
import { DefaultRouter } from "../routing/router.ts";
import type { Chain } from "../routing/chain.ts";
import { buildChain, buildHop, type ChainBuildContext } from "../config/build_chain.ts";
import type { ConfigPath } from "../config/load.ts";
import { loadSchema } from "../config/load_schema.ts";
import { type HopConfig, OBJECT_KINDS, type ObjectKind } from "../config/types.ts";
import type { Registry } from "../registry.ts";

export { OBJECT_KINDS, type ObjectKind };

/** A named config object (loose: unknown keys are kept). */
export type NamedObject = { name: string } & Record<string, unknown>;

/** Tells whether a string names a kind. */
export function isObjectKind(k: string): k is ObjectKind {
  return (OBJECT_KINDS as readonly string[]).includes(k);
}

/**
 * Validates one object of a kind (the first call loads the schema).
 * @throws {ConfigError} naming the field, the value and the problem
 */
export async function validateObject(kind: ObjectKind, value: unknown): Promise<NamedObject> {
  const parsed = (await loadSchema()).OBJECT_SCHEMAS[kind].safeParse(value);
  if (!parsed.success) {
    const msgs = parsed.error.issues.slice(0, 5).map((i) => `${[kind, ...i.path].join(".")}: ${i.message}`);
    throw new ConfigError(msgs.join("; "));
  }
  const obj = parsed.data as NamedObject;
  if (/[/\\]|\.\./.test(obj.name) || obj.name.trim() !== obj.name || !obj.name) {
    throw new ConfigError(`${kind}.name: invalid name "${obj.name}": no slashes, "..", or surrounding spaces`);
  }
  return obj;
}

/** What building a live object needs. */
export interface ObjectBuildContext {
  readonly reg: Registries;
  readonly logger: Logger;
  /** Current top-level hops by name (chain hops may refer to them). */
  readonly hopConfig: (name: string) => HopConfig | undefined;
  readonly fail: (path: ConfigPath, message: string) => ConfigError;
}

/** A live builder: makes the object and returns where to register it. */
interface LiveKind<T> {
  registry: (reg: Registries) => Registry<T>;
  build: (cfg: NamedObject, ctx: ObjectBuildContext) => Promise<T>;
  /** Ends what a live object holds once it is replaced or removed (a chain's mux sessions). */
  dispose?: (obj: T) => void;
}

/**
 * A resolver from config. Nameservers with a `chain` send their queries through it (looked up at each query).
 */
function buildResolver(cfg: NamedObject, ctx: ObjectBuildContext): Resolver {
  const list = (cfg as { nameservers?: (NameserverOptions & { chain?: string })[] }).nameservers ?? [];
  if (!list.length) throw new ConfigError(`resolvers.${cfg.name}.nameservers: at least one nameserver is required`);
  const chained = list.find((n) => n.chain);
  if (chained && list.some((n) => n.chain !== chained.chain)) {
    throw new ConfigError(`resolvers.${cfg.name}: every nameserver of one resolver must use the same chain`);
  }
  const nameservers = list.map(({ chain: _chain, ...ns }) => ns);
  if (!chained) return new Resolver({ name: cfg.name, nameservers });
  const chainName = chained.chain!;
  const router = new DefaultRouter({ logger: ctx.logger, chain: () => ctx.reg.chains.get(chainName) });
  return new Resolver({ name: cfg.name, nameservers, dial: (network, addr) => router.dial(network, addr) });
}

/** The file options of an object with `file.path`, else undefined. @throws {ConfigError} naming a bad value */
function fileOf(kind: ObjectKind, cfg: NamedObject, ctx: ObjectBuildContext): FileListOptions | undefined {
  const { path, reloadMs } = fileSettings(`${kind}.${cfg.name}`, cfg);
  return path ? { name: cfg.name, path, reloadMs, logger: ctx.logger } : undefined;
}

/** Opens a file-backed object, naming `KIND.NAME.file.path` when the file cannot be read. */
async function opened<T>(kind: ObjectKind, cfg: NamedObject, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${kind}.${cfg.name}.file.path: cannot read the file: ${errorMessage(err)}`, { cause: err });
  }
}

/** Closes what a live object holds, when it has something to close (a file's reload timer). */
const closeIt = (obj: unknown) => (obj as { close?: () => void }).close?.();

function chainContext(ctx: ObjectBuildContext): ChainBuildContext {
  return {
    reg: ctx.reg,
    logger: ctx.logger,
    hops: ctx.hopConfig,
    fail: ctx.fail,
    bypass: (names) => namedBypass(names, ctx.reg),
  };
}

const LIVE: Partial<Record<ObjectKind, LiveKind<unknown>>> = {
  chains: {
    registry: (reg) => reg.chains as Registry<unknown>,
    build: (cfg, ctx) => buildChain(cfg as never, ["chains", cfg.name], chainContext(ctx)),
    dispose: (chain) => (chain as Chain).close(),
  },
  hops: {
    registry: (reg) => reg.hops as Registry<unknown>,
    build: (cfg, ctx) => buildHop(cfg as HopConfig, ["hops", cfg.name], chainContext(ctx)),
    dispose: closeIt,
  },
  bypasses: {
    registry: (reg) => reg.bypasses as Registry<unknown>,
    build: (cfg, ctx) => {
      const b = cfg as { whitelist?: boolean; reverse?: boolean; matchers?: string[]; network?: string };
      if (b.network !== undefined && b.network !== "tcp" && b.network !== "udp") {
        throw new ConfigError(`bypasses.${cfg.name}.network: "${b.network}" is not one of tcp, udp`);
      }
      const base = {
        whitelist: b.whitelist ?? b.reverse ?? false,
        matchers: b.matchers ?? [],
        network: b.network as "tcp" | "udp" | undefined,
      };
      const file = fileOf("bypasses", cfg, ctx);
      if (file) return opened("bypasses", cfg, () => FileBypass.open(file, base));
      return Promise.resolve(new Bypass({ name: cfg.name, ...base }));
    },
    dispose: closeIt,
  },
  admissions: {
    registry: (reg) => reg.admissions as Registry<unknown>,
    build: (cfg, ctx) => {
      const a = cfg as { whitelist?: boolean; reverse?: boolean; matchers?: string[] };
      const base = { whitelist: a.whitelist ?? a.reverse ?? false, matchers: a.matchers ?? [] };
      const file = fileOf("admissions", cfg, ctx);
      if (file) return opened("admissions", cfg, () => FileAdmission.open(file, base));
      return Admission.create({ name: cfg.name, ...base });
    },
    dispose: closeIt,
  },
  hosts: {
    registry: (reg) => reg.hosts as Registry<unknown>,
    build: (cfg, ctx) => {
      const h = cfg as { mappings?: { ip: string; hostname: string; aliases?: string[] }[] };
      const file = fileOf("hosts", cfg, ctx);
      if (file) return opened("hosts", cfg, () => FileHosts.open(file, h.mappings ?? []));
      return Promise.resolve(new HostMapper(h.mappings ?? []));
    },
    dispose: closeIt,
  },
  ingresses: {
    registry: (reg) => reg.ingresses as Registry<unknown>,
    build: async (cfg, ctx) => {
      const rules = ((cfg as { rules?: IngressRule[] }).rules ?? []).filter((r) => r.hostname || r.endpoint);
      const file = fileOf("ingresses", cfg, ctx);
      try {
        return file ? await opened("ingresses", cfg, () => FileIngress.open(file, rules)) : new IngressTable(rules);
      } catch (err) {
        if (err instanceof ConfigError && err.message.startsWith("ingresses.")) throw err;
        throw new ConfigError(`ingresses.${cfg.name}.rules: ${errorMessage(err)}`, { cause: err });
      }
    },
    dispose: closeIt,
  },
  resolvers: {
    registry: (reg) => reg.resolvers as Registry<unknown>,
    build: (cfg, ctx) => Promise.resolve(buildResolver(cfg, ctx)),
  },
  authers: {
    registry: (reg) => reg.authers as Registry<unknown>,
    build: (cfg, ctx) => Promise.resolve(buildAuther(cfg, ctx.logger)),
    dispose: closeIt,
  },
};

/** Tells whether a kind has live objects (besides services). */
export function isLiveKind(kind: ObjectKind): boolean {
  return kind in LIVE;
}

/**
 * Builds the live object of a named config object and registers it (replacing any with that name).
 * No-op for kinds that are only stored.
 * @throws {ConfigError} when building fails; the registry is untouched then
 */
export async function installObject(kind: ObjectKind, cfg: NamedObject, ctx: ObjectBuildContext): Promise<void> {
  const refused = refusedSetting(kind, cfg);
  if (refused) throw ctx.fail([kind, cfg.name, ...refused.path], refused.message);
  const live = LIVE[kind];
  if (!live) return;
  const obj = await live.build(cfg, ctx);
  const old = live.registry(ctx.reg).get(cfg.name);
  live.registry(ctx.reg).set(cfg.name, obj);
  if (old !== undefined && old !== obj) live.dispose?.(old);
}

/** Removes a live object. */
export function uninstallObject(kind: ObjectKind, name: string, reg: Registries): void {
  const live = LIVE[kind];
  const old = live?.registry(reg).unregister(name);
  if (old !== undefined) live?.dispose?.(old);
}

/** Ends what every live object of every kind holds (the process is closing); they stay registered. */
export function disposeObjects(reg: Registries): void {
  for (const live of Object.values(LIVE)) {
    if (!live?.dispose) continue;
    const registry = live.registry(reg);
    for (const name of registry.names()) {
      const obj = registry.get(name);
      if (obj !== undefined) live.dispose(obj);
    }
  }
}

/** Tells whether a live object of that kind and name is registered. */
export function isInstalled(kind: ObjectKind, name: string, reg: Registries): boolean {
  return LIVE[kind]?.registry(reg).has(name) ?? false;
}

/** The kinds whose objects may read a `file` when built (README.md, "Data sources: file and reload"). */
const FILE_KINDS: readonly ObjectKind[] = ["authers", "bypasses", "admissions", "hosts", "hops", "ingresses"];

/**
 * Tells whether rebuilding an object may give another live object although its config is unchanged: an auther,
 * bypass, admission, hosts or hop with a `file` (or a chain with such a hop inline) reads it when built, so a PUT or
 * reload of the same config re-reads it.
 */
export function readsFiles(kind: ObjectKind, cfg: NamedObject): boolean {
  const hasFile = (o: Record<string, unknown> | undefined) => o?.file !== undefined && o?.file !== null;
  if (kind === "chains") return ((cfg.hops ?? []) as Record<string, unknown>[]).some(hasFile);
  return FILE_KINDS.includes(kind) && hasFile(cfg);
}
