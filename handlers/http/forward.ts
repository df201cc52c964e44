/**
 * Absolute-URI forwarding (`GET http://host/path HTTP/1.1`): the request goes to the host in origin-form without
 * hop-by-hop headers, its body streamed while the response is read (so `100 Continue` flows back); the response
 * is streamed back as framed, and both conns stay open for the next request when framing and versions allow.
 * @module
 */
import { UnexpectedEofError } from "../../core/bufio.ts";
import { closeQuietly, writeFull } from "../../core/conn.ts";
import { relay } from "../../core/relay.ts";
import type { Session, Upstream } from "./session.ts";
import { BatchWriter, copyBody, readHead } from "./stream.ts";
import {
  type Framing,
  HeaderList,
  HttpStatusError,
  parseAuthority,
  parseResponseHead,
  requestFraming,
  type RequestHead,
  responseFraming,
  type ResponseHead,
  serializeHead,
  splitAbsoluteUri,
} from "./wire.ts";

const HOP_BY_HOP = new Set([
  "connection",
  "proxy-connection",
  "keep-alive",
  "proxy-authorization",
  "proxy-authenticate",
  "te",
  "upgrade",
]);
/** Never removed because `Connection` names them: the body passes through with its own framing. */
const KEPT = new Set(["content-length", "transfer-encoding", "host"]);

/**
 * Copies headers without the hop-by-hop ones (and those `Connection` names). Transfer-Encoding and Trailer stay:
 * bodies pass through unchanged. With `upgrade`, `Upgrade` is kept with `Connection: Upgrade`.
 */
export function stripHopByHop(h: HeaderList, upgrade: boolean): HeaderList {
  const named = h.tokens("connection").filter((t) => !KEPT.has(t));
  const kept = [];
  for (const e of h.entries) if (!HOP_BY_HOP.has(e.key) && !named.includes(e.key)) kept.push(e);
  const out = new HeaderList(kept);
  const proto = h.get("upgrade");
  if (upgrade && proto) {
    out.add("Connection", "Upgrade");
    out.add("Upgrade", proto);
  }
  return out;
}

/** Tells whether a request asks for a WebSocket upgrade. */
export function isWebSocketUpgrade(h: HeaderList): boolean {
  return h.tokens("connection").includes("upgrade") && h.tokens("upgrade").includes("websocket");
}

async function readResponse(s: Session, up: Upstream): Promise<ResponseHead | null> {
  const lines = await readHead(up.reader, s.md);
  return lines && parseResponseHead(lines);
}

const statusLine = (r: ResponseHead) => `HTTP/${r.major}.${r.minor} ${r.status} ${r.reason}`;

/** An upload in progress: `done` never rejects; `error` is set when it failed. */
interface Sending {
  done: Promise<void>;
  error?: unknown;
}

/** Sends the head and streams the body upstream; on failure closes the upstream (unblocking the response read). */
function upload(s: Session, up: Upstream, head: Uint8Array, body: Framing): Sending {
  const out = new BatchWriter(up.conn);
  const st: Sending = { done: Promise.resolve() };
  st.done = (async () => {
    await out.write(head);
    await copyBody(s, out, body, s.md);
  })().catch((err) => {
    st.error ??= err ?? new Error("Upload failed");
    closeQuietly(up.conn);
  });
  return st;
}

/**
 * Ends the connection after a failure. When the response did not start it answers 502, or the client's own error
 * (400 for a broken chunked body); then it waits for the upload.
 */
async function abort(s: Session, sending: Sending, started: boolean, err: unknown): Promise<never> {
  const cause = sending.error ?? err;
  s.closeUpstream();
  const status = sending.error instanceof HttpStatusError ? sending.error.status : 502;
  if (!started && !s.closed) await s.reply(status).catch(() => {});
  s.closed = true;
  closeQuietly(s.conn);
  await sending.done;
  throw cause;
}

/**
 * Forwards one absolute-URI request and its response.
 * @returns whether the client conn may carry another request
 * @throws {HttpStatusError} before anything was written (400 on a bad target or framing)
 * @throws {DialError} when the host cannot be reached (nothing written yet)
 */
export async function forwardRequest(s: Session, req: RequestHead): Promise<boolean> {
  const uri = splitAbsoluteUri(req.target);
  if (!uri) throw new HttpStatusError(400, `Not a proxy request: ${req.method} ${req.target.slice(0, 100)}`);
  const { addr, host } = parseAuthority(uri.authority, 80);
  s.ctx.dst = addr;
  const body = requestFraming(req.headers);
  const close = [...req.headers.tokens("connection"), ...req.headers.tokens("proxy-connection")].includes("close");
  const clientKeep = req.minor >= 1 && !close;
  const upgrade = isWebSocketUpgrade(req.headers);
  const headers = stripHopByHop(req.headers, upgrade);
  headers.set("Host", host);
  const head = serializeHead(`${req.method} ${uri.path} HTTP/1.${req.minor}`, headers);
  if (s.ctx.logger.enabled("debug")) s.ctx.logger.debug(`${req.method} ${req.target}`);

  for (let attempt = 0;; attempt++) {
    const up = await s.upstream(addr, attempt > 0, body.kind === "none");
    // A kept conn the origin closed meanwhile fails at once: retry a body-less request once on a new conn.
    const retry = up.reused && attempt === 0 && body.kind === "none";
    const sending = upload(s, up, head, body);
    let res: ResponseHead | null = null;
    try {
      res = await readResponse(s, up);
    } catch (err) {
      if (!retry || err instanceof HttpStatusError) return await abort(s, sending, false, err);
    }
    if (!res) {
      if (retry) {
        s.closeUpstream();
        await sending.done;
        continue;
      }
      return await abort(s, sending, false, new UnexpectedEofError());
    }
    return await respond(s, req, up, res, sending, clientKeep, upgrade, !upgrade && body.kind === "none");
  }
}

/** Relays the response; `shareable`: a body-less request, so the upstream conn may serve other clients after it. */
async function respond(
  s: Session,
  req: RequestHead,
  up: Upstream,
  first: ResponseHead,
  sending: Sending,
  clientKeep: boolean,
  upgrade: boolean,
  shareable: boolean,
): Promise<boolean> {
  let started = false;
  try {
    let res = first;
    while (res.status < 200 && res.status !== 101) {
      await writeFull(s.conn, serializeHead(statusLine(res), stripHopByHop(res.headers, false)));
      const next = await readResponse(s, up);
      if (!next) throw new UnexpectedEofError();
      res = next;
    }
    if (res.status === 101) {
      if (!upgrade) throw new HttpStatusError(502, "Upstream switched protocols without an upgrade request");
      started = true;
      await writeFull(s.conn, serializeHead(statusLine(res), stripHopByHop(res.headers, true)));
      await sending.done;
      if (sending.error) throw sending.error;
      await relay(s.reader.conn(), up.reader.conn());
      return false;
    }
    const framing = responseFraming(req.method, res.status, res.headers);
    const keep = clientKeep && framing.kind !== "close";
    const headers = stripHopByHop(res.headers, false);
    if (!keep) headers.add("Connection", "close");
    started = true;
    const out = new BatchWriter(s.conn);
    await out.write(serializeHead(statusLine(res), headers));
    await copyBody(up, out, framing, s.md);
    await sending.done;
    if (sending.error) throw sending.error;
    if (framing.kind === "close" || res.minor < 1 || res.headers.tokens("connection").includes("close")) {
      s.closeUpstream();
    } else if (shareable) {
      s.upstreamIdle();
    }
    return keep;
  } catch (err) {
    return await abort(s, sending, started, err);
  }
}
