/**
 * Third-party dependencies, pinned with full `npm:` specifiers so that the code resolves its imports the same way
 * under `deno run main.ts`, `deno run <URL>/main.ts` (no import map there), the bundle and a compiled binary.
 * That is why this one file keeps inline `npm:` specifiers.
 * @module
 */
// deno-lint-ignore-file no-import-prefix
import process from "node:process";
import { granted } from "./permissions.ts";
import { parseDocument as yamlParseDocument } from "npm:yaml@2.9.1";
export { isMap, isScalar, isSeq, LineCounter, stringify as stringifyYaml } from "npm:yaml@2.9.1";
export type { Document, Node as YamlNode } from "npm:yaml@2.9.1";
export { z } from "npm:zod@4.6.7";
export { Hono } from "npm:hono@4.13.19";
export type { Context as HonoContext, MiddlewareHandler } from "npm:hono@4.13.19";
/** gRPC (observer plugins), loaded on first use: importing it costs ~150 ms of startup. */
export const loadGrpc = () => import("npm:@grpc/grpc-js@1.14.7");
/** `.proto` loading for the gRPC plugin tests, loaded on first use. */
export const loadProtoLoader = () => import("npm:@grpc/proto-loader@0.8.1");

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
