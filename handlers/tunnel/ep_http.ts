/**
 * HTTP at a public entrypoint (GOST's ephttp.go): each request is routed by its `Host` (port 80 when none) through
 * the ingress to a tunnel and sent on a stream of that tunnel, its body streamed as framed; the response comes back
 * as framed. As GOST does, the request gets `Gost-Sid` (the conn's id, unless it has one) and `Gost-Forwarded-Node`
 * (this server's node id; a request that already carries it is looping and is answered 503). A host without a rule,
 * or with a private one, is answered 502; a tunnel without clients 503. By default every request has a stream of its
 * own and is sent with `Connection: close` (GOST's transport disables keep-alive); with `entrypoint.keepalive` a
 * stream is kept for the conn's next request to the same host. A 101 (WebSocket) switches to a raw relay.
 * @module
 */
import type { HandshakeReader } from "../../core/bufio.ts";
import { type Conn, writeFull } from "../../core/conn.ts";
import type { ConnContext } from "../../core/contracts.ts";
import { withDeadline } from "../../core/deadline.ts";
import { errorMessage } from "../../core/errors.ts";
import { requestFraming, responseFraming } from "../../core/http1/framing.ts";
import {
  HeaderList,
  HttpStatusError,
  parseRequestHead,
  parseResponseHead,
  type RequestHead,
  type ResponseHead,
  serializeHead,
} from "../../core/http1/head.ts";
import { STATUS_TEXT } from "../../core/http1/status.ts";
import { relay } from "../../core/relay.ts";
import type { Ingress } from "../../core/routing/ingress.ts";
import { BatchWriter, copyBody, newReader, readHead, releaseReader } from "../http/stream.ts";
import { idText, isPrivate, parseTunnelId } from "./id.ts";
import { openTunnel, refusal, type TunnelServer } from "./server.ts";

/** GOST's session id header. */
export const HEADER_SID = "Gost-Sid";
/** GOST's loop detection header: the node ids a request passed through. */
export const HEADER_FORWARDED_NODE = "Gost-Forwarded-Node";
/** How long a kept-alive client conn may wait idle for its next request. */
export const IDLE_TIMEOUT_MS = 60_000;
const LIMITS = { maxLineBytes: 16 * 1024, maxHeaderBytes: 64 * 1024 };

/** One reply of the entrypoint itself (an error): a short text body, then the conn closes. */
async function reply(conn: Conn, status: number, minor: number, text: string): Promise<void> {
  const body = new TextEncoder().encode(`${text}\n`);
  const h = new HeaderList();
  h.add("Content-Type", "text/plain; charset=utf-8");
  h.add("Content-Length", String(body.length));
  h.add("Connection", "close");
  const head = serializeHead(`HTTP/1.${minor} ${status} ${STATUS_TEXT[status] ?? ""}`, h);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  await writeFull(conn, out).catch(() => {});
}

/** The host a request names: its Host header, else an absolute-form target's authority. */
function requestHost(req: RequestHead): string {
  const h = req.headers.get("host")?.trim();
  if (h) return h;
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(req.target);
  return m ? m[1].replace(/^[^@]*@/, "") : "";
}

/** `host` with port 80 when it has none. */
function withPort(host: string): string {
  if (host.startsWith("[")) return /\]:\d+$/.test(host) ? host : `${host.replace(/:$/, "")}:80`;
  const colons = host.split(":").length - 1;
  if (colons === 0) return `${host}:80`;
  if (colons === 1) return /:\d+$/.test(host) ? host : `${host.replace(/:$/, "")}:80`;
  return `[${host}]:80`;
}

/** A stream kept for the next request of the same conn to the same host. */
interface Kept {
  key: string;
  stream: Conn;
  reader: HandshakeReader;
}

/**
 * Serves the HTTP requests of one entrypoint conn until it ends.
 * @param r the conn's reader (the sniffed byte is still buffered)
 * @throws {HttpStatusError} / {@link HandshakeError} on a malformed request (after a 4xx), PolicyError on no
 *   route (after the 502), what the stream throws once a response started
 */
export async function serveHttp(
  s: TunnelServer,
  ingress: Ingress | undefined,
  conn: Conn,
  r: HandshakeReader,
  ctx: ConnContext,
): Promise<void> {
  let kept: Kept | null = null;
  try {
    for (let n = 0;; n++) {
      const lines = await withDeadline(
        conn,
        n === 0 ? s.md.entrypointReadTimeoutMs : IDLE_TIMEOUT_MS,
        () => readHead(r, LIMITS),
      );
      if (!lines) return;
      let req: RequestHead;
      try {
        req = parseRequestHead(lines);
      } catch (err) {
        if (err instanceof HttpStatusError) await reply(conn, err.status, 1, err.message);
        throw err;
      }
      const host = requestHost(req);
      if (!host) {
        await reply(conn, 400, req.minor, "no Host header");
        throw new HttpStatusError(400, `Entrypoint request without a Host: ${req.method} ${req.target.slice(0, 80)}`);
      }
      if (req.headers.tokens(HEADER_FORWARDED_NODE).includes(s.node)) {
        await reply(conn, 503, req.minor, "forwarding loop detected");
        throw refusal(ctx, `entrypoint: forwarding loop detected for host ${host} (${HEADER_FORWARDED_NODE})`);
      }
      const rule = ingress?.getRule(host);
      const tid = rule ? parseTunnelId(rule.endpoint) : null;
      if (!tid || isPrivate(tid)) {
        await reply(conn, 502, req.minor, tid ? "private tunnel" : "no route to host");
        throw refusal(
          ctx,
          tid ? `entrypoint: tunnel ${idText(tid)} of host ${host} is private` : `entrypoint: no route to host ${host}`,
        );
      }
      const id = idText(tid);
      const framing = requestFraming(req.headers);
      const upgrade = req.headers.tokens("connection").includes("upgrade");
      const closeTokens = req.headers.tokens("connection");
      const clientKeep = req.minor >= 1 ? !closeTokens.includes("close") : closeTokens.includes("keep-alive");
      const headers = new HeaderList(req.headers.entries.slice());
      if (!headers.get(HEADER_SID)) headers.set(HEADER_SID, ctx.sid);
      headers.set(HEADER_FORWARDED_NODE, s.node);
      if (!upgrade && !s.md.entrypointKeepAlive) headers.set("Connection", "close");
      const key = `${id}|${withPort(host).toLowerCase()}`;
      if (kept && kept.key !== key) {
        kept.stream.close();
        kept = null;
      }
      const head = serializeHead(`${req.method} ${req.target} HTTP/1.${req.minor}`, headers);
      const open = async (): Promise<Kept> => {
        let stream: Conn;
        try {
          // the request head rides in the stream header's write
          stream = await openTunnel(s, id, "tcp", ctx.src, withPort(host), ctx.logger, head);
        } catch (err) {
          await reply(conn, 503, req.minor, "tunnel not available");
          throw err;
        }
        return { key, stream, reader: newReader(stream) };
      };
      ctx.dst = `${withPort(host)} (tunnel ${id})`;
      if (ctx.logger.enabled("debug")) {
        ctx.logger.debug(`${req.method} ${host}${req.target.slice(0, 200)} -> tunnel ${id}`);
      }
      let up: Kept;
      let keepNext: Awaited<ReturnType<typeof exchange>>;
      if (kept) {
        // a kept stream the far end closed meanwhile fails at once: a body-less request is sent again on a new one
        up = kept;
        kept = null;
        keepNext = await exchange(s, conn, r, up, req, head, framing, clientKeep, upgrade, framing.kind === "none");
        if (keepNext === "retry") {
          ctx.logger.debug(`tunnel ${id}: the kept stream was closed, sending the request on a new one`);
          up = await open();
          keepNext = await exchange(s, conn, r, up, req, null, framing, clientKeep, upgrade, false);
        }
      } else {
        up = await open();
        keepNext = await exchange(s, conn, r, up, req, null, framing, clientKeep, upgrade, false);
      }
      if (keepNext === "switched" || keepNext === "retry") return;
      if (keepNext.stream) kept = up;
      else {
        up.stream.close();
        releaseReader(up.reader);
      }
      if (!keepNext.client) return;
    }
  } finally {
    kept?.stream.close();
  }
}

/**
 * Sends one request on `up` (`head`: null when it went with the stream header) and relays its response.
 * @param retryable the stream was kept: when it fails before a response byte came, "retry" (nothing was answered)
 */
async function exchange(
  s: TunnelServer,
  conn: Conn,
  r: HandshakeReader,
  up: Kept,
  req: RequestHead,
  head: Uint8Array | null,
  framing: ReturnType<typeof requestFraming>,
  clientKeep: boolean,
  upgrade: boolean,
  retryable: boolean,
): Promise<{ client: boolean; stream: boolean } | "switched" | "retry"> {
  let uploadError: unknown;
  const upload = (async () => {
    const out = new BatchWriter(up.stream);
    if (head) await out.write(head);
    await copyBody({ conn, reader: r }, out, framing, LIMITS);
  })().catch((err) => {
    uploadError = err;
    up.stream.close();
  });
  let started = false;
  try {
    const readResponse = async (): Promise<ResponseHead> => {
      const lines = await withDeadline(up.stream, s.md.entrypointReadTimeoutMs, () => readHead(up.reader, LIMITS));
      if (!lines) throw new Deno.errors.UnexpectedEof("the tunnel closed the stream before a response");
      return parseResponseHead(lines);
    };
    let res = await readResponse();
    while (res.status < 200 && res.status !== 101) {
      await writeFull(conn, serializeHead(`HTTP/${res.major}.${res.minor} ${res.status} ${res.reason}`, res.headers));
      res = await readResponse();
    }
    const status = `HTTP/${res.major}.${res.minor} ${res.status} ${res.reason}`;
    if (res.status === 101) {
      if (!upgrade) throw new HttpStatusError(502, "The tunnel switched protocols without an upgrade request");
      started = true;
      await writeFull(conn, serializeHead(status, res.headers));
      await upload;
      await relay(r.conn(), up.reader.conn());
      return "switched";
    }
    const rf = responseFraming(req.method, res.status, res.headers);
    const keep = clientKeep && rf.kind !== "close";
    const rh = new HeaderList(res.headers.entries.slice());
    if (!keep) rh.set("Connection", "close");
    started = true;
    const out = new BatchWriter(conn);
    await out.write(serializeHead(status, rh));
    await copyBody({ conn: up.stream, reader: up.reader }, out, rf, LIMITS);
    await upload;
    if (uploadError) throw uploadError;
    const streamKeep = s.md.entrypointKeepAlive && rf.kind !== "close" && res.minor >= 1 &&
      !res.headers.tokens("connection").includes("close");
    return { client: keep, stream: streamKeep };
  } catch (err) {
    up.stream.close();
    await upload;
    if (!started && retryable) {
      releaseReader(up.reader);
      return "retry";
    }
    if (!started) {
      const status = uploadError instanceof HttpStatusError
        ? uploadError.status
        : err instanceof HttpStatusError
        ? err.status
        : 502;
      await reply(conn, status, req.minor, `tunnel: ${errorMessage(uploadError ?? err)}`);
    }
    throw uploadError ?? err;
  }
}
