/**
 * gRPC (observer plugins), pinned with full `npm:` specifiers (see `core/deps/yaml.ts` for why) and loaded on first
 * use: importing it costs about 150 ms of startup.
 * @module
 */
// deno-lint-ignore-file no-import-prefix
/** Loads `@grpc/grpc-js`. */
export const loadGrpc = () => import("npm:@grpc/grpc-js@1.14.7");
/** Loads `@grpc/proto-loader` (`.proto` loading, for the gRPC plugin tests). */
export const loadProtoLoader = () => import("npm:@grpc/proto-loader@0.8.1");
