/**
 * The plugin contracts: listeners accept conns, handlers speak a protocol on them, the router reaches targets.
 * @module
 */
import type { Conn, Network } from "./conn.ts";
import type { Logger } from "./log.ts";
import type { Metadata } from "./metadata.ts";
import type { Authenticator } from "./routing/auth.ts";
import type { NodeGroup } from "./routing/node_group.ts";

/** Options of one dial. */
export interface DialOptions {
  /** Aborts the dial (service close). */
  signal?: AbortSignal;
  /** The connection's logger, for route lines. */
  logger?: Logger;
}

/** Reaches targets: directly now; through hosts, resolver, bypass and chains as they are configured. */
export interface Router {
  /**
   * Opens a conn to `addr` (`host:port`). For `udp` the conn is a datagram conn to that one target.
   * @throws {DialError} naming the target when every attempt fails
   */
  dial(network: Network, addr: string, opts?: DialOptions): Promise<Conn>;
}

/** One accepted connection's facts (sing-box's inbound context). */
export interface ConnContext {
  /** Unique id of the connection, as GOST's `sid`. */
  readonly sid: string;
  /** The service's name. */
  readonly service: string;
  /** The client's address, `host:port`. */
  readonly src: string;
  /** Aborted when the service closes. */
  readonly signal: AbortSignal;
  /** The connection's child logger. */
  logger: Logger;
  /** The id the authenticator returned, once the client is authenticated. */
  clientId?: string;
  /** The target, once known. */
  dst?: string;
}

/** Options every listener receives. */
export interface ListenerOptions {
  /** `host:port` to bind (`:port` = all interfaces). */
  readonly addr: string;
  readonly logger: Logger;
  readonly service: string;
  readonly router: Router;
}

/** Accepts conns of one transport. */
export interface Listener {
  /** Binds; errors here fail the service. */
  init(md: Metadata): Promise<void>;
  /** The bound address (after init). */
  readonly addr: Deno.Addr;
  /** The next conn. Rejects with {@link ListenerClosedError} once closed. */
  accept(): Promise<Conn>;
  close(): void;
}

/** Options every handler receives. */
export interface HandlerOptions {
  readonly service: string;
  readonly logger: Logger;
  readonly router: Router;
  /** Client authentication, when configured. */
  readonly auth?: Authenticator;
  /** Fixed targets (forwarder nodes), for forwarding handlers. */
  readonly forwarder?: NodeGroup;
}

/** Speaks one protocol on accepted conns. A handler owns the conn and closes it before its promise settles. */
export interface Handler {
  init(md: Metadata): Promise<void>;
  handle(conn: Conn, ctx: ConnContext): Promise<void>;
  /** Releases shared resources at service close. */
  close?(): void;
}

/** Builds a listener. */
export type ListenerFactory = (opts: ListenerOptions) => Listener;
/** Builds a handler. */
export type HandlerFactory = (opts: HandlerOptions) => Handler;

/** Thrown by `accept()` after `close()`. */
export class ListenerClosedError extends Error {
  constructor() {
    super("Listener closed");
    this.name = "ListenerClosedError";
  }
}
