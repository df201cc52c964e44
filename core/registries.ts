/**
 * The set of registries one gost.ts instance uses: plugin types and live objects.
 * @module
 */
import type { ConnectorFactory, DialerFactory, HandlerFactory, ListenerFactory } from "./plugin.ts";
import { Registry } from "./registry.ts";
import type { Service } from "./service/service.ts";

/** Every registry of one instance. */
export interface Registries {
  readonly listeners: Registry<ListenerFactory>;
  readonly handlers: Registry<HandlerFactory>;
  readonly dialers: Registry<DialerFactory>;
  readonly connectors: Registry<ConnectorFactory>;
  readonly services: Registry<Service>;
}

/** Fresh, empty registries (tests build their own). */
export function createRegistries(): Registries {
  return {
    listeners: new Registry<ListenerFactory>("listener"),
    handlers: new Registry<HandlerFactory>("handler"),
    dialers: new Registry<DialerFactory>("dialer"),
    connectors: new Registry<ConnectorFactory>("connector"),
    services: new Registry<Service>("service"),
  };
}
