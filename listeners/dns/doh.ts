/**
 * The `dns` listener's DNS over HTTPS (mode `https`, RFC 8484), as GOST serves it: TLS with ALPN `h2` and
 * `http/1.1`, every path; `GET ?dns=` (base64url, no padding) or `POST` with `Content-Type: application/dns-message`;
 * the answer `200` with `Content-Type: application/dns-message`. HTTP/2 runs on listeners/h2's engine, HTTP/1.1 on
 * core/http1's bounded server. Refused, each with a log line: another method (405), another content type (415), a
 * missing or undecodable `dns` parameter or an empty body (400), a body over 65535 bytes (413); a query the handler
 * drops gets 400, one the queue has no room for 503.
 * @module
 */
import { addrString, closeQuietly, type Conn } from "../../core/conn.ts";
import type { ConnContext, Listener, ListenerOptions } from "../../core/contracts.ts";
import { ListenerClosedError } from "../../core/contracts.ts";
import { errorMessage } from "../../core/errors.ts";
import { Http1Handler } from "../../core/http1/serve.ts";
import type { Logger } from "../../core/log.ts";
import { Metadata } from "../../core/metadata.ts";
import { MAX_DNS_MESSAGE } from "../../core/routing/dns_exchange.ts";
import { header } from "../h2/listener.ts";
import { H2ServerListener } from "../h2/server.ts";
import type { H2Stream } from "../h2/stream.ts";
import { TlsListener } from "../tls/listener.ts";
import { DEFAULT_HANDSHAKE_TIMEOUT_MS } from "../tls/options.ts";
import { DnsMessageConn } from "./message_conn.ts";

/** The media type of DNS messages over HTTP. */
export const DNS_MESSAGE_TYPE = "application/dns-message";
/** HTTP/1.1 DoH conns served at once. */
const MAX_HTTP1_CONNS = 1024;

/** A DoH request, read: the query, or the status it is refused with and why. */
type Parsed = { query: Uint8Array } | { status: number; why: string };

/** Decodes base64url without padding (RFC 4648 §5), or null. */
function base64url(s: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) return null;
  try {
    const b64 = s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4);
    return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

/** Reads a DoH request from its method, URL, content type and body. */
async function parseRequest(
  method: string,
  url: string,
  contentType: string,
  body: () => Promise<Uint8Array | null>,
): Promise<Parsed> {
  if (method === "GET") {
    const param = new URL(url, "https://dns.invalid").searchParams.get("dns") ?? "";
    const query = base64url(param);
    if (!query || query.length === 0) return { status: 400, why: "GET without a base64url dns parameter" };
    if (query.length > MAX_DNS_MESSAGE) return { status: 413, why: `a ${query.length}-byte query` };
    return { query };
  }
  if (method !== "POST") return { status: 405, why: `method ${method}` };
  const type = contentType.split(";")[0].trim().toLowerCase();
  if (type !== DNS_MESSAGE_TYPE) return { status: 415, why: `content type ${JSON.stringify(contentType)}` };
  const query = await body();
  if (query === null) return { status: 413, why: `a body over ${MAX_DNS_MESSAGE} bytes` };
  if (query.length === 0) return { status: 400, why: "an empty body" };
  return { query };
}

/** How the DoH server hands its queries over. */
export interface DohOptions {
  /** Hands a query to `accept()`; false when the queue is full. */
  offer: (conn: DnsMessageConn) => boolean;
  readTimeoutMs: number;
  writeTimeoutMs: number;
  logger: Logger;
}

/** The answer to one DoH request (status, body) after the handler has seen it. */
async function answer(
  parsed: Parsed,
  local: Deno.Addr,
  remote: Deno.Addr,
  o: DohOptions,
): Promise<{ status: number; body?: Uint8Array; why?: string }> {
  if ("status" in parsed) return parsed;
  let reply: Uint8Array | undefined;
  const msg = new DnsMessageConn(parsed.query, local, remote, (r) => {
    reply = r;
    return Promise.resolve();
  });
  if (!o.offer(msg)) {
    msg.close();
    return { status: 503, why: "the queue is full" };
  }
  await msg.done;
  return reply ? { status: 200, body: reply } : { status: 400, why: "no answer to the query" };
}

/** Reads an HTTP/2 stream's body to its end, at most {@link MAX_DNS_MESSAGE} bytes (null beyond). */
async function streamBody(stream: H2Stream): Promise<Uint8Array | null> {
  const buf = new Uint8Array(MAX_DNS_MESSAGE + 1);
  let n = 0;
  for (;;) {
    if (n === buf.length) return null;
    const k = await stream.read(buf.subarray(n));
    if (k === null) return buf.slice(0, n);
    n += k;
  }
}

/** Conns of one listener, pushed by a pump and taken by `accept()` (the HTTP/2 engine's inner listener). */
class ConnQueue implements Listener {
  readonly addr: Deno.Addr;
  readonly #conns: Conn[] = [];
  #waiter: PromiseWithResolvers<Conn> | null = null;
  #closed = false;
  constructor(addr: Deno.Addr) {
    this.addr = addr;
  }
  init(): Promise<void> {
    return Promise.resolve();
  }
  push(c: Conn): void {
    if (this.#closed) return closeQuietly(c);
    const w = this.#waiter;
    this.#waiter = null;
    if (w) w.resolve(c);
    else this.#conns.push(c);
  }
  accept(): Promise<Conn> {
    if (this.#closed) return Promise.reject(new ListenerClosedError());
    const c = this.#conns.shift();
    if (c) return Promise.resolve(c);
    this.#waiter = Promise.withResolvers();
    return this.#waiter.promise;
  }
  close(): void {
    this.#closed = true;
    for (const c of this.#conns.splice(0)) closeQuietly(c);
    this.#waiter?.reject(new ListenerClosedError());
    this.#waiter = null;
  }
}

/**
 * The DoH server of one `dns` listener: TLS conns split by ALPN between HTTP/2 and HTTP/1.1.
 * @example const doh = await DohServer.start(opts, md, { offer, readTimeoutMs: 2000, writeTimeoutMs: 2000, logger });
 */
export class DohServer {
  readonly #tls: TlsListener;
  readonly #h2: H2ServerListener;
  readonly #h2conns: ConnQueue;
  readonly #h1: Http1Handler;
  readonly #o: DohOptions;
  readonly #abort = new AbortController();
  #closed = false;

  private constructor(tls: TlsListener, o: DohOptions, opts: ListenerOptions) {
    this.#tls = tls;
    this.#o = o;
    this.#h2conns = new ConnQueue(tls.addr);
    this.#h2 = new H2ServerListener(opts);
    this.#h1 = new Http1Handler({
      fetch: (req, info) => this.#fetch(req, info.remoteAddr),
      limits: {
        readTimeoutMs: o.readTimeoutMs,
        writeTimeoutMs: o.writeTimeoutMs,
        maxConns: MAX_HTTP1_CONNS,
        maxBodyBytes: MAX_DNS_MESSAGE,
      },
    });
  }

  /**
   * Binds the TLS listener (its certificate and TLS keys as the `tls` listener's, ALPN `h2,http/1.1` unless
   * configured) and starts serving.
   * @throws {ConfigError} on bad TLS settings
   */
  static async start(opts: ListenerOptions, md: Metadata, o: DohOptions): Promise<DohServer> {
    const tlsMd = new Metadata(md.toRecord());
    const tlsBlock = opts.tls as { options?: { alpn?: unknown } } | undefined;
    if (!tlsMd.has("tls.alpn", "alpn") && !tlsBlock?.options?.alpn) tlsMd.set("tls.alpn", "h2,http/1.1");
    const tls = new TlsListener(opts);
    await tls.init(tlsMd);
    const s = new DohServer(tls, o, opts);
    await s.#h2.start(
      {
        backlog: 1,
        handshakeMs: DEFAULT_HANDSHAKE_TIMEOUT_MS,
        session: { transport: "doh", keepalive: null, maxIdleMs: 60_000, streamWindow: 65_535 },
        accept: (stream, remote) => s.#h2Request(stream, remote).then(() => null),
      },
      s.#h2conns,
      new Metadata({}),
    );
    s.#pump().catch((err) => {
      if (!s.#closed) o.logger.warn(`dns https: accept: ${errorMessage(err)}`);
    });
    s.#h2.accept().catch(() => {}); // runs the engine's pump; no stream is ever queued for it
    return s;
  }

  /** The bound address. */
  get addr(): Deno.Addr {
    return this.#tls.addr;
  }

  async #pump(): Promise<void> {
    for (;;) {
      const conn = await this.#tls.accept();
      if (this.#closed) return closeQuietly(conn);
      if ((conn as { alpnProtocol?: string }).alpnProtocol === "h2") this.#h2conns.push(conn);
      else this.#serveHttp1(conn);
    }
  }

  #serveHttp1(conn: Conn): void {
    const src = addrString(conn.remoteAddr);
    const ctx: ConnContext = {
      sid: "",
      service: "",
      src,
      signal: this.#abort.signal,
      logger: this.#o.logger.child({ remote: src }),
    };
    this.#h1.handle(conn, ctx).catch((err) => this.#o.logger.debug(`dns https: ${errorMessage(err)}`, { remote: src }));
  }

  /** Answers one HTTP/1.1 request. */
  async #fetch(req: Request, remoteAddr: string): Promise<Response> {
    const parsed = await parseRequest(req.method, req.url, req.headers.get("content-type") ?? "", async () => {
      const b = new Uint8Array(await req.arrayBuffer());
      return b.length > MAX_DNS_MESSAGE ? null : b;
    });
    const remote = toAddr(remoteAddr);
    const r = await answer(parsed, this.#tls.addr, remote, this.#o);
    if (r.status !== 200) {
      this.#o.logger.info(`dns https: request refused (${r.status}): ${r.why}`, { remote: remoteAddr });
      return new Response(`${r.why}\n`, { status: r.status, headers: { "content-type": "text/plain" } });
    }
    return new Response(r.body as Uint8Array<ArrayBuffer>, { headers: { "content-type": DNS_MESSAGE_TYPE } });
  }

  /** Answers one HTTP/2 request on its stream. */
  async #h2Request(stream: H2Stream, remote: string): Promise<void> {
    const parsed = await parseRequest(
      header(stream, ":method"),
      header(stream, ":path"),
      header(stream, "content-type"),
      () => streamBody(stream),
    );
    const r = await answer(parsed, this.#tls.addr, toAddr(remote), this.#o);
    if (r.status !== 200) {
      this.#o.logger.info(`dns https: request refused (${r.status}): ${r.why}`, { remote });
      await stream.sendHeaders([{ name: ":status", value: String(r.status) }], true);
      return;
    }
    await stream.sendHeaders([
      { name: ":status", value: "200" },
      { name: "content-type", value: DNS_MESSAGE_TYPE },
      { name: "content-length", value: String(r.body!.length) },
    ], false);
    await stream.write(r.body!);
    await stream.closeWrite();
  }

  /** Stops accepting and ends every conn. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort();
    this.#tls.close();
    this.#h2.close();
    this.#h2conns.close();
  }
}

/** `host:port` as an address (the client's, for the handler). */
function toAddr(s: string): Deno.NetAddr {
  const m = /^\[?(.*?)\]?:(\d+)$/.exec(s);
  return { transport: "tcp", hostname: m?.[1] ?? s, port: Number(m?.[2] ?? 0) };
}
