/**
 * The `yaml` package (config files, the API's YAML bodies), pinned with a full `npm:` specifier so that the code
 * resolves its imports the same way under `deno run main.ts`, `deno run <URL>/main.ts` (no import map there), the
 * bundle and a compiled binary. Importing it costs about 50 ms of startup: only modules that read or write YAML
 * import this file, and they are loaded when a config does so (docs/architecture.md, "Module loading").
 * @module
 */
// deno-lint-ignore-file no-import-prefix
import process from "node:process";
import { granted } from "../permissions.ts";
import { parseDocument as yamlParseDocument } from "npm:yaml@2.9.1";
export { isMap, isScalar, isSeq, LineCounter, stringify as stringifyYaml } from "npm:yaml@2.9.1";
export type { Document, Node as YamlNode } from "npm:yaml@2.9.1";

/**
 * yaml's `parseDocument`. While parsing, yaml reads two debug switches, `process.env.LOG_TOKENS` and `LOG_STREAM`;
 * without `--allow-env` for them that read throws, so a config file would need `--allow-env`: when they are not
 * allowed, the parse sees an empty environment instead (synchronous, so nothing else sees it).
 */
export const parseDocument: typeof yamlParseDocument = ((...args: Parameters<typeof yamlParseDocument>) => {
  if (granted({ name: "env", variable: "LOG_TOKENS" }) && granted({ name: "env", variable: "LOG_STREAM" })) {
    return yamlParseDocument(...args);
  }
  const env = process.env;
  process.env = {};
  try {
    return yamlParseDocument(...args);
  } finally {
    process.env = env;
  }
}) as typeof yamlParseDocument;
