/**
 * Loops between services of one process (`A -F B` and `B -F A`): every TCP conn a service's router opens to a
 * service of this process (only those can come back to it) is tagged, by its local address, with the services the
 * request passed through on its way (its trail). A service serving a
 * conn from such an address inherits the trail; when its own name is in it, its router refuses to dial (the loop is
 * cut at its first repeat: the client gets 502 at once instead of a snowball of conns). A tag lives as long as the
 * conn: it is removed when the conn is closed.
 *
 * Both ends of the conn are in one event loop, so the accepting service may read its client's address before the
 * dialing side has tagged the conn. The trail is therefore read when the service dials (after reading its client's
 * request), and a service whose local client has no tag waits for this process's connects still in flight to its
 * port (they settle after tagging) before deciding.
 * @module
 */
import { addrString, type Conn } from "../conn.ts";
import { isLocalIP } from "./local_addrs.ts";
import { canonicalHost } from "./canonical_host.ts";

/** The services a request passed through, oldest first. */
export type Trail = readonly string[];

/** Local address (`ip:port`) of each open conn a router tagged → its trail. */
const trails = new Map<string, Trail>();
/** Port → the connects of this process to it in flight (each settles once its conn is tagged). */
const connecting = new Map<number, Set<Promise<unknown>>>();
/** Most tags kept at once (a conn never closed must not grow the map without end): the oldest go first. */
const MAX_TRAILS = 65_536;
/** The longest wait for connects in flight to a service's port (they have reached the kernel: this is a backstop). */
const CONNECTING_WAIT_MS = 1_000;

/** The keys a conn's local address is found under: `ip:port`, and `[::ffff:ip]:port` for IPv4 (dual-stack peers). */
function keys(local: Deno.Addr): string[] {
  if (local.transport !== "tcp") return [];
  const k = addrString(local);
  return local.hostname.includes(":") ? [k] : [k, `[::ffff:${local.hostname}]:${local.port}`];
}

/**
 * Tags `conn` with `trail` until it is closed (its `close` removes the tag, then closes it).
 * @example tagConn(conn, ["service-0"]);
 */
export function tagConn(conn: Conn, trail: Trail): void {
  let ks: string[];
  try {
    ks = keys(conn.localAddr);
  } catch {
    return; // already closed
  }
  if (!ks.length) return;
  while (trails.size + ks.length > MAX_TRAILS) trails.delete(trails.keys().next().value!);
  for (const k of ks) trails.set(k, trail);
  const close = conn.close;
  // an own property in front of the method: no wrapper on the data path
  (conn as { close(): void }).close = function (this: Conn) {
    for (const k of ks) if (trails.get(k) === trail) trails.delete(k);
    return close.call(this);
  };
}

/**
 * Opens a conn with `open` and tags it with `trail`, registered meanwhile as a connect in flight to `port` when
 * `host` (the target, a name or an IP) may be this host, so that a service of this process accepting it waits
 * for the tag ({@link trailOf}).
 */
export async function openTagged<T extends Conn>(
  host: string,
  port: number,
  trail: Trail,
  open: () => Promise<T>,
): Promise<T> {
  const c = canonicalHost(host);
  if (c.ip && !isLocalIP(c.host)) {
    const conn = await open();
    tagConn(conn, trail);
    return conn;
  }
  let set = connecting.get(port);
  if (!set) connecting.set(port, set = new Set());
  const p = open().then((conn) => {
    tagConn(conn, trail);
    return conn;
  });
  set.add(p);
  try {
    return await p;
  } finally {
    set.delete(p);
    if (!set.size && connecting.get(port) === set) connecting.delete(port);
  }
}

/**
 * The trail of the conn a service serves: the tag of its client's address (`src`), when one of this process's
 * routers opened that conn. A client on this host with no tag yet is waited for while connects of this process to
 * the service's `port` are in flight.
 * @returns the trail, undefined for an outside client (or a promise of either)
 * @example const trail = await trailOf(ctx.src, 8080);
 */
export function trailOf(
  src: string | undefined,
  port: number | undefined,
): Trail | undefined | Promise<Trail | undefined> {
  if (!src) return undefined;
  const t = trails.get(src);
  if (t || port === undefined) return t;
  const pending = connecting.get(port);
  if (!pending?.size) return undefined;
  const host = src.startsWith("[") ? src.slice(1, src.indexOf("]")) : src.slice(0, src.lastIndexOf(":"));
  if (!isLocalIP(canonicalHost(host).host)) return undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    Promise.allSettled([...pending]),
    new Promise((resolve) => timer = setTimeout(resolve, CONNECTING_WAIT_MS)),
  ]).then(() => {
    clearTimeout(timer);
    return trails.get(src);
  });
}

/** The number of tagged conns (for tests). */
export function taggedConns(): number {
  return trails.size;
}
