/**
 * One request of the HTTP/2 proxy, as the handler and the forwarding share it.
 * @module
 */
import type { Conn } from "../../core/conn.ts";
import type { HeaderField } from "../../listeners/h2/hpack.ts";
import type { H2Stream } from "../../listeners/h2/stream.ts";

/** The value of a request header (pseudo-headers included); undefined when absent. */
export function field(fields: readonly HeaderField[], name: string): string | undefined {
  return fields.find((f) => f.name === name)?.value;
}

/** One request of the proxy: its stream, headers and the target it names. */
export interface ProxyRequest {
  /** The request's stream: its headers and answers. */
  stream: H2Stream;
  /** The conn the handler was given (the stream under the service's counters): its DATA. */
  conn: Conn;
  method: string;
  /** `host:port` to dial. */
  addr: string;
  /** The host as the request named it (`:authority`, or the decoded `Gost-Target`). */
  authority: string;
}
