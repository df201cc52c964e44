/**
 * The gRPC method of GOST's tunnel (x/internal/util/grpc/proto): service `GostTunel` (sic), bidirectional-streaming
 * method `Tunnel`, no proto package, so the request path is `/GostTunel/Tunnel`. GOST's `grpc.path` renames it:
 * `/svc/method` is service `svc`, method `method` (a further `/` in the method becomes `-`); one segment `svc` is
 * `/svc/Tunnel`. Both ends must use the same value.
 * @module
 */

/** GOST's service and method names. */
export const DEFAULT_SERVICE = "GostTunel";
export const DEFAULT_METHOD = "Tunnel";

/** A gRPC method: its service, its name and the request path `/service/method`. */
export interface GrpcMethod {
  service: string;
  method: string;
  path: string;
}

/**
 * The method `grpc.path` names, as GOST parses it.
 * @example grpcMethod("") // { service: "GostTunel", method: "Tunnel", path: "/GostTunel/Tunnel" }
 * @example grpcMethod("/api/v1/stream") // { service: "api", method: "v1-stream", path: "/api/v1-stream" }
 */
export function grpcMethod(value: string): GrpcMethod {
  let service = DEFAULT_SERVICE, method = DEFAULT_METHOD;
  const trimmed = value.replace(/^\/+|\/+$/g, "");
  const slash = trimmed.indexOf("/");
  if (slash < 0) {
    if (trimmed) service = trimmed;
  } else {
    service = trimmed.slice(0, slash);
    method = trimmed.slice(slash + 1).replaceAll("/", "-");
  }
  return { service, method, path: `/${service}/${method}` };
}
