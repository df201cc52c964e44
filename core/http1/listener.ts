/**
 * The listener of the built-in servers (the Web API, the metrics): TCP (with TCP_NODELAY) or a unix socket, with
 * accept errors sorted as every service's are (core/accept.ts): a conn reset before it was taken is skipped, running
 * out of fds throws a {@link ResourceExhaustedError} for the accept loop to back off on.
 * @module
 */
import { acceptTcp, classifyAcceptError, ResourceExhaustedError } from "../accept.ts";
import { closeQuietly, type Conn, splitHostPort } from "../conn.ts";
import { ConfigError } from "../errors.ts";
import { type Listener, ListenerClosedError } from "../contracts.ts";

/** Where a built-in server listens: TCP or a unix socket. */
export type ListenAddr = { hostname: string; port: number } | { path: string };

/**
 * Parses `host:port`, `:port` (every interface) or `unix:///path`.
 * @param key names the setting in errors (`api.addr`)
 * @param unix whether `unix://` is allowed
 * @throws {ConfigError} naming `key` and the value
 * @example parseListenAddr(":18080", "api.addr") // { hostname: "0.0.0.0", port: 18080 }
 */
export function parseListenAddr(addr: string, key: string, unix = true): ListenAddr {
  if (unix && addr.startsWith("unix://")) {
    const path = addr.slice("unix://".length);
    if (!path) throw new ConfigError(`${key}: empty unix socket path in "${addr}"`);
    return { path };
  }
  try {
    const { host, port } = splitHostPort(addr);
    return { hostname: host || "0.0.0.0", port };
  } catch {
    throw new ConfigError(
      `${key}: invalid address "${addr}": expected [host]:port${unix ? " or unix:///path" : ""}`,
    );
  }
}

/**
 * A bound TCP or unix-socket listener.
 * @example
 * const ln = new NetListener({ hostname: "127.0.0.1", port: 0 });
 * const conn = await ln.accept();
 */
export class NetListener implements Listener {
  readonly #ln: Deno.TcpListener | Deno.UnixListener;
  readonly #unix: boolean;
  #closed = false;

  /** Binds at once. @throws what `Deno.listen` throws (address in use, permission) */
  constructor(addr: ListenAddr) {
    if ("path" in addr) {
      this.#ln = Deno.listen({ path: addr.path, transport: "unix" });
      this.#unix = true;
    } else {
      this.#ln = Deno.listen({ hostname: addr.hostname, port: addr.port, transport: "tcp" });
      this.#unix = false;
    }
  }

  /** Bound at construction: nothing to do. */
  init(): Promise<void> {
    return Promise.resolve();
  }

  get addr(): Deno.Addr {
    return this.#ln.addr;
  }

  async accept(): Promise<Conn> {
    if (this.#closed) throw new ListenerClosedError();
    try {
      return this.#unix ? await this.#acceptUnix() : await acceptTcp(this.#ln as Deno.TcpListener);
    } catch (err) {
      if (this.#closed) throw new ListenerClosedError();
      throw err;
    }
  }

  async #acceptUnix(): Promise<Conn> {
    for (;;) {
      try {
        return await this.#ln.accept();
      } catch (err) {
        const kind = classifyAcceptError(err);
        if (kind === "conn") continue;
        if (kind === "resource") throw new ResourceExhaustedError(`accept: ${(err as Error).message}`, { cause: err });
        throw err;
      }
    }
  }

  close(): void {
    this.#closed = true;
    closeQuietly(this.#ln);
  }
}
