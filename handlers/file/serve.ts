/**
 * What the file handler answers to one GET or HEAD (Go's `http.FileServer` over `http.Dir`, GOST's file handler):
 * the path is resolved inside the served directory (real path: a symlink that leads out of it is refused 403), a
 * directory is answered with its `index.html` or a listing (listing.ts) after the redirect that adds its trailing
 * slash, a file with its content: Last-Modified and the conditional requests (If-Modified-Since, If-Unmodified-Since,
 * If-None-Match/If-Match without ETags, as Go has none), Range (range.ts, If-Range by date), Content-Type
 * (mime.ts). Errors are Go's plain-text bodies (`404 page not found`).
 * @module
 */
import { HeaderList } from "../../core/http1/head.ts";
import { sniffType, typeByExtension } from "./mime.ts";
import { dirListing, type ListEntry } from "./listing.ts";
import { inside, type RequestPath } from "./path.ts";
import { type ByteRange, contentRange, multipartEnd, newBoundary, parseRange, partHead } from "./range.ts";

const encoder = new TextEncoder();

/** The content of a file reply: ranges of an open file, each after a prefix, then a suffix. */
export interface FileBody {
  file: Deno.FsFile;
  parts: { prefix: Uint8Array; range: ByteRange }[];
  suffix: Uint8Array;
}

/** One reply. `body` is bytes or file content; its length is in Content-Length. */
export interface Reply {
  status: number;
  headers: HeaderList;
  body?: Uint8Array | FileBody;
  /** Why the request was refused (403), for the log. */
  refused?: string;
}

/** A request as the file server sees it. */
export interface FileRequest {
  method: string;
  headers: HeaderList;
  path: RequestPath;
}

/** Go's `http.Error` reply: the text, a newline, `text/plain; charset=utf-8`, `X-Content-Type-Options: nosniff`. */
export function errorReply(status: number, text: string, extra: [string, string][] = []): Reply {
  const h = new HeaderList();
  for (const [k, v] of extra) h.add(k, v);
  h.add("Content-Type", "text/plain; charset=utf-8");
  h.add("X-Content-Type-Options", "nosniff");
  const body = encoder.encode(`${text}\n`);
  h.add("Content-Length", String(body.length));
  return { status, headers: h, body };
}

const notFound = () => errorReply(404, "404 page not found");
const forbidden = (why: string): Reply => ({ ...errorReply(403, "403 Forbidden"), refused: why });

function redirect(to: string, query: string): Reply {
  const h = new HeaderList();
  h.add("Location", query ? `${to}?${query}` : to);
  h.add("Content-Length", "0");
  return { status: 301, headers: h };
}

/** Maps a file system error to Go's `toHTTPError` reply. */
function fsError(err: unknown): Reply {
  if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) return notFound();
  if (err instanceof Deno.errors.PermissionDenied) return forbidden("permission denied");
  return errorReply(500, "500 Internal Server Error");
}

/** An HTTP date (RFC 9110 IMF-fixdate), as `toUTCString` writes it. */
function httpDate(d: Date): string {
  return d.toUTCString();
}

/** Seconds since the epoch of an HTTP date header, or undefined when absent or not a date. */
function headerTime(h: HeaderList, name: string): number | undefined {
  const v = h.get(name);
  if (!v) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.floor(t / 1000);
}

/** Go's `checkPreconditions` without ETags: a reply when it ends the request (304, 412), and whether Range holds. */
function preconditions(req: FileRequest, mtime: number | undefined): { done?: Reply; useRange: boolean } {
  const h = req.headers;
  const get = req.method === "GET" || req.method === "HEAD";
  const im = h.get("if-match");
  if (im !== undefined && im.trim() !== "") {
    if (!im.split(",").some((t) => t.trim() === "*")) return { done: preconditionFailed(), useRange: false };
  } else {
    const ius = headerTime(h, "if-unmodified-since");
    if (ius !== undefined && mtime !== undefined && mtime > ius) return { done: preconditionFailed(), useRange: false };
  }
  const inm = h.get("if-none-match");
  if (inm !== undefined && inm.trim() !== "") {
    // no ETag here: only `*` matches, which a GET answers 304
    if (inm.split(",").some((t) => t.trim() === "*")) {
      return { done: get ? { status: 304, headers: new HeaderList() } : preconditionFailed(), useRange: false };
    }
  } else if (get) {
    const ims = headerTime(h, "if-modified-since");
    if (ims !== undefined && mtime !== undefined && mtime <= ims) {
      return { done: { status: 304, headers: new HeaderList() }, useRange: false };
    }
  }
  let useRange = get && h.has("range");
  const ir = h.get("if-range");
  if (useRange && ir) {
    const etag = ir.startsWith('"') || ir.startsWith("W/");
    const t = headerTime(h, "if-range");
    useRange = !etag && t !== undefined && mtime !== undefined && t === mtime;
  }
  return { useRange };
}

function preconditionFailed(): Reply {
  return { status: 412, headers: new HeaderList([{ name: "Content-Length", value: "0", key: "content-length" }]) };
}

/**
 * Answers one request for a path inside `root` (a real, absolute directory path).
 * @returns the reply; `refused` says why a 403 was given
 */
export async function serveRequest(root: string, req: FileRequest): Promise<Reply> {
  if (req.path.raw.endsWith("/index.html")) return redirect("./", req.path.query);
  const rel = req.path.segments.join("/");
  const asked = rel ? `${root}/${rel}` : root;
  let real: string;
  try {
    real = await Deno.realPath(asked);
  } catch (err) {
    return fsError(err);
  }
  if (!inside(root, real)) return forbidden(`${req.path.raw} resolves to ${real}, outside the directory`);
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(real);
  } catch (err) {
    return fsError(err);
  }
  const base = req.path.raw.split("/").filter(Boolean).at(-1) ?? "";
  if (info.isDirectory) {
    if (!req.path.slash) return redirect(`${base}/`, req.path.query);
    const index = await indexFile(root, real);
    if (index) return await fileReply(req, index.path, index.info, "index.html");
    return await listingReply(req, real, info);
  }
  if (!info.isFile) return forbidden(`${req.path.raw} is not a regular file`);
  if (req.path.slash) return redirect(`../${base}`, req.path.query);
  return await fileReply(req, real, info, req.path.segments.at(-1) ?? "");
}

async function indexFile(root: string, dir: string): Promise<{ path: string; info: Deno.FileInfo } | undefined> {
  try {
    const path = await Deno.realPath(`${dir}/index.html`);
    if (!inside(root, path)) return undefined;
    const info = await Deno.stat(path);
    return info.isFile ? { path, info } : undefined;
  } catch {
    return undefined;
  }
}

function lastModified(h: HeaderList, info: Deno.FileInfo): number | undefined {
  if (!info.mtime || info.mtime.getTime() <= 0) return undefined;
  h.add("Last-Modified", httpDate(info.mtime));
  return Math.floor(info.mtime.getTime() / 1000);
}

async function listingReply(req: FileRequest, dir: string, info: Deno.FileInfo): Promise<Reply> {
  const h = new HeaderList();
  const mtime = lastModified(h, info);
  const pre = preconditions(req, mtime);
  if (pre.done) return withHeaders(pre.done, h);
  const entries: ListEntry[] = [];
  try {
    for await (const e of Deno.readDir(dir)) entries.push({ name: e.name, dir: e.isDirectory });
  } catch {
    return errorReply(500, "Error reading directory");
  }
  const body = encoder.encode(dirListing(entries));
  h.add("Content-Type", "text/html; charset=utf-8");
  h.add("Content-Length", String(body.length));
  return { status: 200, headers: h, body };
}

/** A 304/412 reply with the Last-Modified already set (Go keeps it on a 304). */
function withHeaders(r: Reply, h: HeaderList): Reply {
  if (r.status === 304) return { status: 304, headers: h };
  return r;
}

async function fileReply(req: FileRequest, path: string, info: Deno.FileInfo, name: string): Promise<Reply> {
  const h = new HeaderList();
  const mtime = lastModified(h, info);
  const pre = preconditions(req, mtime);
  if (pre.done) return withHeaders(pre.done, h);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (err) {
    return fsError(err);
  }
  try {
    const size = (await file.stat()).size;
    let type = typeByExtension(name);
    if (!type) {
      const head = new Uint8Array(Math.min(512, size));
      let n = 0;
      while (n < head.length) {
        const k = await file.read(head.subarray(n));
        if (k === null) break;
        n += k;
      }
      type = sniffType(head.subarray(0, n));
    }
    h.add("Accept-Ranges", "bytes");
    const ranges = pre.useRange ? parseRange(req.headers.get("range"), size) : { kind: "none" as const };
    if (ranges.kind === "unsatisfiable") {
      file.close();
      return errorReply(416, ranges.message, [["Content-Range", `bytes */${size}`]]);
    }
    let status = 200;
    let parts: FileBody["parts"] = [{ prefix: new Uint8Array(0), range: { start: 0, length: size } }];
    let suffix = new Uint8Array(0);
    let length = size;
    if (ranges.kind === "ranges" && ranges.ranges.length === 1) {
      const r = ranges.ranges[0];
      status = 206;
      h.add("Content-Range", contentRange(r, size));
      parts = [{ prefix: new Uint8Array(0), range: r }];
      length = r.length;
      h.add("Content-Type", type);
    } else if (ranges.kind === "ranges") {
      status = 206;
      const boundary = newBoundary();
      parts = ranges.ranges.map((r, i) => ({
        prefix: encoder.encode(partHead(boundary, i === 0, type!, r, size)),
        range: r,
      }));
      suffix = encoder.encode(multipartEnd(boundary));
      length = parts.reduce((n, p) => n + p.prefix.length + p.range.length, 0) + suffix.length;
      h.add("Content-Type", `multipart/byteranges; boundary=${boundary}`);
    } else {
      h.add("Content-Type", type);
    }
    h.add("Content-Length", String(length));
    if (req.method === "HEAD") {
      file.close();
      return { status, headers: h };
    }
    return { status, headers: h, body: { file, parts, suffix } };
  } catch (err) {
    file.close();
    return fsError(err);
  }
}
