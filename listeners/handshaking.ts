/**
 * A TCP listener whose conns pass a transport handshake before `accept()` hands them out (the obfs-http and
 * obfs-tls listeners). Handshakes run in the background, each bounded by a deadline, so a slow or silent client
 * never holds up `accept()`; a failed handshake closes that one conn with a log line (info for bytes that are not
 * the transport, debug for a client that reset or went quiet) and never reaches the handler.
 * @module
 */
import { acceptTcp } from "../core/accept.ts";
import { addrString, closeQuietly, type Conn } from "../core/conn.ts";
import { withDeadline } from "../core/deadline.ts";
import { errorMessage, isBenignEnd } from "../core/errors.ts";
import type { Metadata } from "../core/metadata.ts";
import { type Listener, ListenerClosedError, type ListenerOptions } from "../core/contracts.ts";
import { bindListenAddr, parseListenAddr, unmapConnAddrs } from "./addr.ts";

/** Handshaken conns waiting for `accept()` before new TCP conns are no longer taken. */
const READY_MAX = 256;

/** The server side of a transport handshake over one accepted TCP conn; resolves with the conn handlers see. */
export type ServerHandshake = (raw: Conn) => Promise<Conn>;

/** A TCP listener that runs `handshake` on every conn (see the module doc). */
export class HandshakingListener implements Listener {
  readonly #opts: ListenerOptions;
  readonly #what: string;
  #handshake: ServerHandshake = (c) => Promise.resolve(c);
  #timeoutMs = 0;
  #ln: Deno.TcpListener | null = null;
  #closed = false;
  #pumping = false;
  #pumpError: unknown = null;
  readonly #ready: Conn[] = [];
  readonly #pending = new Set<Conn>();
  #wake: (() => void) | null = null;

  /** @param what names the handshake in log lines (`obfs-http`, `obfs-tls`) */
  constructor(opts: ListenerOptions, what: string) {
    this.#opts = opts;
    this.#what = what;
  }

  /**
   * Binds `opts.addr` (`reusePort` as the tcp listener); every accepted conn then runs `handshake` within
   * `timeoutMs` (0: no deadline).
   */
  bind(handshake: ServerHandshake, timeoutMs: number, reusePort: boolean): void {
    this.#handshake = handshake;
    this.#timeoutMs = timeoutMs;
    this.#ln = bindListenAddr(
      parseListenAddr(this.#opts.addr),
      (hostname, port) => Deno.listen({ hostname, port, transport: "tcp", reusePort }),
    );
  }

  /** Subclasses read their metadata and call {@link bind}. */
  init(_md: Metadata): Promise<void> {
    return Promise.reject(new Error("HandshakingListener.init: a subclass binds"));
  }

  get addr(): Deno.Addr {
    if (!this.#ln) throw new Error("listener not initialised");
    return this.#ln.addr;
  }

  async accept(): Promise<Conn> {
    for (;;) {
      if (this.#closed || !this.#ln) throw new ListenerClosedError();
      if (!this.#pumping && this.#pumpError === null) this.#startPump();
      const conn = this.#ready.shift();
      if (conn) return conn;
      if (this.#pumpError !== null) {
        const err = this.#pumpError;
        this.#pumpError = null;
        throw err;
      }
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  #startPump(): void {
    this.#pumping = true;
    this.#pump().catch((err) => {
      if (!this.#closed) this.#pumpError = err;
    }).finally(() => {
      this.#pumping = false;
      this.#notify();
    });
  }

  async #pump(): Promise<void> {
    const ln = this.#ln!;
    while (!this.#closed && this.#ready.length < READY_MAX) {
      const raw = unmapConnAddrs(await acceptTcp(ln));
      if (this.#closed) {
        closeQuietly(raw);
        return;
      }
      this.#pending.add(raw);
      withDeadline(raw, this.#timeoutMs, () => this.#handshake(raw)).then((conn) => {
        this.#pending.delete(raw);
        if (this.#closed) return closeQuietly(conn);
        this.#ready.push(conn);
        this.#notify();
      }, (err) => {
        this.#pending.delete(raw);
        closeQuietly(raw);
        if (this.#closed) return;
        const msg = `${this.#what} handshake failed: ${errorMessage(err)}`;
        const fields = { remote: addrString(raw.remoteAddr) };
        if (isBenignEnd(err)) this.#opts.logger.debug(msg, fields);
        else this.#opts.logger.info(msg, fields);
      });
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.#ln);
    for (const c of this.#pending) closeQuietly(c);
    for (const c of this.#ready.splice(0)) closeQuietly(c);
    this.#pending.clear();
    this.#notify();
  }
}
