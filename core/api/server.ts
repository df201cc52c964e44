/**
 * The global Web API server (`-api` / `api:` / `GOST_API`): `Deno.serve` on `host:port` (`:port` = every
 * interface) or a unix socket (`unix:///path`), serving the API app until closed.
 * @module
 */
import { addrString, splitHostPort } from "../conn.ts";
import type { Config } from "../config/schema.ts";
import { ConfigError, errorMessage } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { AutherLookup } from "../routing/auth.ts";
import { createApiApp } from "./app.ts";
import { apiAuthenticator } from "./auth.ts";
import type { ApiTargetRef } from "./target.ts";

/** Where to listen: TCP or a unix socket. */
export type ApiListenAddr = { hostname: string; port: number } | { path: string };

/**
 * Parses the API address: `host:port`, `:port`, `unix:///path`.
 * @throws {ConfigError} naming `api.addr`
 * @example parseApiAddr(":18080") // { hostname: "0.0.0.0", port: 18080 }
 */
export function parseApiAddr(addr: string): ApiListenAddr {
  if (addr.startsWith("unix://")) {
    const path = addr.slice("unix://".length);
    if (!path) throw new ConfigError(`api.addr: empty unix socket path in "${addr}"`);
    return { path };
  }
  try {
    const { host, port } = splitHostPort(addr);
    return { hostname: host || "0.0.0.0", port };
  } catch {
    throw new ConfigError(`api.addr: invalid address "${addr}": expected [host]:port or unix:///path`);
  }
}

/** The `api` block of the config. */
export type ApiConfig = NonNullable<Config["api"]>;

/** What starting the server needs. */
export interface ApiServerOptions {
  /** The `api` block of the config (`addr` required). */
  config: ApiConfig;
  target: ApiTargetRef;
  logger: Logger;
  /** Where `api.auther` is looked up. */
  reg: AutherLookup;
}

/**
 * A running API server.
 * @example
 * const api = ApiServer.start({ config: { addr: "127.0.0.1:18080" }, target, logger, reg });
 * await api.close();
 */
export class ApiServer {
  readonly #server: Deno.HttpServer<Deno.NetAddr | Deno.UnixAddr>;
  /** The bound address. */
  readonly addr: Deno.Addr;
  #closing: Promise<void> | null = null;

  private constructor(server: Deno.HttpServer<Deno.NetAddr | Deno.UnixAddr>) {
    this.#server = server;
    this.addr = server.addr;
  }

  /**
   * Binds and starts serving.
   * @throws {ConfigError} for a bad address or auth file, or when the address cannot be bound
   */
  static start(opts: ApiServerOptions): ApiServer {
    const { config, logger } = opts;
    if (!config.addr) throw new ConfigError("api.addr: required");
    const listen = parseApiAddr(config.addr);
    const app = createApiApp({
      target: opts.target,
      logger: logger.child({ kind: "api" }),
      pathPrefix: config.pathPrefix,
      accessLog: config.accesslog,
      auth: apiAuthenticator(config, opts.reg),
    });
    const onError = (err: unknown) => {
      logger.error(`api: ${errorMessage(err)}`, { kind: "api" });
      return new Response(JSON.stringify({ code: 500, msg: errorMessage(err) }), {
        status: 500,
        headers: { "Content-Type": "application/json", "Access-Control-Allow-Origin": "*" },
      });
    };
    let server: Deno.HttpServer<Deno.NetAddr | Deno.UnixAddr>;
    try {
      const handler = (req: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr | Deno.UnixAddr>) =>
        app.fetch(req, { remoteAddr: addrString(info.remoteAddr) });
      server = "path" in listen
        ? Deno.serve({ path: listen.path, onListen: () => {}, onError }, handler)
        : Deno.serve({ hostname: listen.hostname, port: listen.port, onListen: () => {}, onError }, handler);
    } catch (err) {
      throw new ConfigError(`api: listen on ${config.addr}: ${errorMessage(err)}`, { cause: err });
    }
    const api = new ApiServer(server);
    logger.info(`api server on ${addrString(api.addr)}`, { kind: "api" });
    return api;
  }

  /** Stops accepting, lets in-flight requests finish (2 s at most) and closes. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.#server.shutdown().catch(() => {}),
        new Promise<void>((r) => timer = setTimeout(r, 2000)),
      ]);
      clearTimeout(timer);
      if ("path" in this.addr) await Deno.remove((this.addr as Deno.UnixAddr).path).catch(() => {});
    })();
    return this.#closing;
  }
}
