/**
 * The connection contract: read/write with half-close, which `Deno.Conn` already fits. Streams are not used on
 * the data path: reading `conn.readable` to EOF or closing `conn.writable` closes the whole socket in Deno.
 * @module
 */

/** `tcp` or `udp`: what a handler asks the router to dial. */
export type Network = "tcp" | "udp";

/** A bidirectional byte connection. For datagram conns each read returns one datagram, each write sends one. */
export interface Conn {
  /** The local end's address. */
  readonly localAddr: Deno.Addr;
  /** The peer's address. */
  readonly remoteAddr: Deno.Addr;
  /** Reads into `p`; resolves with the count read, or null at EOF (for a datagram conn: one datagram). */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes from `p`; resolves with the count written, which may be short (see {@link writeFull}). */
  write(p: Uint8Array): Promise<number>;
  /** Shuts down the write side (half-close). */
  closeWrite(): Promise<void>;
  /** Closes both directions and releases the conn; further reads and writes fail. */
  close(): void;
  /** True for datagram conns (one read = one datagram); absent or false for byte streams. */
  readonly datagram?: boolean;
  /**
   * Datagram conns offer this: the next datagram whole (`null` at the end), valid until the next call. A relay
   * then holds no buffer of its own per session and direction (docs/architecture.md, "Datagram sessions").
   */
  readDatagram?(): Promise<Uint8Array | null>;
}

/** The largest UDP payload, the size of a buffer that any datagram fits in. */
export const MAX_DATAGRAM_SIZE = 65_535;

/**
 * The next datagram of a datagram conn: through its {@link Conn.readDatagram} when it has one, else read into a
 * fresh buffer that fits any datagram.
 */
export async function nextDatagram(conn: Conn): Promise<Uint8Array | null> {
  if (conn.readDatagram) return conn.readDatagram();
  const buf = new Uint8Array(MAX_DATAGRAM_SIZE);
  const n = await conn.read(buf);
  return n === null ? null : buf.subarray(0, n);
}

/** Formats an address as `host:port` (IPv6 in brackets), or the path of a unix socket. */
export function addrString(addr: Deno.Addr): string {
  if (addr.transport === "tcp" || addr.transport === "udp") return joinHostPort(addr.hostname, addr.port);
  return (addr as Deno.UnixAddr).path ?? "";
}

/**
 * Joins a host and port, bracketing IPv6 literals. One flat string (joined, not concatenated): connections keep
 * their addresses for their whole life.
 */
export function joinHostPort(host: string, port: number | string): string {
  return host.includes(":") ? ["[", host, "]:", port].join("") : [host, port].join(":");
}

/**
 * Splits `host:port`, `[v6]:port` or `:port` into its parts. An empty host stays empty.
 * @throws {Error} when there is no valid port
 */
export function splitHostPort(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]*)\]|([^:]*)):(\d{1,5})$/.exec(addr) ?? /^([^\]]*?):(\d{1,5})$/.exec(addr);
  if (!m) throw new Error(`Invalid address "${addr}": expected host:port`);
  const host = m.length === 4 ? (m[1] ?? m[2] ?? "") : m[1];
  const port = Number(m.length === 4 ? m[3] : m[2]);
  if (port > 65535) throw new Error(`Invalid port in "${addr}"`);
  return { host, port };
}

/** Tells whether a bind host is loopback only. */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" || /^127\./.test(hostname);
}

/** Closes a conn, listener or socket, ignoring "already closed". */
export function closeQuietly(c: { close(): void } | undefined | null): void {
  try {
    c?.close();
  } catch {
    // already closed
  }
}

/** Writes all of `p`, looping over short writes. */
export async function writeFull(conn: Conn, p: Uint8Array): Promise<void> {
  let off = 0;
  while (off < p.length) off += await conn.write(off === 0 ? p : p.subarray(off));
}

/**
 * A conn that delegates everything to `inner`; wrappers extend it and override what they change.
 */
export class ConnWrapper implements Conn {
  /** The wrapped conn. */
  readonly inner: Conn;
  /** Wraps `inner`. */
  constructor(inner: Conn) {
    this.inner = inner;
  }
  /** The inner conn's local address. */
  get localAddr(): Deno.Addr {
    return this.inner.localAddr;
  }
  /** The inner conn's peer address. */
  get remoteAddr(): Deno.Addr {
    return this.inner.remoteAddr;
  }
  get datagram(): boolean | undefined {
    return this.inner.datagram;
  }
  /** Reads from the inner conn. */
  read(p: Uint8Array): Promise<number | null> {
    return this.inner.read(p);
  }
  /** The inner conn's next datagram (see {@link nextDatagram}). */
  readDatagram(): Promise<Uint8Array | null> {
    return nextDatagram(this.inner);
  }
  /** Writes to the inner conn. */
  write(p: Uint8Array): Promise<number> {
    return this.inner.write(p);
  }
  closeWrite(): Promise<void> {
    return this.inner.closeWrite();
  }
  /** Closes the inner conn. */
  close(): void {
    this.inner.close();
  }
}

/**
 * A conn that first returns bytes already read from the underlying conn (after sniffing or a handshake),
 * then reads through.
 */
export class PrefixConn extends ConnWrapper {
  #prefix: Uint8Array | null;
  /** Reads return `prefix` first, then what `inner` reads. */
  constructor(inner: Conn, prefix: Uint8Array) {
    super(inner);
    this.#prefix = prefix.length ? prefix : null;
  }
  /** Returns the rest of the prefix first, then reads through. */
  override read(p: Uint8Array): Promise<number | null> {
    const pre = this.#prefix;
    if (!pre) return this.inner.read(p);
    const n = Math.min(p.length, pre.length);
    p.set(pre.subarray(0, n));
    this.#prefix = n < pre.length ? pre.subarray(n) : null;
    return Promise.resolve(n);
  }
  /** On a datagram conn the prefix is one datagram, returned first. */
  override readDatagram(): Promise<Uint8Array | null> {
    const pre = this.#prefix;
    if (!pre) return nextDatagram(this.inner);
    this.#prefix = null;
    return Promise.resolve(pre);
  }
}
