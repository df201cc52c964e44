/**
 * GOST's `host` option of the `sni` connector, both ways (docs/wire.md, "SNI"). The connector covers the first
 * message of a conn: in a ClientHello, `server_name` becomes the cover name and the real one goes into extension
 * 0xFFFE (appended last); in an HTTP request head, `Host` becomes the cover name, followed by `Gost-Target` with the
 * real one. The handler uncovers them: the ClientHello gets its own `server_name` back and loses 0xFFFE — the bytes
 * the client sent, which its TLS transcript hashed — and the request gets its own `Host` back without `Gost-Target`.
 * @module
 */
import { joinHostPort, splitHostPort } from "../../core/conn.ts";
import { latin1Decode, latin1Encode } from "../../core/http1/head.ts";
import {
  type ClientHello,
  EXT_GOST_TARGET,
  EXT_SERVER_NAME,
  extensionData,
  isHostName,
  rebuildHello,
  serverNameData,
} from "./clienthello.ts";
import { decodeTargetName, encodeTargetName } from "./target_name.ts";

const enc = new TextEncoder();

/**
 * The ClientHello with `server_name` set to `cover` and the real name in 0xFFFE; null when there is nothing to
 * cover (no `server_name`, or a 0xFFFE already there).
 */
export function coverHello(msg: Uint8Array, hello: ClientHello, cover: string): Uint8Array | null {
  if (!hello.serverName || hello.extensions.some((e) => e.type === EXT_GOST_TARGET)) return null;
  return rebuildHello(msg, hello, new Map([[EXT_SERVER_NAME, serverNameData(cover)]]), [
    [EXT_GOST_TARGET, enc.encode(encodeTargetName(hello.serverName))],
  ]);
}

/** What {@link uncoverHello} found. */
export interface Uncovered {
  /** The real target: `host` or `host:port`. */
  target: string;
  /** The ClientHello as the client sent it (its own `server_name`, no 0xFFFE). */
  message: Uint8Array;
}

/**
 * Undoes {@link coverHello}; null when the ClientHello carries no 0xFFFE, or one that does not decode to a host
 * name (with an optional port): then it is routed by its `server_name` and forwarded as it came.
 */
export function uncoverHello(msg: Uint8Array, hello: ClientHello): Uncovered | null {
  const d = extensionData(msg, hello, EXT_GOST_TARGET);
  const target = d && hiddenTarget(latin1Decode(d));
  if (!target) return null;
  const { host } = splitTarget(target);
  const replace = new Map<number, Uint8Array | null>([[EXT_GOST_TARGET, null]]);
  if (hello.serverName) replace.set(EXT_SERVER_NAME, serverNameData(host));
  return { target, message: rebuildHello(msg, hello, replace) };
}

/** The host and optional port of a target name (`a.test`, `a.test:8443`, `[::1]:443`). */
function splitTarget(t: string): { host: string; port?: number } {
  if (/^[^:]+$/.test(t)) return { host: t };
  const { host, port } = splitHostPort(t);
  return { host, port };
}

/**
 * Decodes a hidden target name (`Gost-Target`, 0xFFFE) and checks it is a host name with an optional port, as
 * lower case; null otherwise.
 */
export function hiddenTarget(value: string): string | null {
  const name = decodeTargetName(value)?.toLowerCase();
  if (!name) return null;
  try {
    const { host, port } = splitTarget(name);
    if (port !== undefined && !(port >= 1 && port <= 65535)) return null;
    if (!isHostName(host) && !/^[0-9a-f:.]+$/.test(host)) return null;
    return port === undefined ? host : joinHostPort(host, port);
  } catch {
    return null;
  }
}

/** CRLF CRLF: the end of an HTTP head. */
export function headEnd(p: Uint8Array): number {
  for (let i = 3; i < p.length; i++) {
    if (p[i] === 0x0a && p[i - 1] === 0x0d && p[i - 2] === 0x0a && p[i - 3] === 0x0d) return i + 1;
  }
  return -1;
}

/**
 * The HTTP head `head` (through its empty line) with its first `Host` line replaced by `Host: cover` and
 * `Gost-Target: <the real host, encoded>`; null when it has no `Host` line.
 */
export function coverHttpHead(head: Uint8Array, cover: string): Uint8Array | null {
  const text = latin1Decode(head);
  const m = /\r\nhost[ \t]*:[ \t]*([^\r\n]*?)[ \t]*\r\n/i.exec(text);
  if (!m) return null;
  const replaced = `\r\nHost: ${cover}\r\nGost-Target: ${encodeTargetName(m[1])}\r\n`;
  return latin1Encode(text.slice(0, m.index) + replaced + text.slice(m.index + m[0].length));
}
