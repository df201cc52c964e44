/**
 * What a plugin type's registration says about it, so core/ never names a protocol: config building, the CLI and
 * the runtime ask a type's capabilities and hints (`reg.handlers.info("http")?.openProxy`) instead of comparing
 * type names. A protocol or transport is added by a folder under handlers/ or listeners/ whose `register()` passes
 * these next to its factory; nothing under core/ changes.
 *
 * The CLI hints mirror GOST's `-L`/`-F` rules (README, "Command line"): the default types, `-L ssu://` on a UDP
 * listener, `-L rtcp://:2222/host:22` taking the chain on its listener, a `-L` URL with targets becoming a
 * forwarding service.
 * @module
 */

/** What a listener type's registration says about it. */
export interface ListenerInfo {
  /** The listener of a service whose config names none, and of a `-L` scheme that names no GOST listener (`tcp`). */
  readonly fallback?: boolean;
  /** Terminates TLS itself: takes `listener.tls` (and the global `tls` block); the others warn and ignore it. */
  readonly tls?: boolean;
  /** Carries datagrams (per-peer sessions), not byte streams. */
  readonly datagram?: boolean;
  /**
   * Listens at the far end of the service's chain (remote port forwarding, `rtcp`/`rudp`): the CLI gives `-F`'s
   * chain to the listener (`listener.chain`) instead of the handler.
   */
  readonly remote?: boolean;
  /** Binds no address (standard input/output): a service of it needs no `addr`. */
  readonly addressless?: boolean;
  /** Takes the URL's user info as `listener.auth` instead of `handler.auth` (GOST's ssh/sshd). */
  readonly auth?: boolean;
  /**
   * The handler a `-L` URL with targets (a path) gets on this listener, as GOST's CLI (`tcp://:2222/host:22` →
   * handler `tcp`); a listener without one gets the handler registered with `forwardDefault`.
   */
  readonly forwardHandler?: string;
}

/** What a handler type's registration says about it. */
export interface HandlerInfo {
  /** The handler of a service whose config names none, and of a `-L` scheme that names no GOST handler (`auto`). */
  readonly fallback?: boolean;
  /**
   * Proxies to targets its clients choose: by default clients may not reach this process's own listeners (unless
   * `allowSelfTarget` or forwarder nodes), and a bind beyond loopback without authentication is warned about.
   */
  readonly openProxy?: boolean;
  /**
   * Serves this instance's Web API: a bind beyond loopback without authentication is warned about (anyone reaching
   * it can reconfigure the process), and the runtime keeps services that fail to start, for the API to show.
   */
  readonly admin?: boolean;
  /** The listener a `-L` URL of this scheme gets when the scheme names no GOST listener (GOST: `ssu` → `udp`). */
  readonly defaultListener?: string;
  /** Serves forwarder nodes itself: a `-L` URL with targets keeps this handler (GOST: `relay`). */
  readonly keepsTargets?: boolean;
  /**
   * Applies the service bypass itself, to what its clients ask rather than to where it dials (GOST's dns handler
   * answers a bypassed name empty): its router is built without the bypass and it gets it as `HandlerOptions.bypass`.
   */
  readonly ownBypass?: boolean;
  /**
   * Routes by the forwarder nodes' reverse-proxy settings (`filter`, `http`, `tls`: GOST's `sniffing`); a service of
   * another handler whose nodes set them is refused, naming the field.
   */
  readonly nodeRoutes?: boolean;
  /** A `-L` URL's user name without a password may be SIP002's base64 of `method:password` (Shadowsocks). */
  readonly base64UserInfo?: boolean;
  /**
   * The handler a `-L` URL with targets gets when neither its handler keeps targets nor its listener names a
   * `forwardHandler` (GOST: `forward`).
   */
  readonly forwardDefault?: boolean;
}

/** What a dialer type's registration says about it. */
export interface DialerInfo {
  /** The dialer of a node whose config names none, and of a `-F` scheme that names no GOST dialer (`tcp`). */
  readonly fallback?: boolean;
  /** Runs TLS itself: the CLI gives it the node URL's TLS keys and server name (`dialer.tls`). */
  readonly tls?: boolean;
  /** Takes the URL's user info as `dialer.auth` instead of `connector.auth` (GOST's ssh/sshd). */
  readonly auth?: boolean;
  /**
   * Opens nothing to the node (GOST's `direct`/`virtual`): a node with it needs no `addr`, the router skips its
   * first-node checks, and its connector must reach the target itself (a connector registered `addressless`).
   */
  readonly addressless?: boolean;
}

/** What a connector type's registration says about it. */
export interface ConnectorInfo {
  /** The connector of a node whose config names none, and of a `-F` scheme that names no GOST connector (`http`). */
  readonly fallback?: boolean;
  /** The dialer a `-F` URL of this scheme gets when the scheme names no GOST dialer (GOST: `ssu` → `udp`). */
  readonly defaultDialer?: string;
  /** A `-F` URL's user name without a password may be SIP002's base64 of `method:password` (Shadowsocks). */
  readonly base64UserInfo?: boolean;
  /**
   * Ignores the conn its dialer opened and dials the target from this host itself, through the router's direct
   * dial (GOST's `direct`/`virtual`): a node of it needs no `addr`, and takes an `addressless` dialer when its config
   * names none.
   */
  readonly addressless?: boolean;
}

/** Looks up what registrations say: the part of a registry config building and the CLI read. */
export interface InfoLookup<I> {
  /** The registered names, in registration order. */
  names(): string[];
  /** What the registration of `name` says, or undefined (unregistered, or registered without info). */
  info(name: string): I | undefined;
}

/** The info lookups of the four plugin registries (a `Registries` is one). */
export interface PluginInfo {
  /** Listener types. */
  readonly listeners: InfoLookup<ListenerInfo>;
  /** Handler types. */
  readonly handlers: InfoLookup<HandlerInfo>;
  /** Dialer types. */
  readonly dialers: InfoLookup<DialerInfo>;
  /** Connector types. */
  readonly connectors: InfoLookup<ConnectorInfo>;
}

/**
 * The first registered name whose info has `flag` set (registration order), or undefined.
 * @example fallbackOf(reg.listeners) // "tcp" with the built-ins
 */
export function fallbackOf<I extends { readonly fallback?: boolean }>(lookup: InfoLookup<I>): string | undefined {
  return lookup.names().find((n) => lookup.info(n)?.fallback);
}

/** The first registered name whose info satisfies `test` (registration order), or undefined. */
export function findType<I>(lookup: InfoLookup<I>, test: (info: I) => boolean | undefined): string | undefined {
  return lookup.names().find((n) => {
    const i = lookup.info(n);
    return i !== undefined && Boolean(test(i));
  });
}
