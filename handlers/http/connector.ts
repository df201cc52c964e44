/**
 * The `http` connector: asks an HTTP proxy to open a tunnel with `CONNECT host:port`, with Basic
 * `Proxy-Authorization` when credentials are set and any extra headers from metadata `header`. The handshake is
 * bounded by `connectTimeout` (default 10 s) and the response head by the same size caps as the handler.
 * @module
 */
import { closeQuietly, type Conn, type Network, writeFull } from "../../core/conn.ts";
import { withDeadline } from "../../core/deadline.ts";
import { AuthError, ConfigError, DialError, HandshakeError } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { ClientPluginOptions, Connector, DialOptions } from "../../core/contracts.ts";
import { DEFAULT_MAX_HEADER_BYTES, MAX_LINE_BYTES } from "./metadata.ts";
import { newReader, readHead, releaseReader } from "./stream.ts";
import { HeaderList, latin1Encode, parseResponseHead, serializeHead } from "./wire.ts";

/** Default time for the CONNECT exchange. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** HTTP CONNECT connector. */
export class HttpConnector implements Connector {
  readonly #opts: ClientPluginOptions;
  #timeoutMs = DEFAULT_CONNECT_TIMEOUT_MS;
  #extra: [string, string][] = [];

  constructor(opts: ClientPluginOptions) {
    this.#opts = opts;
  }

  init(md: Metadata): Promise<void> {
    this.#timeoutMs = md.duration(["connectTimeout", "timeout"], DEFAULT_CONNECT_TIMEOUT_MS);
    const header = md.find("header")?.[1];
    if (header !== undefined && (typeof header !== "object" || header === null || Array.isArray(header))) {
      return Promise.reject(
        new ConfigError(`"header" must be a map of header names to values, got ${JSON.stringify(header)}`),
      );
    }
    this.#extra = Object.entries((header ?? {}) as Record<string, unknown>).map(([k, v]) => [k, String(v)]);
    return Promise.resolve();
  }

  /**
   * @throws {AuthError} on 407, {DialError} on any other non-2xx status, {HandshakeError} on a garbled reply
   */
  async connect(conn: Conn, network: Network, addr: string, _opts?: DialOptions): Promise<Conn> {
    if (network !== "tcp") {
      throw new DialError(addr, `http connector: ${network} is not supported (use a socks5 or relay node for UDP)`);
    }
    const headers = new HeaderList();
    headers.add("Host", addr);
    headers.add("Proxy-Connection", "keep-alive");
    const auth = this.#opts.auth;
    if (auth?.username) {
      const token = btoa(String.fromCharCode(...latin1Encode(`${auth.username}:${auth.password ?? ""}`)));
      headers.add("Proxy-Authorization", `Basic ${token}`);
    }
    for (const [k, v] of this.#extra) headers.set(k, v);
    try {
      return await withDeadline(conn, this.#timeoutMs, async () => {
        await writeFull(conn, serializeHead(`CONNECT ${addr} HTTP/1.1`, headers));
        const reader = newReader(conn);
        // A status line starts with "HTTP/": fail on the first byte of garbage rather than wait for a line end.
        const first = await reader.peekByte();
        if (first !== null && first !== 0x48 && first !== 0x0d && first !== 0x0a) {
          throw new HandshakeError(
            `http connector: the proxy answered CONNECT ${addr} with a byte that starts no HTTP response: ` +
              `0x${first.toString(16).padStart(2, "0")}`,
          );
        }
        const lines = await readHead(reader, {
          maxLineBytes: MAX_LINE_BYTES,
          maxHeaderBytes: DEFAULT_MAX_HEADER_BYTES,
        });
        if (!lines) {
          throw new HandshakeError(`http connector: the proxy closed the connection before answering CONNECT ${addr}`);
        }
        let res;
        try {
          res = parseResponseHead(lines);
        } catch (err) {
          throw new HandshakeError(`http connector: ${(err as Error).message}`, { cause: err });
        }
        if (res.status === 407) throw new AuthError(`http connector: proxy authentication failed for CONNECT ${addr}`);
        if (res.status < 200 || res.status > 299) {
          throw new DialError(addr, `http connector: CONNECT ${addr}: ${res.status} ${res.reason}`.trimEnd());
        }
        const tunnel = reader.conn();
        releaseReader(reader);
        return tunnel;
      });
    } catch (err) {
      closeQuietly(conn);
      throw err;
    }
  }
}
