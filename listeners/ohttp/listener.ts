/**
 * The `ohttp` listener (server side of GOST's obfs-http, docs/wire.md "obfs-http / obfs-tls"). Each TCP conn must
 * open with a `GET` request carrying `Upgrade: websocket`; a body (`Content-Length`, as simple-obfs clients send
 * the first payload) and any bytes after the head are the first bytes the handler reads. The server answers
 * `101 Switching Protocols` at once when the request carried no payload, else together with its first write (as
 * GOST). A request that is not such a GET is answered 400 and closed; bytes that are no HTTP head, or a head over
 * its caps, close the conn; each with a log line (listeners/handshaking.ts).
 * @module
 */
import { HandshakeReader } from "../../core/bufio.ts";
import { type Conn, PrefixConn, writeFull } from "../../core/conn.ts";
import { concatBytes } from "../../core/bytes.ts";
import { HandshakeError, UnexpectedEofError } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { ListenerOptions } from "../../core/contracts.ts";
import { parseRequestHead } from "../../core/http1/head.ts";
import { readHead } from "../../core/http1/reader.ts";
import { HandshakingListener } from "../handshaking.ts";
import {
  acceptKey,
  badRequestHead,
  MAX_LINE_BYTES,
  MAX_REQUEST_BODY_BYTES,
  MAX_REQUEST_HEAD_BYTES,
  readHeaderMap,
  switchingHead,
} from "./protocol.ts";

/** Default bound on receiving the client's request. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

/** obfs-http listener. */
export class ObfsHttpListener extends HandshakingListener {
  #header = new Map<string, string>();

  constructor(opts: ListenerOptions) {
    super(opts, "obfs-http handshake");
  }

  /** Reads `header` (added to the 101), `handshakeTimeout` and `reusePort`, and binds. */
  override init(md: Metadata): Promise<void> {
    this.#header = readHeaderMap(md, ["header"]);
    const timeoutMs = md.duration("handshakeTimeout", DEFAULT_HANDSHAKE_TIMEOUT_MS);
    this.bind((raw) => this.#serverHandshake(raw), timeoutMs, md.bool("reusePort"));
    return Promise.resolve();
  }

  async #serverHandshake(raw: Conn): Promise<Conn> {
    const r = new HandshakeReader(raw, 4096);
    const lines = await readHead(r, { maxLineBytes: MAX_LINE_BYTES, maxHeaderBytes: MAX_REQUEST_HEAD_BYTES });
    if (!lines) throw new UnexpectedEofError("client closed before its request");
    const req = parseRequestHead(lines);
    const cl = req.headers.get("content-length");
    let body: Uint8Array = new Uint8Array(0);
    if (cl !== undefined) {
      const n = /^\d{1,10}$/.test(cl.trim()) ? Number(cl.trim()) : NaN;
      if (!(n <= MAX_REQUEST_BODY_BYTES)) {
        await writeFull(raw, badRequestHead(this.#header));
        throw new HandshakeError(
          `Content-Length ${JSON.stringify(cl)} is not a number up to ${MAX_REQUEST_BODY_BYTES}`,
        );
      }
      if (n > 0) body = await r.readFull(n);
    }
    if (req.method !== "GET" || req.headers.get("upgrade") !== "websocket") {
      await writeFull(raw, badRequestHead(this.#header));
      throw new HandshakeError(`not a GET with "Upgrade: websocket" (${req.method} ${req.target.slice(0, 80)})`);
    }
    const head = switchingHead(await acceptKey(req.headers.get("sec-websocket-key") ?? ""), this.#header);
    const first = r.buffered ? concatBytes([body, r.takeBuffered()]) : body;
    if (!first.length) await writeFull(raw, head);
    return new ObfsHttpServerConn(raw, first, first.length ? head : null);
  }
}

/** The server's conn: the first payload read first (a {@link PrefixConn}), the held 101 head sent in front of the first write. */
class ObfsHttpServerConn extends PrefixConn {
  #held: Uint8Array | null;

  constructor(inner: Conn, first: Uint8Array, held: Uint8Array | null) {
    super(inner, first);
    this.#held = held;
  }

  override async write(p: Uint8Array): Promise<number> {
    const h = this.#held;
    if (!h) return await this.inner.write(p);
    this.#held = null;
    await writeFull(this.inner, concatBytes([h, p]));
    return p.length;
  }

  override async closeWrite(): Promise<void> {
    const h = this.#held;
    this.#held = null;
    if (h) await writeFull(this.inner, h);
    await this.inner.closeWrite();
  }
}
