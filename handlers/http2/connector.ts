/**
 * The `http2` connector (GOST's x/connector/http2): on the HTTP/2 session the `http2` dialer keeps to the node
 * (listeners/http2/session_conn.ts), each connect opens one stream — `CONNECT` with the target as `:authority`,
 * Basic `proxy-authorization` when the node has credentials, and the `header` entries — and once the proxy answers
 * 200 the stream is the tunnel. Bounded by `timeout`.
 * @module
 */
import type { Conn, Network } from "../../core/conn.ts";
import type { ClientPluginOptions, Connector, DialOptions } from "../../core/contracts.ts";
import { timeout } from "../../core/deadline.ts";
import { AuthError, DialError, errorMessage, HandshakeError, TimeoutError } from "../../core/errors.ts";
import { latin1Encode } from "../../core/http1/head.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { HeaderField } from "../../listeners/h2/hpack.ts";
import { H2SessionConn } from "../../listeners/http2/session_conn.ts";
import { DEFAULT_CONNECT_TIMEOUT_MS, type Http2ConnectorMetadata, parseHttp2ConnectorMetadata } from "./metadata.ts";

/** HTTP/2 proxy client. */
export class Http2Connector implements Connector {
  readonly #opts: ClientPluginOptions;
  #md: Http2ConnectorMetadata = { timeoutMs: DEFAULT_CONNECT_TIMEOUT_MS, header: [] };

  constructor(opts: ClientPluginOptions) {
    this.#opts = opts;
  }

  init(md: Metadata): Promise<void> {
    try {
      this.#md = parseHttp2ConnectorMetadata(md);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Opens the CONNECT stream for `addr`.
   * @throws {AuthError} on 407; {@link DialError} on any other status, for `udp`, and on a conn that is not an
   *   `http2` dialer's; a TimeoutError past `timeout`
   */
  async connect(conn: Conn, network: Network, addr: string, _opts?: DialOptions): Promise<Conn> {
    if (network !== "tcp") throw new DialError(addr, `http2 connector: ${network} is not carried (TCP only)`);
    if (!(conn instanceof H2SessionConn)) {
      throw new DialError(addr, "http2 connector: the node's dialer must be http2 (-F http2://host:port)");
    }
    const fields: HeaderField[] = [{ name: ":method", value: "CONNECT" }, { name: ":authority", value: addr }];
    const auth = this.#opts.auth;
    if (auth?.username) {
      const token = btoa(String.fromCharCode(...latin1Encode(`${auth.username}:${auth.password ?? ""}`)));
      fields.push({ name: "proxy-authorization", value: `Basic ${token}` });
    }
    fields.push(...this.#md.header);
    let stream;
    try {
      stream = await conn.session.open(fields);
    } catch (err) {
      throw new DialError(addr, `http2 connector: no stream to ${conn.node}: ${errorMessage(err)}`, { cause: err });
    }
    try {
      const res = await timeout(stream.response(), this.#md.timeoutMs, `http2 CONNECT ${addr}`);
      const status = res.find((f) => f.name === ":status")?.value ?? "";
      if (status === "407") throw new AuthError(`http2 connector: proxy authentication failed for CONNECT ${addr}`);
      if (status !== "200") {
        throw new DialError(addr, `http2 connector: CONNECT ${addr}: ${status || "no status"}`);
      }
      return stream;
    } catch (err) {
      stream.close();
      if (err instanceof AuthError || err instanceof DialError || err instanceof TimeoutError) throw err;
      throw new HandshakeError(`http2 connector: CONNECT ${addr}: ${errorMessage(err)}`, { cause: err });
    }
  }
}
