/**
 * One client connection of the http handler: its reader, the upstream conn kept for keep-alive, and the proxy's
 * own replies.
 * @module
 */
import type { HandshakeReader } from "../../core/bufio.ts";
import { closeQuietly, type Conn, splitHostPort, writeFull } from "../../core/conn.ts";
import { DialError, errorMessage, PolicyError } from "../../core/errors.ts";
import { type ConnContext, dialOptions, type HandlerOptions } from "../../core/contracts.ts";
import type { HttpMetadata } from "./metadata.ts";
import type { UpstreamPool } from "./pool.ts";
import { lingerClose, newReader, releaseReader } from "./stream.ts";
import { buildReply } from "./wire.ts";

/** An upstream conn and its reader. */
export interface Upstream {
  conn: Conn;
  reader: HandshakeReader;
  /** True when it already served a request (it may have been closed by the origin since). */
  reused: boolean;
  /** The router's reuse key for its target (undefined: never given to another client conn). */
  key?: string;
  /** True between a body-less request's clean response and the next request: another client conn may take it. */
  idle: boolean;
}

/** Per-connection state shared by the CONNECT and forwarding paths. */
export class Session {
  readonly conn: Conn;
  readonly reader: HandshakeReader;
  readonly ctx: ConnContext;
  readonly opts: HandlerOptions;
  readonly md: HttpMetadata;
  /** Set once the client conn was answered and closed: nothing more may be written to it. */
  closed = false;
  #up: Upstream | null = null;
  #upAddr = "";
  readonly #onAbort = () => this.closeUpstream();

  readonly #pool?: UpstreamPool;
  /** The client's IP, which owns the kept conns of an unauthenticated client. */
  readonly #clientIP: string;

  /** @param pool idle upstream conns shared with the handler's other client conns */
  constructor(conn: Conn, ctx: ConnContext, opts: HandlerOptions, md: HttpMetadata, pool?: UpstreamPool) {
    this.conn = conn;
    this.reader = newReader(conn);
    this.ctx = ctx;
    this.opts = opts;
    this.md = md;
    this.#pool = pool;
    this.#clientIP = clientIP(ctx.src);
    ctx.signal.addEventListener("abort", this.#onAbort, { once: true });
  }

  /**
   * The upstream conn to `addr`: unless `fresh`, the one this client conn kept when it goes there, or (for a
   * `bodyless` request) an idle one from the pool; else a new dial.
   * @throws {DialError} when the dial fails
   */
  async upstream(addr: string, fresh: boolean, bodyless: boolean): Promise<Upstream> {
    if (this.#up && this.#upAddr === addr && !fresh) {
      this.#up.reused = true;
      this.#up.idle = false;
      return this.#up;
    }
    this.#releaseUpstream();
    const key = this.#pool && await this.opts.router.reuseKey?.("tcp", addr);
    const kept = key !== undefined && !fresh && bodyless ? this.#pool?.take(this.#poolKey(key)) : undefined;
    if (kept) {
      this.ctx.logger.info(`${this.ctx.src} <-> ${addr} (kept conn)`);
      this.#up = { conn: kept.conn, reader: kept.reader, reused: true, key, idle: false };
      this.#upAddr = addr;
      return this.#up;
    }
    let conn: Conn;
    try {
      conn = await this.opts.router.dial("tcp", addr, dialOptions(this.ctx));
    } catch (err) {
      throw err instanceof DialError || err instanceof PolicyError
        ? err
        : new DialError(addr, errorMessage(err), { cause: err });
    }
    if (this.ctx.signal.aborted) {
      closeQuietly(conn);
      throw new DialError(addr, "Service closed");
    }
    this.ctx.logger.info(`${this.ctx.src} <-> ${addr}`);
    this.#up = { conn, reader: newReader(conn), reused: false, key, idle: false };
    this.#upAddr = addr;
    return this.#up;
  }

  /** Marks the kept upstream conn idle: its body-less request got a complete response, nothing else is pending. */
  upstreamIdle(): void {
    if (this.#up) this.#up.idle = true;
  }

  /** Gives the kept upstream conn to the pool when it is idle and shareable, else closes it. */
  #releaseUpstream(): void {
    const up = this.#up;
    if (up?.idle && up.key !== undefined && this.#pool && !this.ctx.signal.aborted) {
      this.#pool.put(this.#poolKey(up.key), up);
      this.#up = null;
      this.#upAddr = "";
      return;
    }
    this.closeUpstream();
  }

  /**
   * The pool key of a conn to a target of reuse key `key`: by default only the same client takes it again (the
   * authenticated user, else the client IP). An origin may send a response nobody asked for right after a real one,
   * faster than the idle read drops the conn; the next request on that conn reads it as its own answer
   * (response-queue poisoning), so a conn is kept for the client whose requests it carried. `upstreamShared` keys
   * by target alone: any client takes it.
   */
  #poolKey(key: string): string {
    if (this.md.upstreamShared) return key;
    const id = this.ctx.clientId;
    return id !== undefined ? [key, "user", id].join(" ") : [key, "ip", this.#clientIP].join(" ");
  }

  /** Closes the kept upstream conn. */
  closeUpstream(): void {
    if (this.#up) {
      closeQuietly(this.#up.conn);
      releaseReader(this.#up.reader);
    }
    this.#up = null;
    this.#upAddr = "";
  }

  /** Writes a reply of the proxy itself. */
  reply(status: number, extra?: [string, string][]): Promise<void> {
    return writeFull(this.conn, buildReply(status, this.md.replyHeaders, extra));
  }

  /** Answers an error `status` (with `Connection: close`), lingers briefly and closes the client conn. */
  async fail(status: number, extra?: [string, string][]): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.reply(status, extra);
    } catch {
      closeQuietly(this.conn);
      return;
    }
    await lingerClose(this.conn);
  }

  /** Releases everything (the handler closes the client conn itself); an idle upstream conn goes to the pool. */
  close(): void {
    this.ctx.signal.removeEventListener("abort", this.#onAbort);
    this.#releaseUpstream();
    releaseReader(this.reader);
  }
}

/** The host part of a client address (`127.0.0.1:5000`, `[::1]:5000`), lowercase; the address itself otherwise. */
function clientIP(src: string): string {
  try {
    return splitHostPort(src).host.toLowerCase();
  } catch {
    return src;
  }
}
