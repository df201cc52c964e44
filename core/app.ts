/**
 * One gost.ts process: resolves the config, builds and serves every service, and closes them on request.
 * @module
 */
import { buildServices } from "./config/build.ts";
import type { Flags } from "./config/flags.ts";
import { locatedError } from "./config/load.ts";
import type { ConfigPath } from "./config/load.ts";
import { type ResolvedConfig, resolveConfig } from "./config/resolve.ts";
import { createLogger, type Logger } from "./log.ts";
import type { Registries } from "./registries.ts";
import type { Service } from "./service/service.ts";
import { addrString } from "./conn.ts";

/**
 * A running process.
 * @example
 * const app = await App.start(parseFlags(["-L", ":8080"]), createBuiltinRegistries());
 * await app.close();
 */
export class App {
  readonly reg: Registries;
  readonly logger: Logger;
  readonly resolved: ResolvedConfig;
  #closing: Promise<void> | null = null;

  private constructor(reg: Registries, logger: Logger, resolved: ResolvedConfig) {
    this.reg = reg;
    this.logger = logger;
    this.resolved = resolved;
  }

  /** The live services. */
  get services(): Service[] {
    return this.reg.services.values();
  }

  /**
   * Resolves the config for `flags`, builds every service and starts serving.
   * @throws {ConfigError} on any config problem, naming the path and line
   */
  static async start(flags: Flags, reg: Registries, logger?: Logger): Promise<App> {
    const known = { handlers: new Set(reg.handlers.names()), listeners: new Set(reg.listeners.names()) };
    const resolved = await resolveConfig(flags, known);
    const log = logger ?? createLogger(resolved.config.log);
    if (resolved.embeddedDefault) {
      log.info("no configuration given: running the embedded default, an auto (HTTP+SOCKS) proxy on 127.0.0.1:8080");
    } else if (resolved.searchedFile) {
      log.info(`loaded configuration from ${resolved.searchedFile}`);
    }
    for (const w of resolved.warnings) log.warn(w);
    const locate = (path: ConfigPath, message: string) => {
      const [kind, index, ...rest] = path;
      const origin = resolved.origins.get(`${kind}.${index}`);
      return origin ? locatedError(origin[0], [kind, origin[1], ...rest], message) : locatedError(undefined, path, message);
    };
    const services = await buildServices({ reg, config: resolved.config, logger: log, locate });
    for (const svc of services) {
      reg.services.register(svc.name, svc);
      svc.serve().catch((err) => log.error(`service ${svc.name}: ${err}`));
      log.info(`service ${svc.name} is listening on ${addrString(svc.addr)}`, { service: svc.name });
    }
    return new App(reg, log, resolved);
  }

  /** Closes every service gracefully (idempotent). */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const services = this.services;
      await Promise.all(services.map((s) => s.close()));
      for (const s of services) this.reg.services.unregister(s.name);
      this.logger.info("all services closed");
      this.logger.close();
    })();
    return this.#closing;
  }
}
