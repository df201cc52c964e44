/**
 * The `grpc` listener (GOST's x/listener/grpc): an HTTP/2 server (TLS with ALPN `h2` by default, cleartext with
 * `grpcInsecure=true`) whose every call of the tunnel method (`/GostTunel/Tunnel`, or `grpc.path`) is one conn for
 * the handler. Other requests get grpc-go's answers, each logged, ending that stream only: a method other than POST
 * is HTTP 405, a content-type that is not `application/grpc` 415, another path `grpc-status: 12` (UNIMPLEMENTED,
 * "unknown service …"), a `grpc-encoding` other than identity 12 too (docs/wire.md, "gRPC").
 * @module
 */
import type { Metadata } from "../../core/metadata.ts";
import type { ListenerOptions } from "../../core/contracts.ts";
import { TcpListener } from "../tcp/listener.ts";
import { TlsListener } from "../tls/listener.ts";
import { DEFAULT_HANDSHAKE_TIMEOUT_MS } from "../tls/options.ts";
import { header } from "../h2/listener.ts";
import { parseKeepalive, transportMetadata } from "../h2/options.ts";
import { type AcceptedTunnel, DEFAULT_H2_BACKLOG, H2ServerListener } from "../h2/server.ts";
import type { H2Stream } from "../h2/stream.ts";
import { GrpcConn, GrpcStatus, statusName, trailers } from "./conn.ts";
import { insecureOf, keepaliveKeys } from "./options.ts";
import { grpcMethod } from "./path.ts";

/** GOST's listener keep-alive: off unless `grpc.keepalive`; then a PING after 60s without a frame, 30s to answer. */
const LISTENER_KEEPALIVE = { enabled: false, timeMs: 60_000, timeoutMs: 30_000, mode: "idle" } as const;
/** GOST's `grpc.keepalive.minTime` default. */
const DEFAULT_MIN_TIME_MS = 30_000;

const CONTENT_TYPE = { name: "content-type", value: "application/grpc" };

/** gRPC tunnel listener. */
export class GrpcListener extends H2ServerListener {
  readonly #opts: ListenerOptions;

  constructor(opts: ListenerOptions) {
    super(opts);
    this.#opts = opts;
  }

  /**
   * Reads GOST's grpc keys (listeners/grpc/mod.ts), then binds.
   * @throws {ConfigError} on a bad value
   */
  override async init(md: Metadata): Promise<void> {
    const owner = "listener grpc";
    const tls = !insecureOf(md);
    const method = grpcMethod(md.string(["grpc.path", "path"]));
    const backlog = md.int(["grpc.backlog", "backlog"], 0, 0) || DEFAULT_H2_BACKLOG;
    const handshakeMs = md.duration("handshakeTimeout", DEFAULT_HANDSHAKE_TIMEOUT_MS);
    const keepalive = parseKeepalive(md, keepaliveKeys, LISTENER_KEEPALIVE);
    // GOST reads the policy and the idle limit only with grpc.keepalive on
    const minTimeMs = md.duration(["grpc.keepalive.minTime", "keepalive.minTime"], 0) || DEFAULT_MIN_TIME_MS;
    const maxIdleMs = md.duration(["grpc.keepalive.maxConnectionIdle", "keepalive.maxConnectionIdle"], 0);
    const pingPolicy = keepalive ? { minTimeMs, permitWithoutStream: keepalive.withoutStreams } : null;
    const log = this.#opts.logger;
    await this.start(
      {
        backlog,
        handshakeMs,
        session: { transport: "grpc", keepalive, pingPolicy, maxIdleMs: keepalive ? maxIdleMs : 0 },
        accept: async (stream: H2Stream, remote: string): Promise<AcceptedTunnel | null> => {
          const refuse = async (http: number, status: number, message: string) => {
            log.info(`grpc: call refused (${http === 200 ? statusName(status) : `HTTP ${http}`}): ${message}`, {
              remote,
            });
            await stream.sendHeaders([
              { name: ":status", value: String(http) },
              CONTENT_TYPE,
              ...trailers(status, message),
            ], true);
            return null;
          };
          const httpMethod = header(stream, ":method");
          if (httpMethod !== "POST") {
            return await refuse(
              405,
              GrpcStatus.INTERNAL,
              `Received a HEADERS frame with :method "${httpMethod}" which should be POST`,
            );
          }
          const type = header(stream, "content-type");
          if (!/^application\/grpc($|[+;])/.test(type)) {
            return await refuse(415, GrpcStatus.INVALID_ARGUMENT, `invalid gRPC request content-type "${type}"`);
          }
          const path = header(stream, ":path");
          if (path !== method.path) {
            const [, service = "", name = ""] = /^\/?([^/]*)\/?(.*)$/.exec(path) ?? [];
            const why = service === method.service
              ? `unknown method ${name} for service ${service}`
              : `unknown service ${service}`;
            return await refuse(200, GrpcStatus.UNIMPLEMENTED, why);
          }
          const encoding = header(stream, "grpc-encoding");
          if (encoding && encoding !== "identity") {
            return await refuse(
              200,
              GrpcStatus.UNIMPLEMENTED,
              `grpc: Decompressor is not installed for grpc-encoding "${encoding}"`,
            );
          }
          const conn = new GrpcConn(stream, true);
          return { conn, answer: () => stream.sendHeaders([{ name: ":status", value: "200" }, CONTENT_TYPE], false) };
        },
      },
      tls ? new TlsListener(this.#opts, "h2") : new TcpListener(this.#opts),
      transportMetadata(md, owner),
    );
    log.debug(`grpc listener on ${this.#opts.addr}: ${method.path}${tls ? "" : ", insecure (cleartext HTTP/2)"}`);
  }
}
