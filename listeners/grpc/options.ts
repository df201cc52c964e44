/**
 * GOST's grpc keys both ends read: `grpc.insecure` (`grpcInsecure`, `insecure`) and the keep-alive keys.
 * @module
 */
import type { Metadata } from "../../core/metadata.ts";
import type { KeepaliveKeys } from "../h2/options.ts";

/** GOST's keep-alive keys of the grpc listener and dialer. */
export const keepaliveKeys: KeepaliveKeys = {
  enabled: ["grpc.keepalive", "keepalive"],
  time: ["grpc.keepalive.time", "keepalive.time"],
  timeout: ["grpc.keepalive.timeout", "keepalive.timeout"],
  permitWithoutStream: ["grpc.keepalive.permitWithoutStream", "keepalive.permitWithoutStream"],
};

/** True with `grpc.insecure=true`: cleartext HTTP/2 (prior knowledge) instead of TLS. */
export function insecureOf(md: Metadata): boolean {
  return md.bool(["grpc.insecure", "grpcInsecure", "insecure"]);
}
