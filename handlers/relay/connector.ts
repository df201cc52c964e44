/**
 * The relay client (`relay` connector): asks the next hop, a GOST relay server, to CONNECT to a TCP or UDP target.
 * Features are sent in GOST's order — `[Network udp]`, `[UserAuth]`, `Addr` — and only types 0x01–0x04.
 * @module
 */
import { addrString, closeQuietly, type Conn, type Network, splitHostPort } from "../../core/conn.ts";
import { withDeadline } from "../../core/deadline.ts";
import { DialError, errorMessage } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { ClientPluginOptions, Connector, DialOptions, Listener } from "../../core/contracts.ts";
import { relayBind } from "./bind_connector.ts";
import { DatagramFrameConn } from "./frames.ts";
import { LazyRequestConn } from "./lazy.ts";
import { parseRelayConnectorMetadata, type RelayConnectorMetadata } from "./metadata.ts";
import { Cmd, encodeRequest, type Feature, FLAG_UDP, NetworkId } from "./wire.ts";

/**
 * Relay connector. By default the request is held back and sent with the first bytes written (one packet, as
 * GOST does), and the response is checked on the first read, so a refusal (Unauthorized → AuthError, Network/Host
 * Unreachable → DialError, …) surfaces from `read()`. If a read waits `lazyFlush` without a write (the target
 * speaks first: VNC, SMTP), the request goes out alone — GOST would wait forever (gost#125). With `nodelay` the
 * request is sent at once and `connect()` waits up to `connectTimeout` for the response, throwing the refusal.
 * @example
 * const c = new RelayConnector({ logger, auth: { username: "u", password: "p" } });
 * await c.init(new Metadata({}));
 * const conn = await c.connect(await Deno.connect({ hostname: "relay.example", port: 8421 }), "tcp", "example.com:80");
 */
export class RelayConnector implements Connector {
  readonly #opts: ClientPluginOptions;
  #md!: RelayConnectorMetadata;

  constructor(opts: ClientPluginOptions) {
    this.#opts = opts;
  }

  init(md: Metadata): Promise<void> {
    this.#md = parseRelayConnectorMetadata(md);
    return Promise.resolve();
  }

  /**
   * Asks the relay server on `conn` to connect to `addr`. For `udp` the returned conn is a datagram conn (one
   * read = one datagram) over `[len u16]` frames. An empty `addr` sends no Addr feature (the server's forward
   * mode picks the target); `:0` (GOST's placeholder of a forwarding service without targets, for TCP and UDP) is
   * sent as Addr 0.0.0.0:0, as GOST sends it, for a server with targets of its own; UDP without any target (GOST's
   * association) is not supported.
   * @throws {DialError} naming `addr` when it cannot be encoded; with `nodelay`, the server's refusal
   */
  async connect(conn: Conn, network: Network, addr: string, opts?: DialOptions): Promise<Conn> {
    const udp = network === "udp";
    let req: { request: Uint8Array; host: string; port: number };
    try {
      req = this.#request(udp, addr);
    } catch (err) {
      throw new DialError(addr, `Relay connect to ${addr || "(no target)"}: ${errorMessage(err)}`, { cause: err });
    }
    const { request, host, port } = req;
    const server = addrString(conn.remoteAddr);
    (opts?.logger ?? this.#opts.logger).debug(`relay connect ${addr}/${network} via ${server}`);
    const lazy = new LazyRequestConn(conn, request, { target: addr, server, flushAfterMs: this.#md.lazyFlushMs });
    if (this.#md.noDelay) {
      const onAbort = () => closeQuietly(conn);
      opts?.signal?.addEventListener("abort", onAbort, { once: true });
      try {
        await withDeadline(conn, this.#md.connectTimeoutMs, () => lazy.handshake());
      } catch (err) {
        closeQuietly(lazy);
        throw err;
      } finally {
        opts?.signal?.removeEventListener("abort", onAbort);
      }
    }
    return udp ? new DatagramFrameConn(lazy, { transport: "udp", hostname: host, port }) : lazy;
  }

  /**
   * Asks the relay server to listen on `addr` for remote port forwarding: TCP BIND + smux for `tcp`, UDP BIND for
   * `udp` (bind_connector.ts). A failed bind closes the conn it was given.
   */
  bind(conn: Conn, network: Network, addr: string, opts?: DialOptions): Promise<Listener> {
    const ctx = {
      auth: this.#opts.auth,
      logger: this.#opts.logger,
      connectTimeoutMs: this.#md.connectTimeoutMs,
      mux: this.#md.mux,
    };
    return relayBind(ctx, conn, network, addr, opts);
  }

  /** Encodes the CONNECT request. @throws {Error} on a bad address or over-long credentials */
  #request(udp: boolean, addr: string): { request: Uint8Array; host: string; port: number } {
    const { host, port } = addr ? splitHostPort(addr) : { host: "", port: 0 };
    // ":0" (a forwarding service without targets) is sent as GOST sends it, Addr 0.0.0.0:0: the server picks the target
    if (udp && !addr) throw new Error("UDP over relay needs a target (associations are not supported)");
    const features: Feature[] = [];
    if (udp) features.push({ kind: "network", network: NetworkId.Udp });
    const auth = this.#opts.auth;
    if (auth) features.push({ kind: "auth", username: auth.username, password: auth.password ?? "" });
    if (addr) features.push({ kind: "addr", host, port });
    return { request: encodeRequest({ cmd: Cmd.Connect, flags: udp ? FLAG_UDP : 0, features }), host, port };
  }
}
