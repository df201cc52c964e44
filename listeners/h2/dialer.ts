/**
 * The `h2` and `h2c` dialers (GOST's x/dialer/http2/h2): every dial is one HTTP/2 stream on the session the chain
 * keeps to the node. Without `path` the stream is a `CONNECT` whose `:authority` is `host` (else the node's
 * address); with `path` a `GET` of that path. `header` entries go with the request. The node answers `200` and
 * then the request's DATA carries our bytes and the response's DATA the node's (docs/wire.md, "HTTP/2 (h2, h2c)").
 * @module
 */
import type { Conn } from "../../core/conn.ts";
import type { ClientPluginOptions } from "../../core/contracts.ts";
import { timeout } from "../../core/deadline.ts";
import { ConfigError, HandshakeError } from "../../core/errors.ts";
import { parseHeaderMap } from "../../core/http1/header_map.ts";
import type { Metadata } from "../../core/metadata.ts";
import { DEFAULT_HANDSHAKE_TIMEOUT_MS } from "../tls/options.ts";
import { H2ClientDialer } from "./client.ts";
import type { HeaderField } from "./hpack.ts";
import { h2Headers, parseKeepalive, transportMetadata } from "./options.ts";
import type { H2Session } from "./session.ts";

/** The dialer's PING keep-alive: on, a PING every 30s, the session ends when 30s pass without an answer. */
export const H2_KEEPALIVE = { enabled: true, timeMs: 30_000, timeoutMs: 30_000, mode: "periodic" } as const;

/** The keep-alive keys of the h2/h2c dialer and listener. */
export const H2_KEEPALIVE_KEYS = { enabled: ["keepalive"], time: ["keepalive.time"], timeout: ["keepalive.timeout"] };

/** HTTP/2 tunnel client (h2: over TLS, h2c: cleartext). */
export class H2Dialer extends H2ClientDialer {
  readonly #type: string;
  readonly #tls: boolean;
  #host = "";
  #path = "";
  #header: HeaderField[] = [];

  /** @param tls true for h2 (TLS), false for h2c */
  constructor(opts: ClientPluginOptions, tls: boolean) {
    super(opts, tls ? "h2" : "h2c");
    this.#type = tls ? "h2" : "h2c";
    this.#tls = tls;
  }

  /**
   * Reads `host`, `path`, `header`, `handshakeTimeout` and the keep-alive keys (listeners/h2/mod.ts), then the
   * TCP/TLS keys.
   * @throws {ConfigError} on a bad value
   */
  async init(md: Metadata): Promise<void> {
    const owner = `dialer ${this.#type}`;
    this.#host = md.string("host");
    this.#path = md.string("path");
    if (this.#path && !this.#path.startsWith("/")) {
      throw new ConfigError(`${owner}: "path" must start with "/", got ${JSON.stringify(this.#path)}`);
    }
    this.#header = h2Headers(parseHeaderMap(md, ["header"]));
    const keepalive = parseKeepalive(md, H2_KEEPALIVE_KEYS, H2_KEEPALIVE);
    const handshakeMs = md.duration("handshakeTimeout", DEFAULT_HANDSHAKE_TIMEOUT_MS);
    await this.initTransport(transportMetadata(md, owner), { keepalive, handshakeMs }, this.#tls);
  }

  /**
   * Sends the request on a new stream and waits for the node's answer.
   * @throws {HandshakeError} naming the status when it is not 200; a TimeoutError past `handshakeTimeout`
   */
  protected async openStream(session: H2Session, addr: string): Promise<Conn> {
    const authority = this.#host || addr;
    const fields: HeaderField[] = this.#path
      ? [
        { name: ":method", value: "GET" },
        { name: ":scheme", value: this.#type === "h2" ? "https" : "http" },
        { name: ":path", value: this.#path },
        { name: ":authority", value: authority },
      ]
      : [{ name: ":method", value: "CONNECT" }, { name: ":authority", value: authority }];
    const stream = await session.open([...fields, ...this.#header]);
    try {
      const res = await timeout(stream.response(), this.handshakeMs, `${this.#type} request to ${addr}`);
      const status = res.find((f) => f.name === ":status")?.value ?? "";
      if (status !== "200") {
        throw new HandshakeError(`${this.#type}: ${addr} answered ${status || "no status"} to the tunnel request`);
      }
      return stream;
    } catch (err) {
      stream.close();
      throw err;
    }
  }
}
