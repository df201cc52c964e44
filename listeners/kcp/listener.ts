/**
 * The `kcp` listener (GOST's x/listener/kcp over kcp-go's `ServeConn`): one UDP socket, one KCP session per client
 * address (created by its first datagram that opens and names a conv; a datagram from that address with another conv
 * and `sn` 0 replaces the session, as kcp-go does), the snappy stream unless `nocomp`, and an smux server session on
 * each whose streams are the conns the handler gets (listeners/mtcp/listener.ts). At most {@link ACCEPT_BACKLOG}
 * sessions wait to be taken; datagrams that would open more are dropped, as kcp-go drops them.
 * @module
 */
import { addrString, type Conn, joinHostPort } from "../../core/conn.ts";
import { errorMessage } from "../../core/errors.ts";
import { Metadata } from "../../core/metadata.ts";
import { type Listener, ListenerClosedError, type ListenerOptions } from "../../core/contracts.ts";
import type { MuxConfig } from "../../core/mux/config.ts";
import { bindListenAddr, parseListenAddr, unmappedAddr } from "../addr.ts";
import { DEFAULT_MUX_BACKLOG, MuxServerListener } from "../mtcp/listener.ts";
import { type KcpConfig, parseKcpConfig } from "./config.ts";
import { deriveKey, type PacketCipher, packetCipher } from "./crypt.ts";
import { KcpEndpoint } from "./endpoint.ts";
import { FEC_HEADER_SIZE_PLUS2, TYPE_DATA, TYPE_PARITY } from "./fec.ts";
import { IKCP_OVERHEAD, IKCP_SN_OFFSET } from "./kcp.ts";
import { KcpSession } from "./session.ts";
import { SnappyConn } from "./snappy_conn.ts";

/** kcp-go's accept backlog: sessions created and not yet taken. */
export const ACCEPT_BACKLOG = 128;
/** A session with no valid datagram for this long ends (smux's keep-alive, 30 s, normally ends it first). */
export const SESSION_IDLE_MS = 60_000;

/** The smux settings of a kcp config (GOST's `smuxConfig`). */
export function kcpMuxConfig(c: KcpConfig): Partial<MuxConfig> {
  return {
    version: c.smuxver,
    maxReceiveBuffer: c.smuxbuf,
    maxStreamBuffer: c.streambuf,
    keepAliveIntervalMs: c.keepalive * 1000,
  };
}

/** Logs that `sockbuf` cannot size the socket here (GOST logs a warning when setting it fails). */
export function warnSockbuf(opts: { logger: ListenerOptions["logger"] }, set: boolean, value: number): void {
  if (!set) return;
  opts.logger.warn(
    `kcp: "sockbuf" = ${value} sizes smuxbuf/streambuf only: Deno cannot set a UDP socket's buffers (the system's ` +
      `defaults apply)`,
  );
}

/** The conv and sn of a session's first datagram, or null when it names none (a parity shard, too short). */
function convOf(p: Uint8Array): { conv: number; sn: number } | null {
  const flag = p.length >= 6 ? p[4] | (p[5] << 8) : 0;
  let off = 0;
  if (flag === TYPE_DATA || flag === TYPE_PARITY) {
    if (flag !== TYPE_DATA || p.length < FEC_HEADER_SIZE_PLUS2 + IKCP_OVERHEAD) return null;
    off = FEC_HEADER_SIZE_PLUS2;
  } else if (p.length < IKCP_OVERHEAD) return null;
  const u32 = (i: number) => (p[i] | (p[i + 1] << 8) | (p[i + 2] << 16) | (p[i + 3] << 24)) >>> 0;
  return { conv: u32(off), sn: u32(off + IKCP_SN_OFFSET) };
}

/** Accepts KCP sessions (snappy-framed unless `nocomp`) as conns. */
class KcpSessionListener implements Listener {
  readonly #opts: ListenerOptions;
  readonly #config: KcpConfig;
  readonly #cipher: PacketCipher;
  #endpoint: KcpEndpoint | null = null;
  readonly #sessions = new Map<string, KcpSession>();
  readonly #ready: Conn[] = [];
  #waiter: { resolve: (c: Conn) => void; reject: (e: unknown) => void } | null = null;
  #closed = false;
  /** Datagrams that would have opened a session while the backlog was full. */
  backlogDrops = 0;

  constructor(opts: ListenerOptions, config: KcpConfig) {
    this.#opts = opts;
    this.#config = config;
    this.#cipher = packetCipher(config.crypt, deriveKey(config.key));
  }

  /** Binds the UDP socket (the config was read by {@link KcpListener}). */
  init(_md: Metadata): Promise<void> {
    const sock = bindListenAddr(
      parseListenAddr(this.#opts.addr),
      (hostname, port) => Deno.listenDatagram({ transport: "udp", hostname, port }),
    );
    this.#endpoint = new KcpEndpoint(sock, this.#cipher, this.#opts.logger, (p, from) => this.#datagram(p, from));
    return Promise.resolve();
  }

  get addr(): Deno.Addr {
    if (!this.#endpoint) throw new Error("listener not initialised");
    return this.#endpoint.addr;
  }

  /** Sessions alive now. */
  get sessions(): number {
    return this.#sessions.size;
  }

  /** The endpoint's counters (datagrams, bad CRCs). */
  get endpoint(): KcpEndpoint | null {
    return this.#endpoint;
  }

  #datagram(p: Uint8Array, from: Deno.NetAddr): void {
    const key = joinHostPort(from.hostname, from.port);
    let s = this.#sessions.get(key);
    const id = convOf(p);
    if (s && (!id || id.conv === s.conv)) {
      s.input(p);
      return;
    }
    if (s && id && id.sn === 0) {
      s.close(); // the client started over from the same address (kcp-go replaces the session)
      s = undefined;
    }
    if (s || !id || this.#closed) return;
    if (this.#ready.length >= ACCEPT_BACKLOG) {
      this.backlogDrops++;
      return;
    }
    const ep = this.#endpoint!;
    const session: KcpSession = new KcpSession({
      conv: id.conv,
      config: this.#config,
      cipher: this.#cipher,
      send: (d) => ep.send(d, from),
      localAddr: ep.addr,
      remoteAddr: unmappedAddr(from),
      idleTimeoutMs: SESSION_IDLE_MS,
      logger: this.#opts.logger,
      onClose: (err) => {
        if (this.#sessions.get(key) === session) this.#sessions.delete(key);
        if (err) this.#opts.logger.debug(`kcp session ended: ${errorMessage(err)}`, { remote: addrString(from) });
      },
    });
    this.#sessions.set(key, session);
    session.input(p);
    const conn: Conn = this.#config.nocomp ? session : new SnappyConn(session);
    if (this.#waiter) {
      const w = this.#waiter;
      this.#waiter = null;
      w.resolve(conn);
    } else this.#ready.push(conn);
  }

  accept(): Promise<Conn> {
    if (this.#closed) return Promise.reject(new ListenerClosedError());
    const c = this.#ready.shift();
    if (c) return Promise.resolve(c);
    if (this.#waiter) return Promise.reject(new Error("accept() is already pending"));
    return new Promise((resolve, reject) => (this.#waiter = { resolve, reject }));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of [...this.#sessions.values()]) s.close();
    this.#sessions.clear();
    for (const c of this.#ready.splice(0)) c.close();
    this.#endpoint?.close();
    this.#waiter?.reject(new ListenerClosedError());
    this.#waiter = null;
  }
}

/** The kcp listener: smux streams of the KCP sessions. */
export class KcpListener implements Listener {
  readonly #opts: ListenerOptions;
  #sessions: KcpSessionListener | null = null;
  #mux: MuxServerListener | null = null;

  constructor(opts: ListenerOptions) {
    this.#opts = opts;
  }

  /**
   * Reads the kcp keys (listeners/kcp/config.ts) and `backlog`, then binds the UDP socket.
   * @throws {ConfigError} on a bad or unsupported value
   */
  async init(md: Metadata): Promise<void> {
    const { config, sockbufSet } = parseKcpConfig(md);
    const backlog = md.int("backlog", 0, 0) || DEFAULT_MUX_BACKLOG;
    warnSockbuf(this.#opts, sockbufSet, config.sockbuf);
    this.#sessions = new KcpSessionListener(this.#opts, config);
    this.#mux = new MuxServerListener(this.#sessions, this.#opts, kcpMuxConfig(config), "kcp");
    // the mux listener reads only `backlog` here: GOST's kcp has no mux.* keys (its smux settings are the kcp ones)
    await this.#mux.init(new Metadata({ backlog }));
  }

  get addr(): Deno.Addr {
    if (!this.#sessions) throw new Error("listener not initialised");
    return unmappedAddr(this.#sessions.addr as Deno.NetAddr);
  }

  /** KCP sessions alive now (one per client address). */
  get sessions(): number {
    return this.#sessions?.sessions ?? 0;
  }

  /** Datagrams dropped because their checksum did not match (garbage, another key or crypt). */
  get badDatagrams(): number {
    return this.#sessions?.endpoint?.stats.badCrc ?? 0;
  }

  accept(): Promise<Conn> {
    if (!this.#mux) return Promise.reject(new ListenerClosedError());
    return this.#mux.accept();
  }

  close(): void {
    this.#mux?.close();
  }
}
