/**
 * What every relay command receives once the request is read and the client authenticated, and the response
 * helpers they share.
 * @module
 */
import { type Conn, writeFull } from "../../core/conn.ts";
import type { ConnContext, HandlerOptions } from "../../core/contracts.ts";
import { LazyResponseConn } from "./lazy.ts";
import type { RelayHandlerMetadata } from "./metadata.ts";
import { encodeResponse, type Feature, type RequestFacts, Status } from "./wire.ts";

/** One relay request after authentication. */
export interface RelayScope {
  /** The client conn, with any bytes read ahead of the request put back in front. */
  readonly conn: Conn;
  /** Client bytes arrived together with the request (a lazy client): the OK response can wait for downstream. */
  readonly early: boolean;
  /** Address, network and credentials from the features. */
  readonly facts: RequestFacts;
  /** `udp` when the UDP flag or Network feature says so. */
  readonly network: "tcp" | "udp";
  readonly ctx: ConnContext;
  readonly opts: HandlerOptions;
  readonly md: RelayHandlerMetadata;
}

/** Writes a response. */
export function sendResponse(conn: Conn, status: number, features: Feature[] = []): Promise<void> {
  return writeFull(conn, encodeResponse({ status, features }));
}

/** Writes a bare error response, ignoring a client that is already gone. */
export async function sendError(conn: Conn, status: number): Promise<void> {
  await sendResponse(conn, status).catch(() => {});
}

/**
 * Answers OK for CONNECT. GOST holds the OK back and sends it with the first bytes to the client; so do we when
 * client bytes came with the request (GOST's lazy client). A client that sent its request alone may be waiting for
 * the answer before it writes (`nodelay` clients): it gets the OK at once, as does everyone with `nodelay` set here.
 * @returns the conn to relay on (it sends the held OK first)
 */
export async function answerOk(s: RelayScope): Promise<Conn> {
  const ok = encodeResponse({ status: Status.OK, features: [] });
  if (s.md.noDelay || !s.early) {
    await writeFull(s.conn, ok);
    return s.conn;
  }
  return new LazyResponseConn(s.conn, ok);
}
