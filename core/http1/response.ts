/**
 * Writing HTTP/1.1 responses on the server side: a fetch `Response` with Content-Length framing.
 * @module
 */
import { type Conn, writeFull } from "../conn.ts";
import { HeaderList, serializeHead } from "./head.ts";
import { STATUS_TEXT } from "./status.ts";

/**
 * Writes a response with Content-Length framing (the body is read whole: API answers are small) and a `Date`.
 * @param method the request's method (HEAD gets no body)
 * @param keepAlive false adds `Connection: close`
 */
export async function writeResponse(conn: Conn, res: Response, method: string, keepAlive: boolean): Promise<void> {
  const body = new Uint8Array(await res.arrayBuffer());
  const h = new HeaderList();
  res.headers.forEach((value, name) => {
    if (name !== "content-length" && name !== "transfer-encoding" && name !== "connection") h.add(name, value);
  });
  if (!res.headers.has("date")) h.add("date", new Date().toUTCString());
  const noBody = res.status === 204 || res.status === 304 || res.status < 200;
  if (!noBody) h.add("content-length", String(body.length));
  if (!keepAlive) h.add("connection", "close");
  const head = serializeHead(`HTTP/1.1 ${res.status} ${STATUS_TEXT[res.status] ?? res.statusText ?? "Status"}`, h);
  if (noBody || method === "HEAD" || !body.length) return await writeFull(conn, head);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  await writeFull(conn, out);
}
