/**
 * The `hono` package (the Web API and dashboard), pinned with a full `npm:` specifier (see `core/deps/yaml.ts` for
 * why). Only the API's modules import it, and they are loaded when a config has an API (docs/architecture.md,
 * "Module loading").
 * @module
 */
export { Hono } from "npm:hono@4.13.19";
export type { Context as HonoContext, MiddlewareHandler } from "npm:hono@4.13.19";
