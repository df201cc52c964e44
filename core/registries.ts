/**
 * The set of registries one gost.ts instance uses: plugin types (factories) and live named objects, which
 * services look up by name at use so the API can replace them without restarting anything (GOST's late binding).
 * @module
 */
import type { ConnectorFactory, DialerFactory, HandlerFactory, ListenerFactory } from "./plugin.ts";
import { Registry } from "./registry.ts";
import type { Authenticator } from "./routing/auth.ts";
import type { BypassChecker, Chain, Hop } from "./routing/chain.ts";
import type { ServiceStatus } from "./service/status.ts";
import type { Stats } from "./service/stats.ts";

/** What the registry keeps of a service: a running one or one that failed to start. */
export interface ManagedService {
  readonly name: string;
  readonly status: ServiceStatus;
  readonly stats: Stats | undefined;
  /** The status object GOST's API returns (with stats when enabled). */
  statusJSON(): Record<string, unknown>;
  close(): Promise<void>;
}

/** Allows or denies a client address (admission). */
export interface AdmissionChecker {
  admit(addr: string): boolean;
}

/** Static host → IP mappings. */
export interface HostLookup {
  lookup(network: string, host: string): string[];
}

/** DNS resolution through configured nameservers. */
export interface NameLookup {
  resolve(network: "ip" | "ip4" | "ip6", host: string): Promise<string[]>;
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
  readonly hosts: Registry<HostLookup>;
  readonly resolvers: Registry<NameLookup>;
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
    hosts: new Registry<HostLookup>("hosts"),
    resolvers: new Registry<NameLookup>("resolver"),
  };
}
