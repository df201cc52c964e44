/**
 * The `ohttp` dialer (client side of GOST's obfs-http, docs/wire.md "obfs-http / obfs-tls"): nothing is sent
 * until the first write, which goes out as one packet: the upgrade request head immediately followed by the payload
 * (no Content-Length, as GOST). The first read skips the server's response head, which must be a `101`, up to its
 * empty line; then the conn is the raw stream.
 * @module
 */
import { HandshakeReader } from "../../core/bufio.ts";
import { closeQuietly, type Conn, ConnWrapper, PrefixConn, writeFull } from "../../core/conn.ts";
import { concatBytes } from "../../core/bytes.ts";
import { ConfigError, errorMessage, HandshakeError, UnexpectedEofError } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { ClientPluginOptions, Dialer, DialOptions } from "../../core/contracts.ts";
import { DEFAULT_DIAL_TIMEOUT_MS } from "../../core/routing/router.ts";
import { dialTcpNode } from "../tcp/dialer.ts";
import { parseResponseHead } from "../../core/http1/head.ts";
import { readHead } from "../../core/http1/reader.ts";
import { MAX_LINE_BYTES, MAX_RESPONSE_HEAD_BYTES, readHeaderMap, requestHead } from "./protocol.ts";

/** obfs-http dialer. */
export class ObfsHttpDialer implements Dialer {
  #host = "";
  #path = "/";
  #header = new Map<string, string>();
  #dialMs = DEFAULT_DIAL_TIMEOUT_MS;

  constructor(_opts: ClientPluginOptions) {}

  /** Reads `host` (obfs.host), `path` (obfs.path), `header` (obfs.header) and `dialTimeout` (timeout). */
  init(md: Metadata): Promise<void> {
    try {
      this.#host = md.string(["obfs.host", "host"]);
      this.#path = md.string(["obfs.path", "path"]) || "/";
      // deno-lint-ignore no-control-regex
      const bad = /[\s\x00-\x1f\x7f]/;
      if (!this.#path.startsWith("/") || bad.test(this.#path)) {
        const key = md.find(["obfs.path", "path"])?.[0];
        throw new ConfigError(`"${key}" = ${JSON.stringify(this.#path)}: a request path starts with "/", no spaces`);
      }
      if (bad.test(this.#host)) {
        const key = md.find(["obfs.host", "host"])?.[0];
        throw new ConfigError(`"${key}" = ${JSON.stringify(this.#host)}: a host name has no spaces`);
      }
      this.#header = readHeaderMap(md, ["obfs.header", "header"]);
      this.#dialMs = md.duration(["dialTimeout", "timeout"], DEFAULT_DIAL_TIMEOUT_MS);
    } catch (err) {
      return Promise.reject(err);
    }
    return Promise.resolve();
  }

  /** @throws {DialError} naming `addr` when the TCP connect fails */
  async dial(addr: string, opts: DialOptions = {}): Promise<Conn> {
    return await this.handshake(await dialTcpNode("ohttp", addr, this.#dialMs, opts.signal), addr);
  }

  /** Wraps a conn to the node (the request goes with its first write); `Host` is `host`, else `addr`. */
  handshake(conn: Conn, addr: string, _opts?: DialOptions): Promise<Conn> {
    return Promise.resolve(new ObfsHttpClientConn(conn, requestHead(this.#host || addr, this.#path, this.#header)));
  }
}

/** The client's conn: the request head in front of the first write, the response head skipped by the first read. */
class ObfsHttpClientConn extends ConnWrapper {
  #head: Uint8Array | null;
  #body: Promise<Conn> | null = null;

  constructor(inner: Conn, head: Uint8Array) {
    super(inner);
    this.#head = head;
  }

  override async write(p: Uint8Array): Promise<number> {
    const h = this.#head;
    if (!h) return await this.inner.write(p);
    this.#head = null;
    await writeFull(this.inner, concatBytes([h, p]));
    return p.length;
  }

  override async closeWrite(): Promise<void> {
    const h = this.#head;
    this.#head = null;
    if (h) await writeFull(this.inner, h);
    await this.inner.closeWrite();
  }

  override async read(p: Uint8Array): Promise<number | null> {
    const body = await (this.#body ??= this.#skipHead());
    return await body.read(p);
  }

  async #skipHead(): Promise<Conn> {
    const r = new HandshakeReader(this.inner, 1024);
    try {
      const lines = await readHead(r, { maxLineBytes: MAX_LINE_BYTES, maxHeaderBytes: MAX_RESPONSE_HEAD_BYTES });
      if (!lines) throw new UnexpectedEofError("obfs-http server closed before its response");
      const res = parseResponseHead(lines);
      if (res.status !== 101) throw new HandshakeError(`obfs-http server answered ${res.status} ${res.reason}`);
    } catch (err) {
      closeQuietly(this.inner);
      throw err instanceof HandshakeError ? err : new HandshakeError(`obfs-http response: ${errorMessage(err)}`, {
        cause: err,
      });
    }
    return r.buffered ? new PrefixConn(this.inner, r.takeBuffered()) : this.inner;
  }
}
