/**
 * The `zod` package (config validation), pinned with a full `npm:` specifier (see `core/deps/yaml.ts` for why).
 * Importing it costs about 35 ms of startup: only the schema imports it, and the schema is loaded when a config is
 * validated (docs/architecture.md, "Module loading").
 * @module
 */
export { z } from "npm:zod@4.6.7";
