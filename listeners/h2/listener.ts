/**
 * The `h2` and `h2c` listeners (GOST's x/listener/http2/h2): HTTP/2 over TLS (ALPN `h2`) or cleartext (prior
 * knowledge), each accepted request a tunnel for the handler. Without `path` only `CONNECT` is accepted (another
 * method is answered 405), with `path` the request's `:path` must equal it (else 400), as GOST answers; each refusal
 * is logged and ends that stream only. An accepted request is answered `200` as it is queued for the handler; then
 * its DATA is the client's bytes and the response's DATA ours (docs/wire.md, "HTTP/2 (h2, h2c)").
 * @module
 */
import { ConfigError } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { ListenerOptions } from "../../core/contracts.ts";
import { TcpListener } from "../tcp/listener.ts";
import { TlsListener } from "../tls/listener.ts";
import { DEFAULT_HANDSHAKE_TIMEOUT_MS } from "../tls/options.ts";
import { H2_KEEPALIVE_KEYS } from "./dialer.ts";
import { parseKeepalive, transportMetadata } from "./options.ts";
import { type AcceptedTunnel, DEFAULT_H2_BACKLOG, H2ServerListener } from "./server.ts";
import type { H2Stream } from "./stream.ts";

/** The listener's PING keep-alive: off unless `keepalive=true` (GOST's server sends none). */
const LISTENER_KEEPALIVE = { enabled: false, timeMs: 30_000, timeoutMs: 30_000, mode: "periodic" } as const;

/** The value of a request's header `name` (pseudo-headers included); "" when absent. */
export function header(stream: H2Stream, name: string): string {
  return stream.headers.find((f) => f.name === name)?.value ?? "";
}

/** HTTP/2 tunnel listener (h2: TLS, h2c: cleartext). */
export class H2Listener extends H2ServerListener {
  readonly #opts: ListenerOptions;
  readonly #type: string;
  readonly #tls: boolean;

  /** @param tls true for h2 (TLS with ALPN h2), false for h2c */
  constructor(opts: ListenerOptions, tls: boolean) {
    super(opts);
    this.#opts = opts;
    this.#type = tls ? "h2" : "h2c";
    this.#tls = tls;
  }

  /**
   * Reads `path`, `backlog`, `handshakeTimeout` and the keep-alive keys (listeners/h2/mod.ts), then binds.
   * @throws {ConfigError} on a bad value
   */
  override async init(md: Metadata): Promise<void> {
    const owner = `listener ${this.#type}`;
    const path = md.string("path");
    if (path && !path.startsWith("/")) {
      throw new ConfigError(`${owner}: "path" must start with "/", got ${JSON.stringify(path)}`);
    }
    const backlog = md.int("backlog", 0, 0) || DEFAULT_H2_BACKLOG;
    const handshakeMs = md.duration("handshakeTimeout", DEFAULT_HANDSHAKE_TIMEOUT_MS);
    const keepalive = parseKeepalive(md, H2_KEEPALIVE_KEYS, LISTENER_KEEPALIVE);
    const type = this.#type;
    const log = this.#opts.logger;
    await this.start(
      {
        backlog,
        handshakeMs,
        session: { transport: type, keepalive },
        accept: async (stream: H2Stream, remote: string): Promise<AcceptedTunnel | null> => {
          const method = header(stream, ":method");
          const refuse = async (status: number, why: string) => {
            log.info(`${type}: request refused (${status}): ${why}`, { remote });
            await stream.sendHeaders([{ name: ":status", value: String(status) }], true);
            return null;
          };
          if (!path && method !== "CONNECT") return await refuse(405, `method ${method || "(none)"}, not CONNECT`);
          if (path && header(stream, ":path") !== path) {
            return await refuse(400, `path ${JSON.stringify(header(stream, ":path"))}, not ${JSON.stringify(path)}`);
          }
          return { conn: stream, answer: () => stream.sendHeaders([{ name: ":status", value: "200" }], false) };
        },
      },
      this.#tls ? new TlsListener(this.#opts, "h2") : new TcpListener(this.#opts),
      transportMetadata(md, owner),
    );
    log.debug(`${type} listener on ${this.#opts.addr}${path ? `: path ${path}` : ": CONNECT"}`);
  }
}
