/**
 * Third-party dependencies, pinned with full `npm:` specifiers so that the code resolves its imports the same way
 * under `deno run main.ts`, `deno run <URL>/main.ts` (no import map there), the bundle and a compiled binary.
 * @module
 */
export { isMap, isScalar, isSeq, LineCounter, parseDocument, stringify as stringifyYaml } from "npm:yaml@2.9.1";
export type { Document, Node as YamlNode } from "npm:yaml@2.9.1";
export { z } from "npm:zod@4.6.7";
export { Hono } from "npm:hono@4.13.19";
export type { Context as HonoContext, MiddlewareHandler } from "npm:hono@4.13.19";
/** gRPC (observer plugins), loaded on first use: importing it costs ~150 ms of startup. */
export const loadGrpc = () => import("npm:@grpc/grpc-js@1.14.7");
/** `.proto` loading for the gRPC plugin tests, loaded on first use. */
export const loadProtoLoader = () => import("npm:@grpc/proto-loader@0.8.1");
