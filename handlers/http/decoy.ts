/**
 * Serving the probe resistance decoy (settings in probe.ts, README.md "Probe resistance"): what a client that fails
 * authentication gets instead of the 407. Nothing in a decoy says "proxy": no `Proxy-Agent`, no `Proxy-Authenticate`,
 * none of the `header` map of the proxy's own replies. Only the configured decoy is ever contacted (the client's
 * target is never dialed), a `web:` fetch and a `host:` dial are bounded in time, and `web:`/`file:` bodies in size.
 * @module
 */
import { closeQuietly, type Conn, ConnWrapper, writeFull } from "../../core/conn.ts";
import { after, deadlineSignal } from "../../core/deadline.ts";
import { errorMessage } from "../../core/errors.ts";
import { STATUS_TEXT } from "../../core/http1/status.ts";
import { relay } from "../../core/relay.ts";
import { dialTcp } from "../../core/routing/router.ts";
import { type Decoy, DECOY_MAX_BYTES } from "./probe.ts";
import type { Session } from "./session.ts";
import { lingerClose } from "./stream.ts";
import { HeaderList, type RequestHead, serializeHead, splitAbsoluteUri } from "./wire.ts";

/** Bound on a `web:` fetch, redirects and body included (GOST's client timeout). */
export const WEB_DECOY_TIMEOUT_MS = 15_000;
/** Bound on the dial of a `host:` decoy. */
export const HOST_DECOY_DIAL_TIMEOUT_MS = 10_000;
/** A `host:` decoy conn that moves no byte either way this long is closed. */
export const HOST_DECOY_IDLE_MS = 60_000;

/** Response headers of a fetched page that do not describe this conn's response (framing, hop-by-hop, proxy). */
const DROPPED = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "content-length",
  "content-encoding", // fetch has decoded the body
  "te",
  "trailer",
  "upgrade",
  "proxy-authenticate",
  "proxy-agent",
  "set-cookie", // added one by one from getSetCookie()
]);

/** A decoy page: status, reason, headers and body. */
export interface Page {
  status: number;
  reason: string;
  headers: [string, string][];
  body: Uint8Array;
}

/** `content-type` → `Content-Type`, as Go writes header names. */
const canonical = (name: string) =>
  name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());

/**
 * One response, ending the conn: `Content-Length` (except where a status has no body), `Connection: close`, the body
 * unless the request was HEAD.
 */
function responseBytes(page: Page, head: boolean): Uint8Array {
  const h = new HeaderList();
  for (const [k, v] of page.headers) h.add(k, v);
  const bodyless = page.status === 204 || page.status === 304;
  if (!bodyless) h.add("Content-Length", String(page.body.length));
  h.add("Connection", "close");
  const start = serializeHead(`HTTP/1.1 ${page.status} ${page.reason}`, h);
  if (head || bodyless || !page.body.length) return start;
  const out = new Uint8Array(start.length + page.body.length);
  out.set(start);
  out.set(page.body, start.length);
  return out;
}

const EMPTY = new Uint8Array(0);

/** A bodiless answer with no header but framing: the decoy `code:`, and a failed `web:`/`file:`/`host:` (503). */
function bare(status: number): Page {
  return { status, reason: STATUS_TEXT[status] ?? "", headers: [], body: EMPTY };
}

/** Writes `bytes` and ends the conn (lingering so that the answer is not lost to a reset). */
async function answer(s: Session, bytes: Uint8Array): Promise<void> {
  if (s.closed) return;
  s.closed = true;
  try {
    await writeFull(s.conn, bytes);
  } catch {
    closeQuietly(s.conn);
    return;
  }
  await lingerClose(s.conn);
}

/**
 * Answers a request that could not be parsed while probe resistance is on: the status alone, without the proxy's
 * headers, as a web server answers it.
 */
export function answerPlain(s: Session, status: number): Promise<void> {
  return answer(s, responseBytes(bare(status), false));
}

/** A handler's `web:` fetches and `file:` reads in progress: probes that arrive meanwhile share the one answer. */
export type DecoyLoads = Map<string, Promise<Page>>;

function shared(loads: DecoyLoads, key: string, load: () => Promise<Page>): Promise<Page> {
  let p = loads.get(key);
  if (!p) {
    p = load().finally(() => loads.delete(key));
    loads.set(key, p);
  }
  return p;
}

/** Reads a response body, failing past `max` bytes. */
async function readCapped(body: ReadableStream<Uint8Array> | null, max: number): Promise<Uint8Array> {
  if (!body) return EMPTY;
  const parts: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > max) throw new Error(`body larger than ${max} bytes`);
      parts.push(value);
    }
  } finally {
    reader.cancel().catch(() => {});
  }
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** `GET url` (redirects followed, as GOST's client does), as a page; rejects on failure, timeout or size. */
async function fetchPage(url: string): Promise<Page> {
  const deadline = deadlineSignal(WEB_DECOY_TIMEOUT_MS, undefined, "web decoy fetch");
  try {
    const res = await fetch(url, { signal: deadline.signal });
    const body = await readCapped(res.body, DECOY_MAX_BYTES);
    const headers: [string, string][] = [];
    for (const [k, v] of res.headers) if (!DROPPED.has(k)) headers.push([canonical(k), v]);
    for (const c of res.headers.getSetCookie()) headers.push(["Set-Cookie", c]);
    return { status: res.status, reason: res.statusText || STATUS_TEXT[res.status] || "", headers, body };
  } finally {
    deadline.release();
  }
}

/** The file as a `200` `text/html` page (GOST's headers). */
async function filePage(path: string): Promise<Page> {
  const body = await Deno.readFile(path);
  if (body.length > DECOY_MAX_BYTES) throw new Error(`${path} is larger than ${DECOY_MAX_BYTES} bytes`);
  return { status: 200, reason: "OK", headers: [["Content-Type", "text/html"]], body };
}

/**
 * The request as it goes to a `host:` decoy: an `http://` absolute URI in origin-form with its authority as `Host`
 * (as Go writes a proxy request), without the client's `Proxy-Authorization` (wrong credentials are not the decoy's
 * business).
 */
export function decoyRequestHead(req: RequestHead): Uint8Array {
  const h = new HeaderList(req.headers.entries.filter((e) => e.key !== "proxy-authorization"));
  const uri = req.method === "CONNECT" ? null : splitAbsoluteUri(req.target);
  if (uri) h.set("Host", uri.authority.slice(uri.authority.lastIndexOf("@") + 1));
  return serializeHead(`${req.method} ${uri ? uri.path : req.target} HTTP/1.${req.minor}`, h);
}

/** A conn that notes when a read last returned bytes. */
class Watched extends ConnWrapper {
  readonly #seen: { at: number };
  constructor(inner: Conn, seen: { at: number }) {
    super(inner);
    this.#seen = seen;
  }
  override async read(p: Uint8Array): Promise<number | null> {
    const n = await this.inner.read(p);
    if (n) this.#seen.at = Date.now();
    return n;
  }
}

/** Relays the client conn to the `host:` decoy until both ends finish or stay idle {@link HOST_DECOY_IDLE_MS}. */
async function pipeToHost(s: Session, req: RequestHead, d: Extract<Decoy, { kind: "host" }>): Promise<string> {
  let up: Conn;
  try {
    up = await dialTcp(d.host, d.port, HOST_DECOY_DIAL_TIMEOUT_MS, s.ctx.signal);
  } catch (err) {
    s.ctx.logger.warn(`probe resistance: decoy host ${d.addr}: ${errorMessage(err)}`);
    await answer(s, responseBytes(bare(503), req.method === "HEAD"));
    return `503, decoy host ${d.addr} unreachable`;
  }
  s.closed = true;
  const client = s.reader.conn();
  const seen = { at: Date.now() };
  const close = () => {
    closeQuietly(up);
    closeQuietly(client);
  };
  const check = () => {
    const idle = Date.now() - seen.at;
    if (idle >= HOST_DECOY_IDLE_MS) close();
    else cancel = after(HOST_DECOY_IDLE_MS - idle, check);
  };
  let cancel = after(HOST_DECOY_IDLE_MS, check);
  s.ctx.signal.addEventListener("abort", close, { once: true });
  try {
    await writeFull(up, decoyRequestHead(req));
    const moved = await relay(new Watched(client, seen), new Watched(up, seen));
    return `relayed to decoy host ${d.addr} (${moved.input} B in, ${moved.output} B out)`;
  } catch (err) {
    close();
    return `decoy host ${d.addr}: ${errorMessage(err)}`;
  } finally {
    cancel();
    s.ctx.signal.removeEventListener("abort", close);
  }
}

/**
 * Answers a client that failed authentication with the decoy, and ends its conn.
 * @param loads the handler's loads in progress
 * @returns what it was answered, for the log line
 */
export async function serveDecoy(s: Session, req: RequestHead, decoy: Decoy, loads: DecoyLoads): Promise<string> {
  const head = req.method === "HEAD";
  if (decoy.kind === "code") {
    await answer(s, responseBytes(bare(decoy.status), head));
    return String(decoy.status);
  }
  if (decoy.kind === "host") return await pipeToHost(s, req, decoy);
  const [key, load, what] = decoy.kind === "web"
    ? [`web ${decoy.url}`, () => fetchPage(decoy.url), `web decoy ${decoy.url}`]
    : [`file ${decoy.path}`, () => filePage(decoy.path), `file decoy ${decoy.path}`];
  let page: Page;
  try {
    page = await shared(loads, key, load);
  } catch (err) {
    // as GOST: a decoy that cannot be had is answered 503
    s.ctx.logger.warn(`probe resistance: ${what}: ${errorMessage(err)}`);
    page = bare(503);
  }
  await answer(s, responseBytes(page, head));
  return `${page.status} from the ${what}`;
}
