/**
 * HTTP/1.x wire codec for the proxy: authorities and absolute URIs, and the proxy's own replies. Header lists, heads
 * and body framing live in core/http1/ (the API and metrics servers use them too) and are re-exported here. No I/O
 * here (see stream.ts).
 * @module
 */
import { joinHostPort } from "../../core/conn.ts";
import { HeaderList, HttpStatusError, serializeHead } from "../../core/http1/head.ts";
import { STATUS_TEXT } from "../../core/http1/status.ts";

export {
  type Header,
  HeaderList,
  HttpStatusError,
  latin1Decode,
  latin1Encode,
  parseRequestHead,
  parseResponseHead,
  type RequestHead,
  type ResponseHead,
  serializeHead,
} from "../../core/http1/head.ts";
export { type Framing, parseChunkSize, requestFraming, responseFraming } from "../../core/http1/framing.ts";

/** A target: `addr` to dial (`host:port`) and `host` for the Host header (no userinfo, port only if given). */
export interface Authority {
  addr: string;
  host: string;
}

/**
 * Parses an authority (`host`, `host:port`, `[v6]:port`, with optional userinfo).
 * @throws {HttpStatusError} 400 when it is not a valid host and port
 */
export function parseAuthority(authority: string, defaultPort: number): Authority {
  const hostPart = authority.slice(authority.lastIndexOf("@") + 1);
  const m = /^(?:\[([0-9A-Fa-f:.]+(?:%[\w.~-]+)?)\]|([\w.~!$&'()*+,;=%-]+))(?::(\d{0,5}))?$/.exec(hostPart);
  const port = m?.[3] ? Number(m[3]) : defaultPort;
  if (!m || port < 1 || port > 65535) throw new HttpStatusError(400, `Invalid host "${authority.slice(0, 100)}"`);
  return { addr: joinHostPort(m[1] ?? m[2], port), host: hostPart };
}

/** Splits an `http://` absolute URI into authority and origin-form path; null for any other form or scheme. */
export function splitAbsoluteUri(target: string): { authority: string; path: string } | null {
  const m = /^http:\/\/([^/?#]*)([^#]*)/i.exec(target);
  if (!m || !m[1]) return null;
  const path = m[2].startsWith("/") ? m[2] : `/${m[2]}`;
  return { authority: m[1], path };
}

/**
 * Builds a reply of the proxy itself, with an empty body unless it is a CONNECT 200.
 * @param base headers every reply carries (Proxy-Agent, configured `header`)
 */
export function buildReply(
  status: number,
  base: readonly [string, string][],
  extra: [string, string][] = [],
): Uint8Array {
  const reason = status === 200 ? "Connection established" : (STATUS_TEXT[status] ?? "Error");
  const h = new HeaderList();
  for (const [k, v] of [...base, ...extra]) h.add(k, v);
  if (status !== 200) {
    h.add("Content-Length", "0");
    h.add("Connection", "close");
  }
  return serializeHead(`HTTP/1.1 ${status} ${reason}`, h);
}
