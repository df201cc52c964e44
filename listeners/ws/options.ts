/**
 * The metadata of GOST's ws/wss listener and dialer (each key with its `ws.` spelling too, as GOST reads them).
 * Keys are listed in listeners/ws/mod.ts.
 * @module
 */
import { ConfigError } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import { parseHeaderMap } from "../../core/http1/header_map.ts";

/** GOST's default path. */
export const DEFAULT_WS_PATH = "/ws";
/** The handshake deadline when neither `handshakeTimeout` nor `readHeaderTimeout` is set (GOST has none). */
export const DEFAULT_WS_HANDSHAKE_MS = 10_000;
/** GOST's keep-alive ping period of the dialer (`keepalive` without `ttl`). */
export const DEFAULT_WS_KEEPALIVE_MS = 15_000;

/** Settings both sides read. */
export interface WsCommon {
  path: string;
  header: [string, string][];
  /** Dialer: the whole handshake (`handshakeTimeout`, else `readHeaderTimeout`, else 10s). */
  handshakeMs: number;
  /** Listener: reading the request and answering it (`readHeaderTimeout`, else `handshakeTimeout`, else 10s). */
  serverMs: number;
  bufferSize: number;
}

/**
 * Reads the keys both sides share.
 * @throws {ConfigError} on a bad value, or `enableCompression=true` (permessage-deflate is not implemented)
 */
export function parseWsCommon(md: Metadata, owner: string): WsCommon {
  md.refuse(owner, [[["ws.enableCompression", "enableCompression"], "permessage-deflate is not implemented"]]);
  let path = md.string(["ws.path", "path"]) || DEFAULT_WS_PATH;
  if (!path.startsWith("/")) path = `/${path}`;
  // deno-lint-ignore no-control-regex
  if (/[\s\x00-\x1f\x7f]/.test(path)) throw new ConfigError(`Invalid "path": ${JSON.stringify(path)}`);
  const handshake = md.duration(["ws.handshakeTimeout", "handshakeTimeout"], 0);
  const readHeader = md.duration(["ws.readHeaderTimeout", "readHeaderTimeout"], 0);
  const bufferSize = md.int(["ws.readBufferSize", "readBufferSize"], 4096, 0, 1 << 20) || 4096;
  md.int(["ws.writeBufferSize", "writeBufferSize"], 0, 0, 1 << 20); // every write is one frame: no write buffer
  return {
    path,
    header: parseHeaderMap(md, ["ws.header", "header"]),
    handshakeMs: handshake || readHeader || DEFAULT_WS_HANDSHAKE_MS,
    serverMs: readHeader || handshake || DEFAULT_WS_HANDSHAKE_MS,
    bufferSize,
  };
}
