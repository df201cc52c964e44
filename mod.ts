/**
 * gost.ts as a library: the core types, the registries with every built-in protocol and transport, the config
 * loader and builder, and `run()` for a whole process. Live objects are found by name in the registries, e.g. the
 * reverse-proxy tunnel's ingresses (`reg.ingresses`) and its running tunnel servers (`reg.tunnels`, what the Web
 * API's `GET /tunnels` lists). A handler may keep counts of its own (`Handler.counters`: the DNS proxy's cache hits,
 * `gost_service_dns_cache_hits_total`), which its service's stats and the metrics show.
 *
 * @example
 * ```ts
 * import { buildServices, createBuiltinRegistries, nopLogger, parseConfig } from "./mod.ts";
 * const reg = createBuiltinRegistries();
 * const { config } = await parseConfig("services: [{name: s, addr: '127.0.0.1:8080'}]", "inline");
 * const [svc] = await buildServices(config.services!, { reg, logger: nopLogger });
 * svc.serve();
 * ```
 * @module
 */
import { createRegistries, type Registries } from "./core/registries.ts";
import { registerHandlers } from "./handlers/mod.ts";
import { registerListeners } from "./listeners/mod.ts";

export * from "./core/conn.ts";
export * from "./core/errors.ts";
export * from "./core/log.ts";
export * from "./core/metadata.ts";
export * from "./core/contracts.ts";
export * from "./core/capabilities.ts";
export * from "./core/registries.ts";
export * from "./core/relay.ts";
export * from "./core/routing/auth.ts";
export * from "./core/routing/node_group.ts";
export * from "./core/routing/router.ts";
export * from "./core/service/service.ts";
export * from "./core/service/stats.ts";
export * from "./core/service/status.ts";
export * from "./core/config/types.ts";
export * from "./core/config/schema.ts";
export { formatPath, lineOf, loadSource, mergeConfigs, parseConfig } from "./core/config/load.ts";
export { buildService, buildServices } from "./core/config/build.ts";
export { buildConfigFromCmd } from "./core/config/from_cli.ts";
export { parseFlags } from "./core/config/flags.ts";
export { resolveConfig } from "./core/config/resolve.ts";
export { formatConfig } from "./core/config/output.ts";
export { registerHandlers, registerListeners };
// Types the exports above name in their signatures (type-only: nothing more is loaded or run).
export type { Registry } from "./core/registry.ts";
export type { MuxSessions, SessionLease } from "./core/routing/mux_sessions.ts";
export type { Chain, ChainNode, ChainRoute, FirstNodeOpen, Hop, RouteStep } from "./core/routing/chain.ts";
export type { ChainGroup } from "./core/routing/chain_group.ts";
export type { ChainNodeRecorder } from "./core/routing/chain_metrics.ts";
export type { ProcessSlots } from "./core/routing/process_slots.ts";
export type { BypassChecker } from "./core/routing/bypass.ts";
export type { AdmissionChecker } from "./core/routing/admission.ts";
export type { HostMapper, HostTable } from "./core/routing/hosts.ts";
export type { Ingress, IngressRule, RawIngressRule } from "./core/routing/ingress.ts";
export type { TunnelClientInfo, TunnelInfo, TunnelServerView } from "./core/service/tunnels.ts";
export type { Resolver } from "./core/routing/resolver.ts";
export type { Hooks } from "./core/service/hooks.ts";
export type { BuildContext } from "./core/config/build.ts";
export type { ConfigPath, ConfigSource, LoadedConfig } from "./core/config/load.ts";
export type { Flags } from "./core/config/flags.ts";
export type { KnownTypes } from "./core/config/from_cli.ts";
export type { ResolvedConfig } from "./core/config/resolve.ts";
export type { LoggerSet, ServiceLoggerConfig } from "./core/loggers.ts";

/** Registers every built-in listener and handler type into `reg`. */
export function registerBuiltins(reg: Registries): void {
  registerListeners(reg);
  registerHandlers(reg);
}

/** Fresh registries with every built-in type registered. */
export function createBuiltinRegistries(): Registries {
  const reg = createRegistries();
  registerBuiltins(reg);
  return reg;
}
