/**
 * The running instance: the live config, every named object and service, and the mutations the Web API, reload
 * and the CLI make on them. Mutations are serialised; a failed one leaves the running config untouched.
 * Named objects are looked up by services at use, so replacing one takes effect on the next connection.
 * @module
 */
import { addrString } from "../conn.ts";
import { buildService, checkService } from "../config/build.ts";
import type { ConfigPath } from "../config/load.ts";
import { formatConfig } from "../config/output.ts";
import type { Config, HopConfig, ServiceConfig } from "../config/types.ts";
import { ConfigError, DuplicateError, errorMessage, ListenError, NotFoundError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { LoggerSet } from "../loggers.ts";
import type { ManagedService, Registries } from "../registries.ts";
import { type ConnHook, Service } from "../service/service.ts";
import { FailedService } from "./failed_service.ts";
import { canonicalJson, sameConfig } from "./canonical.ts";
import {
  disposeObjects,
  installObject,
  isInstalled,
  isLiveKind,
  type NamedObject,
  OBJECT_KINDS,
  type ObjectBuildContext,
  type ObjectKind,
  readsFiles,
  uninstallObject,
  validateObject,
} from "./objects.ts";
import { removeStaleTemps, savePath, writeAtomic } from "./save.ts";

/** Named kinds in build order: what others refer to comes first. */
const BUILD_ORDER: ObjectKind[] = OBJECT_KINDS.filter((k) => k !== "services" && k !== "chains" && k !== "hops");
BUILD_ORDER.push("hops", "chains");

/** How a runtime is set up. */
export interface RuntimeOptions {
  reg: Registries;
  logger: Logger;
  /** The config's named loggers: a service with `logger`/`loggers` logs there (default: `logger`). */
  loggers?: LoggerSet;
  /** The config file saves go to by default (`-C` file, else `gost.yaml` in the working directory). */
  configFile?: string;
  /** Keep a service whose listener fails as a `failed` service instead of failing the start. */
  keepFailedServices?: boolean;
  /** Names a path in the original sources (with line numbers) for startup errors. */
  locate?: (path: ConfigPath, message: string) => ConfigError;
  /** Per-connection watchers for a service (metrics, handler observers). */
  connHooks?: (cfg: ServiceConfig) => ConnHook[];
  /** Called when a service starts (observers subscribe); the returned function runs when it stops. */
  watchService?: (svc: ManagedService, cfg: ServiceConfig) => (() => void) | void;
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

function withoutStatus(obj: NamedObject): NamedObject {
  const { status: _status, ...rest } = obj;
  return rest as NamedObject;
}

/**
 * The running instance.
 * @example
 * const rt = await Runtime.start(config, { reg: createBuiltinRegistries(), logger });
 * await rt.create("services", { name: "s", addr: ":8080", handler: { type: "http" } });
 */
export class Runtime {
  readonly reg: Registries;
  readonly logger: Logger;
  readonly configFile: string;
  #config: Config;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #opts: RuntimeOptions;
  readonly #unwatch = new Map<string, () => void>();
  #closed = false;

  private constructor(opts: RuntimeOptions) {
    this.reg = opts.reg;
    this.logger = opts.logger;
    this.configFile = opts.configFile ?? "gost.yaml";
    this.#opts = opts;
    this.#config = {};
  }

  /**
   * Builds every named object, then every service, and starts serving.
   * @throws {ConfigError} naming the path (and source line) of the first problem
   */
  static async start(config: Config, opts: RuntimeOptions): Promise<Runtime> {
    const rt = new Runtime(opts);
    rt.#config = clone(config);
    await rt.#cleanTemps(rt.configFile);
    const locate = opts.locate;
    for (const kind of BUILD_ORDER) {
      for (const [i, obj] of ((config[kind] ?? []) as NamedObject[]).entries()) {
        await installObject(
          kind,
          obj,
          rt.#buildContext(locate ? (p, m) => locate([kind, i, ...p.slice(2)], m) : undefined),
        );
      }
    }
    try {
      for (const [i, svc] of (config.services ?? []).entries()) await rt.#startService(svc, i, true);
    } catch (err) {
      await rt.close();
      throw err;
    }
    return rt;
  }

  #buildContext(fail?: (path: ConfigPath, message: string) => ConfigError): ObjectBuildContext {
    return {
      reg: this.reg,
      logger: this.logger,
      hopConfig: (name) => (this.#config.hops ?? []).find((h) => h.name === name) as HopConfig | undefined,
      fail: fail ?? ((path, message) => new ConfigError(`${path.join(".")}: ${message}`)),
    };
  }

  /** Runs mutations one at a time. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(fn, fn);
    this.#queue = next.catch(() => {});
    return next;
  }

  async #startService(cfg: ServiceConfig, index: number, atStartup: boolean): Promise<ManagedService> {
    const locate = atStartup ? this.#opts.locate : undefined;
    let svc: ManagedService;
    try {
      svc = await buildService(cfg, index, {
        reg: this.reg,
        logger: this.logger,
        loggers: this.#opts.loggers,
        locate,
        connHooks: this.#opts.connHooks,
        tls: this.#config.tls,
      });
    } catch (err) {
      const bindFailure = !(err instanceof ConfigError) || err instanceof ListenError;
      if (!(atStartup && this.#opts.keepFailedServices && bindFailure)) throw err;
      this.logger.error(errorMessage(err), { service: cfg.name });
      svc = new FailedService(cfg.name, errorMessage(err));
    }
    this.reg.services.set(cfg.name, svc);
    const unwatch = this.#opts.watchService?.(svc, cfg);
    if (unwatch) this.#unwatch.set(cfg.name, unwatch);
    if (svc instanceof Service) {
      svc.serve().catch((err) => this.logger.error(`service ${svc.name}: ${errorMessage(err)}`));
      this.logger.info(`service ${svc.name} is listening on ${addrString(svc.addr)}`, { service: svc.name });
    }
    return svc;
  }

  async #stopService(name: string): Promise<void> {
    const svc = this.reg.services.unregister(name);
    await svc?.close();
    this.#unwatch.get(name)?.();
    this.#unwatch.delete(name);
  }

  /** The running config as stored (no status, not a copy: do not modify). */
  get currentConfig(): Readonly<Config> {
    return this.#config;
  }

  /** The running config, with each service's live `status`. */
  config(): Config {
    const out = clone(this.#config);
    for (const s of out.services ?? []) {
      const live = this.reg.services.get(s.name);
      if (live) (s as NamedObject).status = live.statusJSON();
    }
    return out;
  }

  /** The running config as text (`GET /config?format=`). */
  configText(format: "yaml" | "json"): string {
    return formatConfig(this.config(), format);
  }

  /** Every object of a kind (services with status). */
  list(kind: ObjectKind): NamedObject[] {
    return ((this.config()[kind] ?? []) as NamedObject[]);
  }

  /** One object. @throws {NotFoundError} */
  get(kind: ObjectKind, name: string): NamedObject {
    const obj = this.list(kind).find((o) => o.name === name);
    if (!obj) throw new NotFoundError(`${kind} "${name}" not found`);
    return obj;
  }

  #items(kind: ObjectKind): NamedObject[] {
    return (this.#config[kind] ?? []) as NamedObject[];
  }

  #setItems(kind: ObjectKind, items: NamedObject[]): void {
    if (items.length) (this.#config as Record<string, unknown>)[kind] = items;
    else delete this.#config[kind];
  }

  /**
   * Adds an object; a service starts at once.
   * @throws {ConfigError} invalid object, {DuplicateError} name taken; the config is untouched then
   */
  create(kind: ObjectKind, body: unknown): Promise<NamedObject> {
    return this.#serial(async () => {
      const obj = withoutStatus(await validateObject(kind, body));
      const items = this.#items(kind);
      if (items.some((o) => o.name === obj.name)) throw new DuplicateError(`${kind} "${obj.name}" already exists`);
      if (kind === "services") await this.#startService(obj as ServiceConfig, items.length, false);
      else await installObject(kind, obj, this.#buildContext());
      this.#setItems(kind, [...items, obj]);
      return obj;
    });
  }

  /**
   * Replaces an object by name (the name in the URL wins). A service is restarted: the old one is closed (with
   * its hooks) and the new one started; if the new one fails, the old config is started again. A body that means
   * the same as the running object (see canonical.ts) changes nothing: no restart, no rebuild (a failed service
   * is tried again, an object with a `file` re-reads it).
   * @throws {NotFoundError} | {ConfigError}
   */
  replace(kind: ObjectKind, name: string, body: unknown): Promise<NamedObject> {
    return this.#serial(async () => {
      const obj = withoutStatus(await validateObject(kind, { ...(body as object), name }));
      const items = this.#items(kind);
      const i = items.findIndex((o) => o.name === name);
      if (i < 0) throw new NotFoundError(`${kind} "${name}" not found`);
      if (sameConfig(obj, items[i]) && this.#isUpToDate(kind, items[i])) {
        this.logger.debug(`${kind} ${name}: unchanged, nothing restarted`);
        return items[i];
      }
      if (kind === "services") {
        const old = items[i];
        checkService(obj as ServiceConfig, i, { reg: this.reg, logger: this.logger });
        await this.#stopService(name);
        try {
          await this.#startService(obj as ServiceConfig, i, false);
        } catch (err) {
          await this.#startService(old as ServiceConfig, i, false).catch((e) =>
            this.logger.error(`service ${name}: restoring the old config failed: ${errorMessage(e)}`)
          );
          throw err;
        }
      } else if (kind === "hops") {
        await this.#replaceHop(items, i, obj);
      } else {
        await installObject(kind, obj, this.#buildContext());
      }
      items[i] = obj;
      return obj;
    });
  }

  /** The chains whose hops name the top-level hop `name` (a hop given only by name: the chain embeds a copy). */
  #chainsNaming(name: string): NamedObject[] {
    return this.#items("chains").filter((c) =>
      ((c.hops ?? []) as { name?: string; nodes?: unknown[] }[]).some((h) => h.name === name && !h.nodes?.length)
    );
  }

  /**
   * Replaces a top-level hop and rebuilds the chains that name it, so the change reaches them (GOST's chains look
   * their named hops up). If a chain cannot be built on the new hop, the old hop and chains come back.
   */
  async #replaceHop(items: NamedObject[], i: number, obj: NamedObject): Promise<void> {
    const old = items[i];
    await installObject("hops", obj, this.#buildContext());
    items[i] = obj;
    const chains = this.#chainsNaming(obj.name);
    try {
      for (const c of chains) await installObject("chains", c, this.#buildContext());
    } catch (err) {
      items[i] = old;
      await installObject("hops", old, this.#buildContext());
      for (const c of chains) {
        await installObject("chains", c, this.#buildContext()).catch((e) =>
          this.logger.error(`chain ${c.name}: restoring it on hop ${old.name} failed: ${errorMessage(e)}`)
        );
      }
      throw err;
    }
  }

  /** Tells whether the live object of a config object is built from it as it is now, so that nothing needs redoing. */
  #isUpToDate(kind: ObjectKind, cfg: NamedObject): boolean {
    if (kind === "services") return this.reg.services.get(cfg.name) instanceof Service;
    if (!isLiveKind(kind)) return true;
    return isInstalled(kind, cfg.name, this.reg) && !readsFiles(kind, cfg);
  }

  /** Removes an object; a service is stopped and its port freed. @throws {NotFoundError} */
  remove(kind: ObjectKind, name: string): Promise<void> {
    return this.#serial(async () => {
      const items = this.#items(kind);
      const i = items.findIndex((o) => o.name === name);
      if (i < 0) throw new NotFoundError(`${kind} "${name}" not found`);
      if (kind === "hops") {
        const users = this.#chainsNaming(name).map((c) => c.name);
        if (users.length) {
          throw new ConfigError(
            `hops.${name}: chain ${users.join(", ")} names this hop: change or remove the chain first`,
          );
        }
      }
      if (kind === "services") await this.#stopService(name);
      else uninstallObject(kind, name, this.reg);
      this.#setItems(kind, items.filter((_, j) => j !== i));
    });
  }

  /**
   * Applies a new config, rebuilding only what changed: changed named objects are rebuilt and swapped (unchanged
   * ones are kept as they are, with their selectors' state), a service whose config is unchanged keeps serving (no
   * connection dropped), changed ones restart, removed ones stop.
   * @returns names of the services restarted, started and stopped
   * @throws {ConfigError} when a named object fails to build (nothing is changed then)
   */
  reload(next: Config): Promise<{ kept: string[]; restarted: string[]; started: string[]; stopped: string[] }> {
    return this.#serial(async () => {
      const scratch = { ...this.#buildContext(), hopConfig: (n: string) => next.hops?.find((h) => h.name === n) };
      // chains embed the top-level hops they name when built: any hop change rebuilds them, and so does a hop that
      // reads a node file (it is re-read as the hop itself is)
      const hopsChanged = !sameConfig(this.#config.hops ?? [], next.hops ?? []) ||
        (next.hops ?? []).some((h) => readsFiles("hops", h as NamedObject));
      for (const kind of BUILD_ORDER) {
        if (!isLiveKind(kind)) continue;
        const current = new Map(((this.#config[kind] ?? []) as NamedObject[]).map((o) => [o.name, canonicalJson(o)]));
        for (const obj of (next[kind] ?? []) as NamedObject[]) {
          const unchanged = current.get(obj.name) === canonicalJson(obj) && this.#isUpToDate(kind, obj) &&
            !(kind === "chains" && hopsChanged);
          if (!unchanged) await installObject(kind, obj, scratch);
        }
        const keep = new Set(((next[kind] ?? []) as NamedObject[]).map((o) => o.name));
        for (const old of (this.#config[kind] ?? []) as NamedObject[]) {
          if (!keep.has(old.name)) uninstallObject(kind, old.name, this.reg);
        }
      }
      const before = new Map((this.#config.services ?? []).map((s) => [s.name, canonicalJson(s)]));
      // services restarted below (and their observers) see the new named objects and config
      this.#config = clone(next);
      const after = next.services ?? [];
      const result = {
        kept: [] as string[],
        restarted: [] as string[],
        started: [] as string[],
        stopped: [] as string[],
      };
      for (const name of before.keys()) {
        if (!after.some((s) => s.name === name)) {
          await this.#stopService(name);
          result.stopped.push(name);
        }
      }
      for (const [i, svc] of after.entries()) {
        const old = before.get(svc.name);
        if (old === canonicalJson(svc) && this.reg.services.get(svc.name) instanceof Service) {
          result.kept.push(svc.name);
          continue;
        }
        if (old !== undefined) await this.#stopService(svc.name);
        await this.#startService(svc, i, true).catch((err) => {
          this.logger.error(`reload: service ${svc.name}: ${errorMessage(err)}`);
          this.reg.services.set(svc.name, new FailedService(svc.name, errorMessage(err)));
        });
        (old === undefined ? result.started : result.restarted).push(svc.name);
      }
      this.logger.info(
        `config reloaded: ${result.kept.length} kept, ${result.restarted.length} restarted, ` +
          `${result.started.length} started, ${result.stopped.length} stopped`,
      );
      return result;
    });
  }

  /**
   * Saves the running config (without status) atomically.
   * @param path optional target; must be in the config file's directory
   * @param format `yaml`/`json`; default from the file extension
   * @returns the path written
   * @throws {ConfigError} for a path outside the config directory or one the file system refuses (too long, a
   *   directory)
   */
  save(path?: string, format?: "yaml" | "json"): Promise<string> {
    return this.#serial(async () => {
      const target = savePath(this.configFile, path);
      await this.#cleanTemps(target);
      const fmt = format ?? (target.endsWith(".json") ? "json" : "yaml");
      await writeAtomic(target, formatConfig(this.#config, fmt));
      return target;
    });
  }

  /** Removes the temporary files a killed save of `file` left behind (see save.ts), logging what it removed. */
  async #cleanTemps(file: string): Promise<void> {
    const removed = await removeStaleTemps(file);
    if (removed.length) {
      this.logger.info(`removed ${removed.length} temporary file(s) of an unfinished save: ${removed.join(", ")}`);
    }
  }

  /** Closes every service (with their hooks), then ends the chains' mux sessions. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.reg.services.names().map((name) => this.#stopService(name)));
    disposeObjects(this.reg); // the chains' mux sessions
  }
}
