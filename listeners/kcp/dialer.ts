/**
 * The `kcp` dialer (GOST's x/dialer/kcp): a multiplexing dialer. `dial` opens a UDP socket of its own and a KCP
 * session to the node with a random conv, and waits for the node to show it is there: a window probe (WASK) that a
 * kcp-go peer answers (WINS), sent again with back-off until `handshakeTimeout` (default 10 s). GOST sends nothing
 * until the first stream, so a dead node there looks fine until the stream times out; here the dial fails and the
 * chain marks the node. `multiplex` runs the snappy stream (unless `nocomp`) and an smux client session over it; the
 * chain keeps that session and opens a stream per dial (docs/architecture.md, "Multiplexing dialers").
 * KCP runs over UDP from this host: the node must be the first of its route.
 * @module
 */
import { closeQuietly, type Conn, joinHostPort, splitHostPort } from "../../core/conn.ts";
import { DialError, errorMessage, HandshakeError } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { ClientPluginOptions, Dialer, DialerSession, DialOptions } from "../../core/contracts.ts";
import { isIP } from "../../core/ip.ts";
import { DEFAULT_DIAL_TIMEOUT_MS, EMPTY_HOST_DIAL } from "../../core/routing/router.ts";
import { systemLookup } from "../../core/routing/system_lookup.ts";
import { smuxClientSession } from "../mtcp/dialer.ts";
import { type KcpConfig, parseKcpConfig } from "./config.ts";
import { deriveKey, type PacketCipher, packetCipher } from "./crypt.ts";
import { KcpEndpoint } from "./endpoint.ts";
import { kcpMuxConfig, SESSION_IDLE_MS, warnSockbuf } from "./listener.ts";
import { KcpSession } from "./session.ts";
import { SnappyConn } from "./snappy_conn.ts";

/** The first window probe is sent again after this long (ms), doubling each time. */
const PROBE_RETRY_MS = 200;

/** A KCP session that owns its UDP socket. */
class DialedSession extends KcpSession {
  endpoint!: KcpEndpoint;
  override close(): void {
    super.close();
    this.endpoint.close();
  }
}

/** KCP + snappy + smux client. */
export class KcpDialer implements Dialer {
  readonly #opts: ClientPluginOptions;
  #config!: KcpConfig;
  #cipher!: PacketCipher;
  #timeoutMs = DEFAULT_DIAL_TIMEOUT_MS;

  constructor(opts: ClientPluginOptions) {
    this.#opts = opts;
  }

  /**
   * Reads the kcp keys (listeners/kcp/config.ts) and `handshakeTimeout` (the bound on the probe and on opening a
   * stream; GOST reads it and uses it nowhere).
   * @throws {ConfigError} on a bad or unsupported value
   */
  init(md: Metadata): Promise<void> {
    const { config, sockbufSet } = parseKcpConfig(md);
    this.#config = config;
    this.#cipher = packetCipher(config.crypt, deriveKey(config.key));
    this.#timeoutMs = md.duration("handshakeTimeout", 0) || DEFAULT_DIAL_TIMEOUT_MS;
    warnSockbuf(this.#opts, sockbufSet, config.sockbuf);
    return Promise.resolve();
  }

  /** Refused: KCP runs over UDP from this host, so it cannot ride a conn that earlier hops opened. */
  handshake(conn: Conn, addr: string): Promise<Conn> {
    closeQuietly(conn);
    return Promise.reject(
      new HandshakeError(
        `kcp node ${addr} is reached through earlier hops: KCP runs over UDP from this host, so it must be the ` +
          "first node of its route",
      ),
    );
  }

  /**
   * Opens the KCP session to `addr` and waits until the node answers a window probe.
   * @throws {DialError} naming `addr` when it does not resolve or the node does not answer in time
   */
  async dial(addr: string, opts: DialOptions = {}): Promise<Conn> {
    let target: Deno.NetAddr;
    try {
      const { host, port } = splitHostPort(addr);
      let ip = host || EMPTY_HOST_DIAL;
      if (!isIP(ip)) ip = (await systemLookup(ip))?.[0] ?? ip;
      target = { transport: "udp", hostname: ip, port };
    } catch (err) {
      throw new DialError(addr, `dial kcp ${addr}: ${errorMessage(err)}`, { cause: err });
    }
    const v6 = target.hostname.includes(":");
    const sock = Deno.listenDatagram({ transport: "udp", hostname: v6 ? "::" : "0.0.0.0", port: 0 });
    const conv = crypto.getRandomValues(new Uint32Array(1))[0];
    const key = joinHostPort(target.hostname, target.port);
    const holder: { session?: DialedSession } = {};
    const endpoint = new KcpEndpoint(sock, this.#cipher, this.#opts.logger, (p, from) => {
      if (joinHostPort(from.hostname, from.port) === key || sameUnmapped(from, target)) holder.session?.input(p);
    });
    const session = holder.session = new DialedSession({
      conv,
      config: this.#config,
      cipher: this.#cipher,
      send: (d) => endpoint.send(d, target),
      localAddr: endpoint.addr,
      remoteAddr: target,
      idleTimeoutMs: SESSION_IDLE_MS,
      logger: this.#opts.logger,
    });
    session.endpoint = endpoint;
    try {
      await this.#probe(session, addr, opts.signal);
    } catch (err) {
      session.close();
      throw err;
    }
    return session;
  }

  /** Sends window probes, with back-off, until the peer's first datagram arrives. */
  async #probe(s: KcpSession, addr: string, signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + this.#timeoutMs;
    const heard = s.nextInput();
    let wait = PROBE_RETRY_MS;
    for (;;) {
      if (signal?.aborted) throw new DialError(addr, `dial kcp ${addr}: aborted`, { cause: signal.reason });
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new DialError(addr, `dial kcp ${addr}: no answer from the node within ${this.#timeoutMs} ms`);
      }
      s.probe();
      let timer: ReturnType<typeof setTimeout> | undefined;
      let onAbort: (() => void) | undefined;
      const tick = new Promise<"tick">((r) => {
        timer = setTimeout(() => r("tick"), Math.min(wait, left));
        onAbort = () => r("tick");
        signal?.addEventListener("abort", onAbort, { once: true });
      });
      const got = await Promise.race([heard, tick]);
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener("abort", onAbort);
      if (got === true) return;
      if (got === false) throw new DialError(addr, `dial kcp ${addr}: the session ended`);
      wait *= 2;
    }
  }

  /** Starts the snappy stream (unless `nocomp`) and the smux client session over the KCP session. */
  multiplex(conn: Conn): Promise<DialerSession> {
    const c = this.#config.nocomp ? conn : new SnappyConn(conn);
    return Promise.resolve(smuxClientSession(c, kcpMuxConfig(this.#config), this.#timeoutMs, "kcp"));
  }
}

/** True when `from` is `to` written as an IPv4-mapped IPv6 address (a dual-stack socket's view). */
function sameUnmapped(from: Deno.NetAddr, to: Deno.NetAddr): boolean {
  return from.port === to.port && from.hostname === `::ffff:${to.hostname}`;
}
