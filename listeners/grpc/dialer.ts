/**
 * The `grpc` dialer (GOST's x/dialer/grpc): every dial is one call of the bidirectional-streaming method
 * `/GostTunel/Tunnel` (`grpc.path` renames it) on the HTTP/2 connection the chain keeps to the node: TLS with ALPN
 * `h2` by default, cleartext HTTP/2 with `grpcInsecure=true`. The call opens without waiting for the node (GOST's
 * server answers with its first message), so a wrong path or a node that is not a gRPC server shows on the first
 * read, and is logged (docs/wire.md, "gRPC").
 * @module
 */
import type { Conn } from "../../core/conn.ts";
import type { ClientPluginOptions } from "../../core/contracts.ts";
import { errorMessage } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import { DEFAULT_HANDSHAKE_TIMEOUT_MS } from "../tls/options.ts";
import { H2ClientDialer } from "../h2/client.ts";
import type { HeaderField } from "../h2/hpack.ts";
import { parseKeepalive, transportMetadata } from "../h2/options.ts";
import type { H2Session } from "../h2/session.ts";
import { VERSION } from "../../core/version.ts";
import { GrpcConn } from "./conn.ts";
import { insecureOf, keepaliveKeys } from "./options.ts";
import { grpcMethod } from "./path.ts";

/** GOST's dialer keep-alive: off unless `grpc.keepalive`; then a PING after 30s without a frame, 30s to answer. */
const DIALER_KEEPALIVE = { enabled: false, timeMs: 30_000, timeoutMs: 30_000, mode: "idle" } as const;
/** GOST's `grpc.minConnectTimeout` default: the connect (and TLS) deadline of the session's conn. */
const DEFAULT_CONNECT_MS = 30_000;

/** gRPC tunnel client. */
export class GrpcDialer extends H2ClientDialer {
  readonly #opts: ClientPluginOptions;
  #authority = "";
  #path = "";
  #tls = true;

  constructor(opts: ClientPluginOptions) {
    super(opts, "grpc");
    this.#opts = opts;
  }

  /**
   * Reads GOST's grpc keys (listeners/grpc/mod.ts), then the TCP/TLS keys.
   * @throws {ConfigError} on a bad value
   */
  async init(md: Metadata): Promise<void> {
    const owner = "dialer grpc";
    this.#tls = !insecureOf(md);
    this.#authority = md.string(["grpc.authority", "grpc.host", "host"]);
    this.#path = grpcMethod(md.string(["grpc.path", "path"])).path;
    const keepalive = parseKeepalive(md, keepaliveKeys, DIALER_KEEPALIVE);
    const handshakeMs = md.duration("handshakeTimeout", DEFAULT_HANDSHAKE_TIMEOUT_MS);
    const inner = transportMetadata(md, owner);
    const connectMs = md.duration(["grpc.minConnectTimeout", "minConnectTimeout"], 0);
    inner.set("dialTimeout", connectMs || md.duration(["dialTimeout", "timeout"], 0) || DEFAULT_CONNECT_MS);
    await this.initTransport(inner, { keepalive, handshakeMs }, this.#tls);
  }

  /** Starts a call on a new stream (not waiting for the node's headers). */
  protected async openStream(session: H2Session, addr: string): Promise<Conn> {
    // GOST strips the port from the authority it is given (grpc.authority, else the node's address)
    const authority = hostOnly(this.#authority || addr);
    const fields: HeaderField[] = [
      { name: ":method", value: "POST" },
      { name: ":scheme", value: this.#tls ? "https" : "http" },
      { name: ":path", value: this.#path },
      { name: ":authority", value: authority },
      { name: "content-type", value: "application/grpc" },
      { name: "user-agent", value: `grpc-gost.ts/${VERSION}` },
      { name: "te", value: "trailers" },
    ];
    const conn = new GrpcConn(await session.open(fields), false);
    conn.onStatusError = (err) => {
      this.#opts.logger.warn(`grpc: node ${addr} ended a call (${this.#path}): ${errorMessage(err)}`);
    };
    return conn;
  }
}

/** `host` of `host:port` or `[v6]:port`; the value itself when it has no port, as Go's SplitHostPort fallback. */
export function hostOnly(hostport: string): string {
  const m = /^\[([^\]]+)\]:\d+$/.exec(hostport) ?? /^([^:]+):\d+$/.exec(hostport);
  return m ? m[1] : hostport;
}
