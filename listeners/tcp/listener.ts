/**
 * The `tcp` listener: plain TCP with TCP_NODELAY on every accepted conn; `:port` binds dual-stack (listeners/addr.ts).
 * `keepalive=true` (GOST's key) turns TCP keep-alive on for each accepted conn with the system's timings (Deno sets
 * no idle/interval/count, so GOST's `keepalive.idle`, `keepalive.interval` and `keepalive.count` are refused).
 * A connection that fails while it is taken (reset by its client) is skipped at once; running out of fds throws a
 * ResourceExhaustedError (core/accept.ts).
 * @module
 */
import { acceptTcp } from "../../core/accept.ts";
import type { Conn } from "../../core/conn.ts";
import type { Metadata } from "../../core/metadata.ts";
import { type Listener, ListenerClosedError, type ListenerOptions } from "../../core/contracts.ts";
import { bindListenAddr, parseListenAddr, unmapConnAddrs } from "../addr.ts";

/** Plain TCP listener. */
export class TcpListener implements Listener {
  readonly #opts: ListenerOptions;
  #ln: Deno.TcpListener | null = null;
  #closed = false;
  #keepAlive = false;

  constructor(opts: ListenerOptions) {
    this.#opts = opts;
  }

  init(md: Metadata): Promise<void> {
    const reusePort = md.bool("reusePort");
    this.#keepAlive = md.bool("keepalive");
    this.#ln = bindListenAddr(
      parseListenAddr(this.#opts.addr),
      (hostname, port) => Deno.listen({ hostname, port, transport: "tcp", reusePort }),
    );
    return Promise.resolve();
  }

  get addr(): Deno.Addr {
    if (!this.#ln) throw new Error("listener not initialised");
    return this.#ln.addr;
  }

  async accept(): Promise<Conn> {
    if (!this.#ln || this.#closed) throw new ListenerClosedError();
    try {
      const conn = await acceptTcp(this.#ln);
      if (this.#keepAlive) conn.setKeepAlive(true);
      return unmapConnAddrs(conn);
    } catch (err) {
      if (this.#closed) throw new ListenerClosedError();
      throw err;
    }
  }

  close(): void {
    this.#closed = true;
    try {
      this.#ln?.close();
    } catch {
      // already closed
    }
  }
}
