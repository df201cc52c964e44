/**
 * The tunnel client (`tunnel` connector, GOST's x/connector/tunnel), both roles of the node `-F tunnel://server?
 * tunnel.id=…`:
 * - `bind()`, what `rtcp`/`rudp` ask for: registers the tunnel id with the server (BIND: `[Network udp]`,
 *   `[UserAuth]`, Addr(our address), Addr(the bind address), Tunnel(id)), reads the answer (the public address and
 *   our connector id) within `connectTimeout`, then serves the streams the server opens as the smux server role; each
 *   starts with a header naming the visitor (and the host it asked for). For `udp` each stream is one peer session
 *   carrying `[len u16]` frames.
 * - `connect()`, a visitor: CONNECT to a host through the tunnel of that id (Addr(source), Addr(target),
 *   Tunnel(id)); the answer is read at once (the server sends it before any data), a refusal is a DialError naming
 *   the status (0x05 the tunnel has no client, 0x06 no route to the host on that tunnel).
 * Only feature types 0x01–0x04 are sent (older GOST servers drop others).
 * @module
 */
import { HandshakeReader } from "../../core/bufio.ts";
import { addrString, closeQuietly, type Conn, type Network, splitHostPort, writeFull } from "../../core/conn.ts";
import type { ClientPluginOptions, Connector, DialOptions, Listener } from "../../core/contracts.ts";
import { withDeadline } from "../../core/deadline.ts";
import { AuthError, DialError, errorMessage, HandshakeError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import type { Metadata } from "../../core/metadata.ts";
import { MuxListener } from "../../core/mux/listener.ts";
import { MuxSession } from "../../core/mux/session.ts";
import type { MuxStream } from "../../core/mux/stream.ts";
import { DatagramFrameConn } from "../relay/frames.ts";
import {
  Cmd,
  describeStatus,
  encodeRequest,
  type Feature,
  FLAG_UDP,
  NetworkId,
  readResponse,
  Status,
} from "../relay/wire.ts";
import { idFromFeature, idText, weightOf } from "./id.ts";
import { parseTunnelConnectorMetadata, type TunnelConnectorMetadata } from "./metadata.ts";
import { addrFeature } from "./server.ts";

/**
 * Tunnel connector.
 * @example
 * const c = new TunnelConnector({ logger });
 * await c.init(new Metadata({ "tunnel.id": "4d21094e-b74c-4916-86c1-d9fa36ea677b" }));
 * const ln = await c.bind(await Deno.connect({ hostname: "server", port: 8443 }), "tcp", ":0");
 */
export class TunnelConnector implements Connector {
  readonly #opts: ClientPluginOptions;
  #md!: TunnelConnectorMetadata;

  constructor(opts: ClientPluginOptions) {
    this.#opts = opts;
  }

  init(md: Metadata): Promise<void> {
    this.#md = parseTunnelConnectorMetadata(md);
    return Promise.resolve();
  }

  /** The features every request starts with: `[Network udp]`, `[UserAuth]`. */
  #head(udp: boolean): Feature[] {
    const f: Feature[] = [];
    if (udp) f.push({ kind: "network", network: NetworkId.Udp });
    const auth = this.#opts.auth;
    if (auth) f.push({ kind: "auth", username: auth.username, password: auth.password ?? "" });
    return f;
  }

  /**
   * Sends `request` and reads the answer within `connectTimeout`.
   * @throws {AuthError} on Unauthorized; {@link DialError} naming the status on any other refusal
   */
  async #exchange(conn: Conn, request: Uint8Array, what: string, target: string, signal?: AbortSignal) {
    const onAbort = () => closeQuietly(conn);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      return await withDeadline(conn, this.#md.connectTimeoutMs, async () => {
        await writeFull(conn, request);
        const r = new HandshakeReader(conn, 256);
        const resp = await readResponse(r);
        if (resp.status === Status.OK) return { resp, conn: r.conn() };
        const server = addrString(conn.remoteAddr);
        const msg = `Tunnel server ${server} refused ${what} (tunnel ${idText(this.#md.tunnelId)}): ` +
          describeStatus(resp.status);
        if (resp.status === Status.Unauthorized) throw new AuthError(msg);
        throw new DialError(target, msg);
      });
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /**
   * Asks the server to connect to `addr` through the tunnel of `tunnel.id`. For `udp` the conn returned is a datagram
   * conn over `[len u16]` frames. A failure closes `conn`.
   * @throws {DialError} naming `addr` and the status; {@link AuthError} when the server refuses the credentials
   */
  async connect(conn: Conn, network: Network, addr: string, opts?: DialOptions): Promise<Conn> {
    const udp = network === "udp";
    let request: Uint8Array;
    try {
      const features = this.#head(udp);
      features.push(addrFeature(opts?.src ?? addrString(conn.remoteAddr)), addrFeature(addr));
      features.push({ kind: "tunnel", id: this.#md.tunnelId });
      request = encodeRequest({ cmd: Cmd.Connect, flags: udp ? FLAG_UDP : 0, features });
    } catch (err) {
      closeQuietly(conn);
      throw new DialError(addr, `Tunnel connect to ${addr}: ${errorMessage(err)}`, { cause: err });
    }
    (opts?.logger ?? this.#opts.logger).debug(
      `tunnel connect ${addr}/${network} via ${addrString(conn.remoteAddr)} (tunnel ${idText(this.#md.tunnelId)})`,
    );
    let out: Conn;
    try {
      ({ conn: out } = await this.#exchange(conn, request, `connect to ${addr}/${network}`, addr, opts?.signal));
    } catch (err) {
      closeQuietly(conn);
      throw err;
    }
    if (!udp) return out;
    let remote: Deno.NetAddr;
    try {
      const { host, port } = splitHostPort(addr);
      remote = { transport: "udp", hostname: host, port };
    } catch {
      remote = { transport: "udp", hostname: addr, port: 0 };
    }
    return new DatagramFrameConn(out, remote);
  }

  /**
   * Registers the tunnel with the server for remote forwarding (`rtcp` for `tcp`, `rudp` for `udp`); `addr` is the
   * bind address (`:0`, or `name:port` to ask for a public name). A failure closes `conn`.
   * @returns a listener of the visitors' conns (datagram conns for `udp`)
   * @throws {DialError} naming the status when the server refuses; {@link AuthError}; {@link HandshakeError} on a
   *   malformed answer
   */
  async bind(conn: Conn, network: Network, addr: string, opts?: DialOptions): Promise<Listener> {
    const udp = network === "udp";
    let request: Uint8Array;
    try {
      const { host, port } = splitHostPort(addr);
      const features = this.#head(udp);
      features.push(addrFeature(addrString(conn.localAddr)));
      features.push({ kind: "addr", host: host || "0.0.0.0", port });
      features.push({ kind: "tunnel", id: this.#md.tunnelId });
      request = encodeRequest({ cmd: Cmd.Bind, flags: udp ? FLAG_UDP : 0, features });
    } catch (err) {
      closeQuietly(conn);
      throw new DialError(addr, `Tunnel bind on "${addr}": ${errorMessage(err)}`, { cause: err });
    }
    let tunnel: Conn, bound: Deno.NetAddr, connector: string, weight: number;
    try {
      const { resp, conn: c } = await this.#exchange(conn, request, `bind on ${addr}/${network}`, addr, opts?.signal);
      const a = resp.features.find((f) => f.kind === "addr");
      const t = resp.features.find((f) => f.kind === "tunnel");
      if (a?.kind !== "addr") throw new HandshakeError("Tunnel server answered the bind without an address");
      const cid = t?.kind === "tunnel" ? idFromFeature(t.id) : new Uint8Array(20);
      [tunnel, connector, weight] = [c, idText(cid), weightOf(cid)];
      bound = { transport: network, hostname: a.host, port: a.port };
    } catch (err) {
      closeQuietly(conn);
      throw err;
    }
    const log = opts?.logger ?? this.#opts.logger;
    log.info(
      `create tunnel on ${addrString(bound)}/${network} OK, tunnel=${idText(this.#md.tunnelId)}, ` +
        `connector=${connector}, weight=${weight}`,
      { endpoint: bound.hostname, tunnel: idText(this.#md.tunnelId) },
    );
    const session = MuxSession.server(tunnel, this.#md.mux);
    return new MuxListener({ session, addr: bound, prelude: (s) => readHeader(s, udp, log), logger: log });
  }
}

/**
 * Reads the header a routed stream starts with: Addr(visitor) and, from the server's routing, Addr(the host the
 * visitor asked for).
 */
async function readHeader(stream: MuxStream, udp: boolean, log: Logger): Promise<{ conn: Conn; peer: Deno.Addr }> {
  const r = new HandshakeReader(stream, 128);
  const resp = await readResponse(r);
  if (resp.status !== Status.OK) throw new HandshakeError(`Tunnel stream starts with ${describeStatus(resp.status)}`);
  const [src, dst] = resp.features.filter((f) => f.kind === "addr");
  const transport = udp ? "udp" : "tcp";
  const peer: Deno.NetAddr = src?.kind === "addr"
    ? { transport, hostname: src.host, port: src.port }
    : { transport, hostname: "0.0.0.0", port: 0 };
  if (dst?.kind === "addr") {
    log.debug(`tunnel stream ${stream.id}: ${addrString(peer)} asked for ${dst.host}:${dst.port}`);
  }
  return { conn: udp ? new DatagramFrameConn(r.conn(), peer) : r.conn(), peer };
}
