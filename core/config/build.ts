/**
 * Builds live services from config through the registries: listener + handler + forwarder + auth + router.
 * Every error names the config path (and, through `locate`, the source line).
 * @module
 */
import { addrString, isLoopbackHost } from "../conn.ts";
import { ConfigError, errorMessage, ListenError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { LoggerSet } from "../loggers.ts";
import { Metadata } from "../metadata.ts";
import type { ForwardTargets, Handler, HandlerCredentials, Listener, ServerTlsOptions } from "../contracts.ts";
import type { Registries } from "../registries.ts";
import { fallbackOf } from "../capabilities.ts";
import {
  type Authenticator,
  authEntries,
  NamedAuthenticator,
  StaticAuthenticator,
  warnEmptyPasswords,
} from "../routing/auth.ts";
import { namedBypass } from "../routing/bypass.ts";
import { parseSkipAuth, SkipAuthHandler } from "../routing/skip_auth.ts";
import { lookupHost } from "../routing/resolver.ts";
import { chainsOf } from "./build_chain.ts";
import { type Node, NodeGroup, type SelectorOptions } from "../routing/node_group.ts";
import { DefaultRouter } from "../routing/router.ts";
import { NamedHopTargets } from "../routing/hop_targets.ts";
import { processEndpoints } from "../routing/local_addrs.ts";
import { type ConnHook, Service } from "../service/service.ts";
import { Stats } from "../service/stats.ts";
import { type Hooks, parseHooks } from "../service/hooks.ts";
import type { ServiceConfig } from "./types.ts";
import { parseSelection, parseSelector } from "./selector.ts";
import { unreadGostKey, unreadKeyMessage } from "./unread_keys.ts";
import { refusedField } from "./refused_fields.ts";
import { NodeFieldError, parseNodeRoute, routeFields } from "./forward_node.ts";
import type { ConfigPath } from "./load.ts";

/** What building needs besides the service config. */
export interface BuildContext {
  /** The registries types and named objects are looked up in. */
  readonly reg: Registries;
  /** The process logger; each service logs through a child. */
  readonly logger: Logger;
  /** Named loggers (`loggers`): a service with `logger`/`loggers` logs there instead of `logger`. */
  readonly loggers?: LoggerSet;
  /** Per-connection watchers for a service (metrics, handler observers). */
  readonly connHooks?: (cfg: ServiceConfig) => ConnHook[];
  /** Turns a path + message into an error that names the source line. */
  readonly locate?: (path: ConfigPath, message: string) => ConfigError;
  /** The global `tls` block: the default server certificate of TLS listeners. */
  readonly tls?: ServerTlsOptions;
}

/**
 * GOST service and handler keys read outside the builder: `ignoreChain` by {@link checkService}, the observer keys
 * by the observers (core/observe/mod.ts) when an observer is set.
 */
const READ_BY_OTHERS = [
  "ignoreChain",
  "observer.period",
  "observePeriod",
  "observer.observePeriod",
  "observer.resetTraffic",
];

/** Where each metadata record checked by {@link unreadGostKey} sits in a service. */
const UNREAD_PATHS: ConfigPath[] = [["metadata"], ["handler", "metadata"], ["listener", "metadata"]];

/**
 * Checks what can be checked without binding: supported fields, addr, handler and listener types.
 * Runtime.replace calls it before stopping the old service.
 * @returns the handler and listener factories
 * @throws {ConfigError} naming the path
 */
export function checkService(cfg: ServiceConfig, index: number, ctx: BuildContext) {
  const fail = (path: ConfigPath, msg: string) =>
    ctx.locate?.(["services", index, ...path], msg) ??
      new ConfigError(`services[${index}].${path.join(".")}: ${msg}`);
  const svcMd = new Metadata(cfg.metadata ?? {});
  const handlerMd = new Metadata(cfg.handler?.metadata ?? {});
  const ignoreChain = svcMd.bool("ignoreChain") || handlerMd.bool("ignoreChain");
  const refused = refusedField("services", cfg);
  if (refused) throw fail(refused.path, refused.message);
  // a type the config does not name is the one registered as the fallback (GOST: handler auto, listener tcp)
  const handlerType = cfg.handler?.type || fallbackOf(ctx.reg.handlers) || "";
  const listenerType = cfg.listener?.type || fallbackOf(ctx.reg.listeners) || "";
  if (!cfg.addr && !ctx.reg.listeners.info(listenerType)?.addressless) throw fail(["addr"], "addr is required");
  const handlerFactory = ctx.reg.handlers.get(handlerType);
  if (!handlerFactory) {
    throw fail(
      ["handler", "type"],
      `unknown handler type "${handlerType}": supported are ${ctx.reg.handlers.names().join(", ")}`,
    );
  }
  const listenerFactory = ctx.reg.listeners.get(listenerType);
  if (!listenerFactory) {
    throw fail(
      ["listener", "type"],
      `unknown listener type "${listenerType}": supported are ${ctx.reg.listeners.names().join(", ")}`,
    );
  }
  const handlerInfo = ctx.reg.handlers.info(handlerType) ?? {};
  const listenerInfo = ctx.reg.listeners.info(listenerType) ?? {};
  const hopName = cfg.forwarder?.hop;
  if (hopName) {
    // GOST takes the named hop and ignores the rest: gost.ts refuses what would be ignored
    if (cfg.forwarder?.nodes?.length) {
      throw fail(["forwarder", "nodes"], `a forwarder takes either hop ("${hopName}") or nodes, not both`);
    }
    if (cfg.forwarder?.selector) {
      throw fail(
        ["forwarder", "selector"],
        `a forwarder with hop "${hopName}" selects with that hop's selector: set it there`,
      );
    }
    if (!ctx.reg.hops.has(hopName)) {
      throw fail(
        ["forwarder", "hop"],
        `no top-level hop is named "${hopName}": defined are ${ctx.reg.hops.names().join(", ") || "none"}`,
      );
    }
  }
  return { fail, ignoreChain, handlerType, listenerType, handlerFactory, listenerFactory, handlerInfo, listenerInfo };
}

/**
 * Builds (and binds) one service. The caller starts it with `serve()`.
 * @param cfg the service config
 * @param index its index in `services`, for error paths
 * @throws {ConfigError} on invalid or unsupported settings, naming the path
 */
export async function buildService(cfg: ServiceConfig, index: number, ctx: BuildContext): Promise<Service> {
  const { fail, ignoreChain, handlerType, listenerType, handlerFactory, listenerFactory, handlerInfo, listenerInfo } =
    checkService(cfg, index, ctx);
  const svcMd = new Metadata(cfg.metadata ?? {});
  const handlerMd = new Metadata(cfg.handler?.metadata ?? {});
  const listenerMd = new Metadata(cfg.listener?.metadata ?? {});

  let auth: Authenticator | undefined;
  let credentials: HandlerCredentials | undefined;
  const autherNames = [...(cfg.handler?.auther ? [cfg.handler.auther] : []), ...(cfg.handler?.authers ?? [])];
  if (autherNames.length) auth = new NamedAuthenticator(autherNames, ctx.reg);
  else {
    try {
      const entries = authEntries(cfg.handler?.auth, (m) => ctx.logger.warn(`service ${cfg.name}: ${m}`));
      if (entries.length) auth = new StaticAuthenticator(entries);
      // one inline user (handler.auth or the URL's user info), not a file of them: the raw pair for the handler
      if (entries.length === 1 && !cfg.handler?.auth?.file) {
        credentials = { username: entries[0].username, password: entries[0].password ?? "" };
      }
      warnEmptyPasswords(entries, `service ${cfg.name}`, ctx.logger);
    } catch (err) {
      throw fail(["handler", "auth", "file"], `cannot read auth file: ${errorMessage(err)}`);
    }
  }

  // skipauth (handler metadata, as in GOST): listed clients are served by a twin built without the authenticator
  let skipAuth;
  try {
    skipAuth = parseSkipAuth(handlerMd);
  } catch (err) {
    throw fail(["handler", "metadata", "skipauth"], errorMessage(err));
  }
  if (skipAuth && !auth) {
    ctx.logger.warn(`service ${cfg.name}: skipauth is set but the service has no authentication: it has no effect`);
    skipAuth = undefined;
  }

  let forwarder: ForwardTargets | undefined;
  const fcfg = cfg.forwarder;
  if (fcfg?.hop) {
    // the hop registered under that name at each pick (late binding: the Web API may replace it)
    const name = fcfg.hop;
    forwarder = new NamedHopTargets(name, () => ctx.reg.hops.get(name), ctx.reg.hops.get(name)?.group.nodes);
  } else if (fcfg?.nodes?.length) {
    const nodes: Node[] = fcfg.nodes.map((n, i) => {
      const md = new Metadata(n.metadata ?? {});
      const { weight, backup } = parseSelection(md, (m) => fail(["forwarder", "nodes", i, "metadata"], m));
      // GOST's node keys the forwarder does not read (interface, so_mark, …) are refused (unread_keys.ts)
      const unread = unreadGostKey(["node"], [md]);
      if (unread) {
        throw fail(["forwarder", "nodes", i, "metadata", unread[0]], unreadKeyMessage(["node"], unread[0], unread[1]));
      }
      let route;
      try {
        route = parseNodeRoute(n);
      } catch (err) {
        if (err instanceof NodeFieldError) throw fail(["forwarder", "nodes", i, ...err.path], err.message);
        throw err;
      }
      if (route && !handlerInfo.nodeRoutes) {
        const fields = routeFields(n);
        const routing = ctx.reg.handlers.names().filter((t) => ctx.reg.handlers.info(t)?.nodeRoutes);
        throw fail(
          ["forwarder", "nodes", i, fields[0] ?? "filter"],
          `handler "${handlerType}" does not route by a node's ${fields.join(", ")}: they act only on the ` +
            `handlers ${routing.join(", ") || "(none)"} with sniffing=true`,
        );
      }
      return { name: n.name || `target-${i}`, addr: n.addr, network: n.network, weight, backup, metadata: md, route };
    });
    let selector: SelectorOptions;
    try {
      selector = parseSelector(fcfg.selector);
    } catch (err) {
      throw fail(["forwarder", "selector"], errorMessage(err));
    }
    forwarder = new NodeGroup(nodes, selector);
  }

  let base: Logger;
  try {
    base = ctx.loggers?.forService(cfg) ?? ctx.logger;
  } catch (err) {
    throw fail([cfg.logger ? "logger" : "loggers"], errorMessage(err));
  }
  const logger = base.child({ kind: "service", service: cfg.name, listener: listenerType, handler: handlerType });
  let dialTimeoutMs: number;
  try {
    dialTimeoutMs = svcMd.duration("dialTimeout", 10_000);
  } catch (err) {
    throw fail(["metadata", "dialTimeout"], errorMessage(err));
  }
  // Clients choose the targets of proxy handlers: by default they may not reach this process's own listeners
  let guardSelf: boolean;
  try {
    guardSelf = Boolean(handlerInfo.openProxy) && !forwarder &&
      !(svcMd.bool("allowSelfTarget") || handlerMd.bool("allowSelfTarget"));
  } catch (err) {
    throw fail(["metadata", "allowSelfTarget"], errorMessage(err));
  }
  const chainCtx = { reg: ctx.reg, fail: (path: ConfigPath, msg: string) => fail(path, msg) };
  const routerFor = (chain: ReturnType<typeof chainsOf>) =>
    new DefaultRouter({
      retries: cfg.handler?.retries ?? 0,
      dialTimeoutMs,
      logger,
      chain: ignoreChain ? undefined : chain,
      bypass: handlerInfo.ownBypass ? undefined : bypass,
      resolve,
      self: () => ctx.reg.services.get(cfg.name),
      ownEndpoints: guardSelf ? () => processEndpoints(ctx.reg) : undefined,
      services: () => ctx.reg.services.values(),
    });
  const bypassNames = [...(cfg.bypass ? [cfg.bypass] : []), ...(cfg.bypasses ?? [])];
  const bypass = bypassNames.length ? () => namedBypass(bypassNames, ctx.reg) : undefined;
  const { hosts: hostsName, resolver: resolverName } = cfg;
  const resolve = hostsName || resolverName
    ? async (network: string, host: string) => {
      const ips = await lookupHost(
        hostsName ? ctx.reg.hosts.get(hostsName) : undefined,
        resolverName ? ctx.reg.resolvers.get(resolverName) : undefined,
        network,
        host,
      );
      return ips;
    }
    : undefined;
  const router = routerFor(chainsOf(cfg.handler?.chain, cfg.handler?.chainGroup, ["handler"], chainCtx));
  const listenerRouter = cfg.listener?.chain || cfg.listener?.chainGroup
    ? routerFor(chainsOf(cfg.listener.chain, cfg.listener.chainGroup, ["listener"], chainCtx))
    : router;
  if (cfg.listener?.tls && !listenerInfo.tls) {
    logger.warn(`listener ${listenerType} does not use TLS: listener.tls of service ${cfg.name} is ignored`);
  }
  const listener: Listener = await listenerFactory({
    addr: cfg.addr ?? "",
    logger,
    service: cfg.name,
    router: listenerRouter,
    tls: (cfg.listener?.tls ?? ctx.tls) as ServerTlsOptions | undefined,
  });
  try {
    await listener.init(listenerMd);
  } catch (err) {
    if (err instanceof ConfigError) throw fail(["listener", "metadata"], err.message);
    throw new ListenError(`service ${cfg.name}: listen ${listenerType} ${cfg.addr}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  let handler: Handler;
  try {
    const hosts = hostsName ? () => ctx.reg.hosts.get(hostsName) : undefined;
    const own = { hosts, bypass: handlerInfo.ownBypass ? bypass : undefined };
    handler = await handlerFactory({ service: cfg.name, logger, router, auth, credentials, forwarder, ...own });
    if (skipAuth) {
      const open = await handlerFactory({ service: cfg.name, logger, router, credentials, forwarder, ...own });
      handler = new SkipAuthHandler(handler, open, skipAuth);
    }
    await handler.init(handlerMd);
  } catch (err) {
    listener.close();
    throw err instanceof ConfigError ? fail(["handler"], err.message) : err;
  }
  let stats: Stats | undefined;
  let hooks: Hooks;
  try {
    stats = svcMd.bool("enableStats") ? new Stats() : undefined;
    hooks = parseHooks(svcMd);
  } catch (err) {
    listener.close();
    throw fail(["metadata"], errorMessage(err));
  }
  const components = ["service", `handler ${handlerType}`, `listener ${listenerType}`];
  const unread = unreadGostKey(components, [svcMd, handlerMd, listenerMd], READ_BY_OTHERS);
  if (unread) {
    listener.close();
    const [key, value, at] = unread;
    throw fail([...UNREAD_PATHS[at], key], unreadKeyMessage(components, key, value));
  }
  const addr = listener.addr as Deno.NetAddr;
  if (handlerInfo.openProxy && !auth && addr.hostname && !isLoopbackHost(addr.hostname)) {
    logger.warn(
      `service ${cfg.name} is an open proxy: it listens on ${addrString(addr)} without authentication; ` +
        `add user:pass@ to the URL or handler.auth, or bind to 127.0.0.1`,
    );
  } else if (handlerInfo.admin && !auth && addr.hostname && !isLoopbackHost(addr.hostname)) {
    logger.warn(
      `service ${cfg.name} serves the Web API on ${addrString(addr)} without authentication: anyone who reaches it ` +
        `can reconfigure gost.ts; add user:pass@ to the URL or handler.auth, or bind to 127.0.0.1`,
    );
  }
  const connHooks = ctx.connHooks?.(cfg);
  const admissionNames = [...(cfg.admission ? [cfg.admission] : []), ...(cfg.admissions ?? [])];
  const admit = admissionNames.length
    ? (addr: string) => admissionNames.every((n) => ctx.reg.admissions.get(n)?.admit(addr) ?? false)
    : undefined;
  const service = new Service({ name: cfg.name, listener, handler, logger, stats, hooks, connHooks, admit });
  await service.preUp();
  return service;
}

/**
 * Builds every service of a config; on error, closes the ones already built.
 * @throws {ConfigError} from the first service that fails
 */
export async function buildServices(services: ServiceConfig[], ctx: BuildContext): Promise<Service[]> {
  const out: Service[] = [];
  try {
    for (const [i, cfg] of services.entries()) out.push(await buildService(cfg, i, ctx));
  } catch (err) {
    await Promise.all(out.map((s) => s.close()));
    throw err;
  }
  return out;
}
