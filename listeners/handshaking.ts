/**
 * A listener whose conns pass a transport handshake before `accept()` hands them out (the obfs-http, obfs-tls,
 * tls, ws and wss listeners). The conns come from a TCP socket it binds ({@link HandshakingListener.bind}) or from
 * an inner listener ({@link HandshakingListener.attach}). Handshakes run in the background, each bounded by a
 * deadline, so a slow or silent client never holds up `accept()`; a failed handshake closes that one conn with a
 * log line (by default info for bytes that are not the transport, debug for a client that reset or went quiet)
 * and never reaches the handler. Handshaken conns wait in a ready queue: by default new conns are not taken while
 * it holds {@link READY_MAX}; with a `backlog` (ws) conns keep being taken and one that finds the queue full is
 * dropped with a warning, as GOST does.
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
export const READY_MAX = 256;

/** The server side of a transport handshake over one accepted conn; resolves with the conn handlers see. */
export type ServerHandshake = (raw: Conn) => Promise<Conn>;

/** How a {@link HandshakingListener} runs its handshakes. */
export interface HandshakeOptions {
  /** Deadline of each handshake in ms (the conn is closed when it passes); 0: none (the handshake keeps its own). */
  timeoutMs: number;
  /** Queue size at which a handshaken conn is dropped with a warning; unset: stop taking conns at READY_MAX. */
  backlog?: number;
  /** The log level of a failed handshake; default debug for a benign end (reset, quiet client), else info. */
  failureLevel?: (err: unknown) => "debug" | "info" | "warn";
}

/** Where the raw conns come from. */
interface Source {
  readonly addr: Deno.Addr;
  accept(): Promise<Conn>;
  close(): void;
}

/** A TCP listener that runs `handshake` on every conn (see the module doc). */
export class HandshakingListener implements Listener {
  readonly #opts: ListenerOptions;
  readonly #what: string;
  #handshake: ServerHandshake = (c) => Promise.resolve(c);
  #hs: HandshakeOptions = { timeoutMs: 0 };
  #source: Source | null = null;
  #closed = false;
  #pumping = false;
  #pumpError: unknown = null;
  readonly #ready: Conn[] = [];
  readonly #pending = new Set<Conn>();
  #wake: (() => void) | null = null;

  /** @param what names the handshake in log lines (`obfs-http handshake` → "obfs-http handshake failed: …") */
  constructor(opts: ListenerOptions, what: string) {
    this.#opts = opts;
    this.#what = what;
  }

  /**
   * Binds `opts.addr` (`reusePort` as the tcp listener; `keepAlive`: GOST's `keepalive`, TCP keep-alive with the
   * system's timings); every accepted conn then runs `handshake` within `timeoutMs` (0: no deadline), or as `hs` says.
   */
  bind(handshake: ServerHandshake, hs: number | HandshakeOptions, reusePort: boolean, keepAlive = false): void {
    const ln = bindListenAddr(
      parseListenAddr(this.#opts.addr),
      (hostname, port) => Deno.listen({ hostname, port, transport: "tcp", reusePort }),
    );
    this.#use(
      {
        addr: ln.addr,
        accept: async () => {
          const tcp = await acceptTcp(ln); // conns reset before they are taken are skipped
          if (keepAlive) tcp.setKeepAlive(true);
          return unmapConnAddrs(tcp);
        },
        close: () => closeQuietly(ln),
      },
      handshake,
      hs,
    );
  }

  /** Takes the conns of `inner` (initialised already); closing this listener closes `inner`. */
  attach(inner: Listener, handshake: ServerHandshake, hs: HandshakeOptions): void {
    this.#use(
      {
        get addr() {
          return inner.addr;
        },
        accept: () => inner.accept(),
        close: () => inner.close(),
      },
      handshake,
      hs,
    );
  }

  #use(source: Source, handshake: ServerHandshake, hs: number | HandshakeOptions): void {
    this.#source = source;
    this.#handshake = handshake;
    this.#hs = typeof hs === "number" ? { timeoutMs: hs } : hs;
  }

  /** Subclasses read their metadata and call {@link bind}. */
  init(_md: Metadata): Promise<void> {
    return Promise.reject(new Error("HandshakingListener.init: a subclass binds"));
  }

  get addr(): Deno.Addr {
    if (!this.#source) throw new Error("listener not initialised");
    return this.#source.addr;
  }

  async accept(): Promise<Conn> {
    for (;;) {
      if (this.#closed || !this.#source) throw new ListenerClosedError();
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

  /** Takes conns and starts their handshakes until the listener closes, the queue fills or `accept` fails. */
  async #pump(): Promise<void> {
    const source = this.#source!;
    const { timeoutMs, backlog, failureLevel = defaultLevel } = this.#hs;
    while (!this.#closed && (backlog !== undefined || this.#ready.length < READY_MAX)) {
      const raw = await source.accept();
      if (this.#closed) {
        closeQuietly(raw);
        return;
      }
      this.#pending.add(raw);
      withDeadline(raw, timeoutMs, () => this.#handshake(raw)).then((conn) => {
        this.#pending.delete(raw);
        if (this.#closed) return closeQuietly(conn);
        if (backlog !== undefined && this.#ready.length >= backlog) {
          closeQuietly(conn);
          return this.#opts.logger.warn(`connection queue is full, client ${addrString(raw.remoteAddr)} discarded`);
        }
        this.#ready.push(conn);
        this.#notify();
      }, (err) => {
        this.#pending.delete(raw);
        closeQuietly(raw);
        if (this.#closed) return;
        // The client's address is a field, so that one bad handshake from many clients is one (rate-limited) line.
        const msg = `${this.#what} failed: ${errorMessage(err)}`;
        this.#opts.logger[failureLevel(err)](msg, { remote: addrString(raw.remoteAddr) });
      });
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#source?.close();
    for (const c of this.#pending) closeQuietly(c);
    for (const c of this.#ready.splice(0)) closeQuietly(c);
    this.#pending.clear();
    this.#notify();
  }
}

/** A failed handshake is the client's doing (bytes that are not the transport): info; a reset or quiet client: debug. */
function defaultLevel(err: unknown): "debug" | "info" {
  return isBenignEnd(err) ? "debug" : "info";
}
