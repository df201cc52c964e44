/**
 * The config schema, loaded on first use: `core/config/schema.ts` imports zod (~35 ms of startup, several MiB), so
 * the modules that validate a config load it through here when they first validate, and a process whose config comes
 * from `-L`/`-F` flags alone never loads it (docs/architecture.md, "Module loading").
 * @module
 */

/** The config schema module (`core/config/schema.ts`): the zod schemas of the types in `core/config/types.ts`. */
export type SchemaModule = typeof import("./schema.ts");

/**
 * The config schema module, imported on the first call. Later calls get the same module (the module loader caches
 * it), so this holds no state of its own.
 */
export function loadSchema(): Promise<SchemaModule> {
  return import("./schema.ts");
}
