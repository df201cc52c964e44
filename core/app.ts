/**
 * One gost.ts process: resolves the config from flags and files, starts the {@link Runtime}, reloads on request
 * (SIGHUP) from the same sources, and closes everything on shutdown.
 * @module
 */
import type { Flags } from "./config/flags.ts";
import type { KnownTypes } from "./config/from_cli.ts";
import type { ApiServer } from "./api/server.ts";
import { bindApiTarget, fixedTarget, unbindApiTarget } from "./api/target.ts";
import { type ConfigPath, locatedError } from "./config/load.ts";
import { resolveConfig, type ResolvedConfig } from "./config/resolve.ts";
import { errorMessage } from "./errors.ts";
import type { Logger } from "./log.ts";
import { buildLoggers, type LoggerSet } from "./loggers.ts";
import type { Registries } from "./registries.ts";
import { Runtime } from "./runtime/runtime.ts";
import { createObservability, type Observability } from "./observe/mod.ts";

/** The handler and listener types a registry set implements, and what their registrations say (for the CLI). */
export function knownTypes(reg: Registries): KnownTypes {
  return { handlers: new Set(reg.handlers.names()), listeners: new Set(reg.listeners.names()), info: reg };
}

function locator(resolved: ResolvedConfig) {
  return (path: ConfigPath, message: string) => {
    const [kind, index, ...rest] = path;
    const origin = resolved.origins.get(`${kind}.${index}`);
    return origin
      ? locatedError(origin[0], [kind, origin[1], ...rest], message)
      : locatedError(undefined, path, message);
  };
}

/**
 * A running process.
 * @example
 * const app = await App.start(parseFlags(["-L", ":8080"]), createBuiltinRegistries());
 * await app.close();
 */
export class App {
  readonly runtime: Runtime;
  readonly logger: Logger;
  readonly #flags: Flags;
  #closing: Promise<void> | null = null;
  #api: ApiServer | undefined;
  #obs: Observability | undefined;
  #loggers: LoggerSet | undefined;

  private constructor(runtime: Runtime, logger: Logger, flags: Flags, loggers?: LoggerSet) {
    this.runtime = runtime;
    this.logger = logger;
    this.#flags = flags;
    this.#loggers = loggers;
  }

  /**
   * Resolves the config for `flags` and starts every service.
   * @throws {ConfigError} on any config problem, naming the path and line
   */
  static async start(flags: Flags, reg: Registries, logger?: Logger): Promise<App> {
    const resolved = await resolveConfig(flags, knownTypes(reg));
    const loggers = logger ? undefined : buildLoggers(resolved.config);
    const log = logger ?? loggers!.root;
    if (resolved.embeddedDefault) {
      log.info("no configuration given: running the embedded default, an auto (HTTP+SOCKS) proxy on 127.0.0.1:8080");
    } else if (resolved.searchedFile) {
      log.info(`loaded configuration from ${resolved.searchedFile}`);
    }
    for (const w of resolved.warnings) log.warn(w);
    let runtime: Runtime | undefined;
    const obs = createObservability(() => runtime?.currentConfig ?? resolved.config, log, { reg });
    await obs.start();
    try {
      runtime = await Runtime.start(resolved.config, {
        reg,
        logger: log,
        loggers,
        configFile: resolved.configFile,
        // with an API (global or as a service) a service that cannot bind is kept as `failed`, for the API to show
        keepFailedServices: Boolean(resolved.config.api?.addr) ||
          (resolved.config.services ?? []).some((s) => reg.handlers.info(s.handler?.type ?? "")?.admin),
        locate: locator(resolved),
        connHooks: obs.connHooks,
        watchService: obs.watchService,
      });
    } catch (err) {
      await obs.close();
      throw err;
    }
    const app = new App(runtime, log, flags, loggers);
    app.#obs = obs;
    bindApiTarget(reg, app);
    // what the services' self-target guard refuses besides the services themselves
    reg.process.endpoints = () => [
      { name: "api", label: "the Web API", addr: app.#api?.addr },
      { name: "metrics", label: "the metrics server", addr: obs.metricsAddr },
    ];
    const api = resolved.config.api;
    if (api?.addr) {
      try {
        // loaded here, not at startup: the API brings hono and the dashboard (docs/architecture.md, "Module loading")
        const { ApiServer } = await import("./api/server.ts");
        app.#api = ApiServer.start({ config: api, target: fixedTarget(app), logger: log, reg });
      } catch (err) {
        await app.close();
        throw err;
      }
    }
    return app;
  }

  /** The global Web API server (`-api`), when configured. */
  get api(): ApiServer | undefined {
    return this.#api;
  }

  /** Re-reads the original sources and applies what changed (SIGHUP, `POST /config/reload`). */
  async reload(): Promise<void> {
    const resolved = await resolveConfig(this.#flags, knownTypes(this.runtime.reg));
    await this.runtime.reload(resolved.config);
  }

  /** Reload, logging instead of throwing (signal handlers). */
  reloadQuietly(): void {
    this.reload().catch((err) =>
      this.logger.error(`reload failed, the running config is unchanged: ${errorMessage(err)}`)
    );
  }

  /** Closes every service gracefully (idempotent). */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#api?.close();
      unbindApiTarget(this.runtime.reg);
      await this.runtime.close();
      await this.#obs?.close();
      this.logger.info("all services closed");
      await (this.#loggers?.close() ?? this.logger.close());
    })();
    return this.#closing;
  }
}
