/**
 * The set of registries one gost.ts instance uses: plugin types (factories) and live named objects, which
 * services look up by name at use so the API can replace them without restarting anything (GOST's late binding).
 * @module
 */
import type { ConnectorInfo, DialerInfo, HandlerInfo, ListenerInfo } from "./capabilities.ts";
import type { ConnectorFactory, DialerFactory, HandlerFactory, ListenerFactory } from "./contracts.ts";
import { Registry } from "./registry.ts";
import type { Authenticator } from "./routing/auth.ts";
import type { AdmissionChecker } from "./routing/admission.ts";
import type { BypassChecker } from "./routing/bypass.ts";
import type { Chain, Hop } from "./routing/chain.ts";
import type { HostTable } from "./routing/hosts.ts";
import type { Ingress } from "./routing/ingress.ts";
import type { ProcessSlots } from "./routing/process_slots.ts";
import type { Resolver } from "./routing/resolver.ts";
import type { ServiceStatus } from "./service/status.ts";
import type { Stats } from "./service/stats.ts";
import type { TunnelServerView } from "./service/tunnels.ts";

/** What the registry keeps of a service: a running one or one that failed to start. */
export interface ManagedService {
  /** The service's name. */
  readonly name: string;
  /** Its state and recent events. */
  readonly status: ServiceStatus;
  /** Its counters, when `enableStats` is set. */
  readonly stats: Stats | undefined;
  /** The bound address, once listening (the router's loop check compares chain nodes with it). */
  readonly addr?: Deno.Addr;
  /** The status object GOST's API returns (with stats when enabled). */
  statusJSON(): Record<string, unknown>;
  /** Stops the service; settles once it is down. */
  close(): Promise<void>;
}

/** Every registry of one instance. */
export interface Registries {
  /** Listener types, with what their registrations say (core/capabilities.ts). */
  readonly listeners: Registry<ListenerFactory, ListenerInfo>;
  /** Handler types, with what their registrations say. */
  readonly handlers: Registry<HandlerFactory, HandlerInfo>;
  /** Dialer types, with what their registrations say. */
  readonly dialers: Registry<DialerFactory, DialerInfo>;
  /** Connector types, with what their registrations say. */
  readonly connectors: Registry<ConnectorFactory, ConnectorInfo>;
  /** Live services by name. */
  readonly services: Registry<ManagedService>;
  /** Live chains by name. */
  readonly chains: Registry<Chain>;
  /** Live hops by name (the top-level `hops:`). */
  readonly hops: Registry<Hop>;
  /** Live authers by name. */
  readonly authers: Registry<Authenticator>;
  /** Live bypasses by name. */
  readonly bypasses: Registry<BypassChecker>;
  /** Live admissions by name. */
  readonly admissions: Registry<AdmissionChecker>;
  /** Live hosts mappers by name. */
  readonly hosts: Registry<HostTable>;
  /** Live resolvers by name. */
  readonly resolvers: Registry<Resolver>;
  /** Live ingresses by name (reverse-proxy tunnel routing). */
  readonly ingresses: Registry<Ingress>;
  /** Running tunnel servers by service name, for the Web API's `GET /tunnels`. */
  readonly tunnels: Registry<TunnelServerView>;
  /** What the process hands the plugins built from these registries (set by the app, read at each use). */
  readonly process: ProcessSlots;
}

/** Fresh, empty registries (tests build their own). */
export function createRegistries(): Registries {
  return {
    listeners: new Registry<ListenerFactory, ListenerInfo>("listener"),
    handlers: new Registry<HandlerFactory, HandlerInfo>("handler"),
    dialers: new Registry<DialerFactory, DialerInfo>("dialer"),
    connectors: new Registry<ConnectorFactory, ConnectorInfo>("connector"),
    services: new Registry<ManagedService>("service"),
    chains: new Registry<Chain>("chain"),
    hops: new Registry<Hop>("hop"),
    authers: new Registry<Authenticator>("auther"),
    bypasses: new Registry<BypassChecker>("bypass"),
    admissions: new Registry<AdmissionChecker>("admission"),
    hosts: new Registry<HostTable>("hosts"),
    resolvers: new Registry<Resolver>("resolver"),
    ingresses: new Registry<Ingress>("ingress"),
    tunnels: new Registry<TunnelServerView>("tunnel server"),
    process: {},
  };
}
