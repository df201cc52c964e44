/**
 * The named object kinds of the config and the Web API (`/config/{kind}`), with how each is validated and, for
 * the kinds that act, how its live object is built and registered. Kinds without a live builder are still
 * validated, stored, listed and saved.
 * @module
 */
import type { z } from "../deps.ts";
import { ConfigError, errorMessage } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { Registries } from "../registries.ts";
import { StaticAuthenticator } from "../routing/auth.ts";
import { authEntries, readAuthFile } from "../config/build.ts";
import { buildChain, buildHop, type ChainBuildContext } from "../config/build_chain.ts";
import type { ConfigPath } from "../config/load.ts";
import { ConfigSchema, type HopConfig, OBJECT_KINDS, type ObjectKind } from "../config/schema.ts";
import type { Registry } from "../registry.ts";

export { OBJECT_KINDS, type ObjectKind };

/** A named config object (loose: unknown keys are kept). */
export type NamedObject = { name: string } & Record<string, unknown>;

/** Tells whether a string names a kind. */
export function isObjectKind(k: string): k is ObjectKind {
  return (OBJECT_KINDS as readonly string[]).includes(k);
}

/** The zod schema of one object of a kind. */
export function schemaOf(kind: ObjectKind): z.ZodType {
  const list = ConfigSchema.shape[kind] as unknown as { unwrap(): { element: z.ZodType } };
  return list.unwrap().element;
}

/**
 * Validates one object of a kind.
 * @throws {ConfigError} naming the field, the value and the problem
 */
export function validateObject(kind: ObjectKind, value: unknown): NamedObject {
  const parsed = schemaOf(kind).safeParse(value);
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
}

function chainContext(ctx: ObjectBuildContext): ChainBuildContext {
  return {
    reg: ctx.reg,
    logger: ctx.logger,
    hops: ctx.hopConfig,
    fail: ctx.fail,
    bypass: (names) => {
      const found = names.map((n) => ctx.reg.bypasses.get(n)).filter((b) => b !== undefined);
      return found.length ? { contains: (net, addr) => found.some((b) => b.contains(net, addr)) } : undefined;
    },
  };
}

const LIVE: Partial<Record<ObjectKind, LiveKind<unknown>>> = {
  chains: {
    registry: (reg) => reg.chains as Registry<unknown>,
    build: (cfg, ctx) => buildChain(cfg as never, ["chains", cfg.name], chainContext(ctx)),
  },
  hops: {
    registry: (reg) => reg.hops as Registry<unknown>,
    build: (cfg, ctx) => buildHop(cfg as HopConfig, ["hops", cfg.name], chainContext(ctx)),
  },
  authers: {
    registry: (reg) => reg.authers as Registry<unknown>,
    build: (cfg) => {
      const a = cfg as { auths?: { username?: string; password?: string }[]; file?: { path: string } };
      try {
        const entries = [
          ...(a.auths ?? []).flatMap((x) => authEntries(x)),
          ...(a.file ? readAuthFile(a.file.path) : []),
        ];
        return Promise.resolve(new StaticAuthenticator(entries));
      } catch (err) {
        throw new ConfigError(`authers.${cfg.name}: ${errorMessage(err)}`);
      }
    },
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
  const live = LIVE[kind];
  if (!live) return;
  const obj = await live.build(cfg, ctx);
  live.registry(ctx.reg).set(cfg.name, obj);
}

/** Removes a live object. */
export function uninstallObject(kind: ObjectKind, name: string, reg: Registries): void {
  LIVE[kind]?.registry(reg).unregister(name);
}
