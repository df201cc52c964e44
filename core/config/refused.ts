/**
 * The settings of GOST's config that gost.ts refuses rather than accept and ignore (README.md, "Refused settings"):
 * whole object kinds it has no implementation of yet, and the external data sources (`redis`, `http`, `plugin`) of
 * the kinds that read inline data and files. A config or an API body that uses one fails naming the path,
 * the value and what is supported; an ignored bypass or admission list would fail open.
 * @module
 */
import type { ConfigPath } from "./load.ts";
import { refusedField } from "./refused_fields.ts";

/** Object kinds gost.ts stores nothing of and builds nothing from: any object of them is refused. */
export const REFUSED_KINDS: Readonly<Record<string, string>> = {
  routers: "routers (TUN/TAP routes)",
  sds: "service discovery",
  recorders: "recorders",
  limiters: "traffic limiters",
  climiters: "connection limiters",
  rlimiters: "rate limiters",
  quotas: "quotas",
  caches: "caches",
};

/** GOST's external data sources, refused on every kind below. */
const SOURCES = ["redis", "http", "plugin"] as const;

/**
 * Per kind, the keys that act and the keys gost.ts refuses: the external sources. Authers, bypasses, admissions,
 * hosts, ingresses and hops read `file` and `reload` (core/routing/file_source.ts); GOST's resolvers have no file
 * source.
 */
const SOURCE_KINDS: Readonly<Record<string, { inline: string; refused: readonly string[] }>> = {
  bypasses: { inline: "matchers, whitelist, file.path, reload", refused: [...SOURCES] },
  admissions: { inline: "matchers, whitelist, file.path, reload", refused: [...SOURCES] },
  hosts: { inline: "mappings, file.path, reload", refused: [...SOURCES] },
  ingresses: { inline: "rules, file.path, reload", refused: [...SOURCES] },
  resolvers: { inline: "nameservers", refused: [...SOURCES] },
  hops: { inline: "nodes, file.path, reload", refused: [...SOURCES] },
  authers: { inline: "auths, file.path, reload", refused: [...SOURCES] },
};

function present(v: unknown): boolean {
  return v !== undefined && v !== null && v !== "" && !(typeof v === "object" && !Array.isArray(v) &&
    Object.keys(v as object).length === 0);
}

/**
 * The first refused setting of one named object of `kind`, as the path below the object and the reason.
 * @example refusedSetting("bypasses", { name: "b", redis: { addr: "127.0.0.1:6379" } })
 * // { path: ["redis"], message: "the redis source of bypasses is not supported by gost.ts yet (got …): supported are …" }
 */
export function refusedSetting(
  kind: string,
  obj: Record<string, unknown>,
): { path: ConfigPath; message: string } | undefined {
  const whole = REFUSED_KINDS[kind];
  if (whole) {
    return { path: [], message: `${whole} are not supported by gost.ts yet: remove the ${kind} section` };
  }
  const src = SOURCE_KINDS[kind];
  if (!src) return refusedField(kind, obj);
  for (const key of src.refused) {
    if (!present(obj[key])) continue;
    return {
      path: [key],
      message: `the ${key} ${key === "reload" ? "setting" : "source"} of ${kind} is not supported by gost.ts yet ` +
        `(got ${JSON.stringify(obj[key])?.slice(0, 200)}): supported are ${src.inline}`,
    };
  }
  return refusedField(kind, obj);
}
