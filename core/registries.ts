/**
 * The set of registries one gost.ts instance uses: plugin types (factories) and live named objects, which
 * services look up by name at use so the API can replace them without restarting anything (GOST's late binding).
 * @module
 */
import type { ConnectorFactory, DialerFactory, HandlerFactory, ListenerFactory } from "./plugin.ts";
import { Registry } from "./registry.ts";
import type { Authenticator } from "./routing/auth.ts";
import type { AdmissionChecker } from "./routing/admission.ts";
import type { BypassChecker } from "./routing/bypass.ts";
import type { Chain, Hop } from "./routing/chain.ts";
import type { HostMapper } from "./routing/hosts.ts";
import type { Resolver } from "./routing/resolver.ts";
import type { ServiceStatus } from "./service/status.ts";
import type { Stats } from "./service/stats.ts";

/** What the registry keeps of a service: a running one or one that failed to start. */
export interface ManagedService {
  readonly name: string;
  readonly status: ServiceStatus;
  readonly stats: Stats | undefined;
  /** The bound address, once listening (the router's loop check compares chain nodes with it). */
  readonly addr?: Deno.Addr;
  /** The status object GOST's API returns (with stats when enabled). */
  statusJSON(): Record<string, unknown>;
  close(): Promise<void>;
}

/** Every registry of one instance. */
export interface Registries {
  readonly listeners: Registry<ListenerFactory>;
  readonly handlers: Registry<HandlerFactory>;
  readonly dialers: Registry<DialerFactory>;
  readonly connectors: Registry<ConnectorFactory>;
  readonly services: Registry<ManagedService>;
  readonly chains: Registry<Chain>;
  readonly hops: Registry<Hop>;
  readonly authers: Registry<Authenticator>;
  readonly bypasses: Registry<BypassChecker>;
  readonly admissions: Registry<AdmissionChecker>;
  readonly hosts: Registry<HostMapper>;
  readonly resolvers: Registry<Resolver>;
}

/** Fresh, empty registries (tests build their own). */
export function createRegistries(): Registries {
  return {
    listeners: new Registry<ListenerFactory>("listener"),
    handlers: new Registry<HandlerFactory>("handler"),
    dialers: new Registry<DialerFactory>("dialer"),
    connectors: new Registry<ConnectorFactory>("connector"),
    services: new Registry<ManagedService>("service"),
    chains: new Registry<Chain>("chain"),
    hops: new Registry<Hop>("hop"),
    authers: new Registry<Authenticator>("auther"),
    bypasses: new Registry<BypassChecker>("bypass"),
    admissions: new Registry<AdmissionChecker>("admission"),
    hosts: new Registry<HostMapper>("hosts"),
    resolvers: new Registry<Resolver>("resolver"),
  };
}
