/**
 * The HTTP side of the SNI proxy: plain HTTP proxying of origin-form requests, each routed by its `Host` (port 80
 * unless it names one), as GOST's sniffer serves them — keep-alive, the upstream conn kept while the host stays the
 * same and dialed anew when it changes, request and response bodies streamed, `100 Continue` and WebSocket upgrades
 * passed through. This is the `http` handler's forwarding (handlers/http/forward.ts) with the target taken from
 * `Host` instead of an absolute URI. GOST's `Gost-Target` (and `X-Gost-Target`), which its `sni` connector adds
 * with `host`, names the real host: it is routed by and restored as `Host` (handlers/sni/cover.ts). A request with
 * no host to route by is answered 400, CONNECT 405, an unreachable host 502, a bypassed one 403.
 * @module
 */
import type { Conn } from "../../core/conn.ts";
import { withDeadline } from "../../core/deadline.ts";
import { DialError, HandshakeError, PolicyError, TimeoutError } from "../../core/errors.ts";
import { Metadata } from "../../core/metadata.ts";
import type { ConnContext, HandlerOptions } from "../../core/contracts.ts";
import { forwardRequest } from "../http/forward.ts";
import { type HttpMetadata, parseHttpMetadata } from "../http/metadata.ts";
import { Session } from "../http/session.ts";
import { readHead } from "../http/stream.ts";
import { HttpStatusError, parseRequestHead, type RequestHead, splitAbsoluteUri } from "../http/wire.ts";
import { hiddenTarget } from "./cover.ts";
import type { SniMetadata } from "./metadata.ts";

/** The http handler's settings the SNI proxy's HTTP side runs with: no proxy headers on its replies, no shared pool. */
function httpSettings(md: SniMetadata): HttpMetadata {
  return {
    ...parseHttpMetadata(new Metadata()),
    readTimeoutMs: md.readTimeoutMs,
    replyHeaders: [],
    upstreamKeepAlive: false,
    probe: undefined,
  };
}

/**
 * Serves one HTTP conn to its end.
 * @throws {HandshakeError} / {@link HttpStatusError} on a request that cannot be routed (after answering it),
 *   {@link DialError} / {@link PolicyError} when its host cannot or may not be reached (after a 502 / 403)
 */
export async function serveHttp(conn: Conn, ctx: ConnContext, opts: HandlerOptions, md: SniMetadata): Promise<void> {
  const hmd = httpSettings(md);
  const s = new Session(conn, ctx, opts, hmd);
  try {
    for (let first = true;; first = false) {
      let req: RequestHead | null;
      try {
        const lines = await withDeadline(conn, hmd.readTimeoutMs, () => readHead(s.reader, hmd));
        req = lines && parseRequestHead(lines);
      } catch (err) {
        if (err instanceof HttpStatusError) {
          await s.fail(err.status);
          throw err;
        }
        if (err instanceof TimeoutError) {
          if (!first) return; // the idle wait for the next request ended
          throw new HandshakeError(`sni: no complete request head within ${hmd.readTimeoutMs} ms`, { cause: err });
        }
        throw err;
      }
      if (!req || !(await serveRequest(s, req))) return;
    }
  } finally {
    s.close();
  }
}

/** Serves one request; true when the conn may carry the next one. */
async function serveRequest(s: Session, req: RequestHead): Promise<boolean> {
  try {
    req.target = absoluteTarget(req);
    return await forwardRequest(s, req);
  } catch (err) {
    if (err instanceof HttpStatusError) await s.fail(err.status);
    else if (err instanceof DialError) await s.fail(502);
    else if (err instanceof PolicyError) await s.fail(403);
    throw err;
  }
}

/**
 * The request's target as an absolute URI on the host it is routed to: `Gost-Target` (restored as `Host`), else the
 * absolute URI's own authority, else `Host`.
 * @throws {HttpStatusError} 405 for CONNECT, 400 when there is no single host to route by
 */
export function absoluteTarget(req: RequestHead): string {
  if (req.method === "CONNECT") {
    throw new HttpStatusError(405, "sni: CONNECT is not served (an SNI proxy routes requests by Host)");
  }
  const h = req.headers;
  let hidden: string | null = null;
  for (const name of ["gost-target", "x-gost-target"]) {
    const v = h.get(name);
    if (v !== undefined) hidden = hiddenTarget(v) ?? hidden;
    h.delete(name);
  }
  if (hidden) h.set("Host", hidden);
  const uri = splitAbsoluteUri(req.target);
  if (uri) return `http://${hidden ?? uri.authority}${uri.path}`;
  if (!req.target.startsWith("/") && req.target !== "*") {
    throw new HttpStatusError(400, `sni: a request target that is not origin-form: ${req.target.slice(0, 100)}`);
  }
  const hosts = h.getAll("host");
  if (hosts.length !== 1 || !hosts[0]) {
    throw new HttpStatusError(400, `sni: ${hosts.length > 1 ? "several Host headers" : "no Host"} to route by`);
  }
  return `http://${hosts[0]}${req.target === "*" ? "/" : req.target}`;
}
