/**
 * Remote port forwarding listeners (`rtcp`, and `rudp` on top of the same class): the port is bound on the last
 * node of the listener's chain (`router.bind`, which asks that node's connector for a SOCKS5 MBIND / UDP-tun bind
 * or a relay BIND), and `accept()` hands out the peers that connect there. The bind starts at `init()` in the
 * background; `accept()` waits for it. When the tunnel drops, `accept()` rejects (the service logs it and backs off
 * 1 s → 5 s) and the next `accept()` binds again — GOST's rtcp/rudp listeners behave the same. Without a chain the
 * port is bound locally, as GOST does.
 * @module
 */
import { addrString, closeQuietly, type Conn, joinHostPort, type Network } from "../../core/conn.ts";
import { errorMessage, NoChainError } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import { type DialOptions, type Listener, ListenerClosedError, type ListenerOptions } from "../../core/contracts.ts";
import { IPV4_ANY_HOST, parseListenAddr } from "../addr.ts";
import { TcpListener } from "../tcp/listener.ts";
import { UdpListener } from "../udp/listener.ts";

/** A listener whose port lives at the far end of its chain. */
export class RemoteListener implements Listener {
  readonly #opts: ListenerOptions;
  readonly #network: Network;
  readonly #abort = new AbortController();
  #md: Metadata | null = null;
  #laddr: Deno.NetAddr | null = null;
  #ln: Listener | null = null;
  #binding: Promise<Listener> | null = null;
  #closed = false;

  constructor(opts: ListenerOptions, network: Network) {
    this.#opts = opts;
    this.#network = network;
  }

  /** Options passed to `router.bind` (rudp adds its UDP session settings). */
  protected bindOptions(): DialOptions {
    return {};
  }

  /**
   * Parses the address and starts binding in the background. Without a chain the local bind happens here, so a
   * port in use fails the service as it does for `tcp`/`udp`.
   * @throws {ConfigError} on a bad address; the local listen error without a chain
   */
  async init(md: Metadata): Promise<void> {
    const { hostname, port, anyHost } = parseListenAddr(this.#opts.addr);
    this.#md = md;
    // `:port` asks the far end for 0.0.0.0, the bytes GOST sends for it (the far end decides how to bind it); a
    // local bind without a chain is the tcp/udp listener's, dual-stack
    this.#laddr = { transport: this.#network, hostname: anyHost ? IPV4_ANY_HOST : hostname, port };
    const binding = this.#binding = this.#bind();
    binding.catch(() => {});
    // the no-chain answer comes at once; a chain bind goes on in the background
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([binding.then(() => {}, () => {}), new Promise<void>((r) => (timer = setTimeout(r, 0)))]);
    clearTimeout(timer);
    if (this.#local) {
      this.#ln = await binding;
      this.#binding = null;
    }
  }

  /** The configured address; the real one when bound locally. */
  get addr(): Deno.Addr {
    if (!this.#laddr) throw new Error("listener not initialised");
    return this.#local && this.#ln ? this.#ln.addr : this.#laddr;
  }

  #local = false;

  /**
   * The next peer. Binds first when not bound (or after the tunnel dropped).
   * @throws {ListenerClosedError} after `close()`; the bind error or the tunnel error otherwise
   */
  async accept(): Promise<Conn> {
    if (this.#closed) throw new ListenerClosedError();
    if (!this.#ln) {
      this.#binding ??= this.#bind();
      try {
        this.#ln = await this.#binding;
      } finally {
        this.#binding = null;
      }
      if (this.#closed) {
        closeQuietly(this.#ln);
        throw new ListenerClosedError();
      }
    }
    const ln = this.#ln;
    try {
      return await ln.accept();
    } catch (err) {
      if (this.#closed) throw new ListenerClosedError();
      if (this.#local) throw err;
      if (this.#ln === ln) this.#ln = null;
      closeQuietly(ln);
      throw new Deno.errors.ConnectionReset(
        `${this.#name} ${addrString(this.#laddr!)}: tunnel lost, binding again: ${errorMessage(err)}`,
        { cause: err },
      );
    }
  }

  get #name(): string {
    return this.#network === "tcp" ? "rtcp" : "rudp";
  }

  /** Binds at the far end of the chain, or locally without a chain. */
  async #bind(): Promise<Listener> {
    const { router, logger } = this.#opts;
    const addr = joinHostPort(this.#laddr!.hostname, this.#laddr!.port);
    if (!router.bind) return this.#bindLocal();
    let ln: Listener;
    try {
      ln = await router.bind(this.#network, addr, { ...this.bindOptions(), signal: this.#abort.signal, logger });
    } catch (err) {
      if (err instanceof NoChainError) return this.#bindLocal();
      if (this.#closed) throw new ListenerClosedError();
      throw new Deno.errors.ConnectionRefused(`${this.#name} ${addr}: bind failed: ${errorMessage(err)}`, {
        cause: err,
      });
    }
    if (this.#closed) {
      closeQuietly(ln);
      throw new ListenerClosedError();
    }
    logger.info(`${this.#name} ${addr}: bound at the end of the chain as ${addrString(ln.addr)}`);
    return ln;
  }

  async #bindLocal(): Promise<Listener> {
    this.#local = true;
    const ln = this.#network === "tcp" ? new TcpListener(this.#opts) : new UdpListener(this.#opts);
    await ln.init(this.#md!);
    this.#opts.logger.info(`${this.#name} ${addrString(ln.addr)}: no chain, listening locally`);
    return ln;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort();
    closeQuietly(this.#ln);
    this.#ln = null;
    this.#binding?.then(closeQuietly, () => {});
  }
}

/** `rtcp`: remote TCP port forwarding. */
export class RtcpListener extends RemoteListener {
  constructor(opts: ListenerOptions) {
    super(opts, "tcp");
  }
}
