/**
 * Bridges between our {@link Conn} and `node:tls`, which carries every TLS conn of the `tls` transport (and of the SOCKS5
 * TLS methods, `handlers/socks5/tls_method.ts`): Deno's native
 * TLS cannot set TCP_NODELAY on its conns, skip certificate verification, send an SNI other than the dialed host,
 * run over a conn that is not a Deno TCP socket (chain hops), or request client certificates (mTLS).
 *
 * - {@link ConnDuplex} presents any Conn as the node Duplex that `node:tls` encrypts onto.
 * - {@link NodeTlsConn} presents the resulting `TLSSocket` as a Conn again (read/write/closeWrite/close).
 *
 * Backpressure is applied below TLS (the Duplex stops reading the inner conn while decrypted bytes wait), never by
 * pausing the TLSSocket: under Deno 2.9 a paused-then-resumed TLSSocket sometimes never emits `end`, which would
 * hang every relay over it.
 * @module
 */
import { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import { closeQuietly, type Conn } from "../../core/conn.ts";

/** Raw read buffer: one full TLS record (16 KiB + header and expansion) … */
const RAW_SMALL = 17 * 1024;
/**
 * … grown to many records while reads fill it (bulk traffic). Each raw chunk costs a trip through node's stream
 * machinery and the TLS engine: 256 KiB instead of 64 KiB took the tls, wss and mwss tunnels from about 4.3, 3.4 and 3.2
 * to 5.7, 4.3 and 3.5 Gbit/s (CPU per GiB down 15-25%, iperf3 through two of our processes on loopback); it shrinks
 * back after a short read, as before.
 */
const RAW_LARGE = 256 * 1024;
/** Decrypted bytes queued before the inner conn stops being read. */
const HIGH_WATER = 1024 * 1024;

/**
 * A node Duplex over a Conn: `_read` reads the inner conn (waiting while `gate` says the decrypted side is full),
 * `_write` writes it fully, `_final` half-closes it, `_destroy` closes it.
 */
export class ConnDuplex extends Duplex {
  readonly inner: Conn;
  #gate: (() => Promise<void> | null) | null = null;
  #buf = new Uint8Array(RAW_SMALL);

  constructor(inner: Conn) {
    super({ allowHalfOpen: true });
    this.inner = inner;
    // node:tls forwards socket errors itself; this listener keeps a late one from becoming an uncaught error.
    this.on("error", () => {});
  }

  /** Sets the check that delays raw reads while the reader side is full. */
  setGate(gate: () => Promise<void> | null): void {
    this.#gate = gate;
  }

  override _read(): void {
    this.#pull().catch((err) => this.destroy(err));
  }

  async #pull(): Promise<void> {
    const wait = this.#gate?.();
    if (wait) await wait;
    if (this.destroyed) return;
    const buf = this.#buf;
    const n = await this.inner.read(buf);
    if (this.destroyed) return;
    if (n === null) {
      this.push(null);
      return;
    }
    // node:tls keeps pushed chunks, so push a copy and reuse the buffer.
    this.push(buf.slice(0, n));
    if (n === buf.length && buf.length < RAW_LARGE) this.#buf = new Uint8Array(RAW_LARGE);
    else if (n < RAW_SMALL / 2 && buf.length > RAW_SMALL) this.#buf = new Uint8Array(RAW_SMALL);
  }

  override _write(chunk: Uint8Array, _enc: string, cb: (err?: Error | null) => void): void {
    writeAll(this.inner, chunk).then(() => cb(), cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.inner.closeWrite().then(() => cb(), cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    closeQuietly(this.inner);
    cb(err);
  }
}

async function writeAll(conn: Conn, p: Uint8Array): Promise<void> {
  let off = await conn.write(p);
  while (off < p.length) off += await conn.write(p.subarray(off));
}

/**
 * A Conn over a `TLSSocket` that runs on a {@link ConnDuplex}. The socket stays in flowing mode; decrypted chunks
 * queue here and `read` copies them out. `closeWrite` sends close_notify, then half-closes the inner conn.
 */
export class NodeTlsConn implements Conn {
  readonly #sock: TLSSocket;
  readonly #duplex: ConnDuplex;
  readonly #queue: Uint8Array[] = [];
  #queued = 0;
  #ended = false;
  #error: Error | null = null;
  #wakeReader: (() => void) | null = null;
  #wakeRaw: (() => void) | null = null;
  #rawWait: Promise<void> | null = null;
  readonly #writes = new Set<(err: Error) => void>();
  #closed = false;

  /** Takes over a connected (handshaken) socket and the duplex under it. */
  constructor(sock: TLSSocket, duplex: ConnDuplex) {
    this.#sock = sock;
    this.#duplex = duplex;
    duplex.setGate(() => this.#gate());
    sock.on("data", (chunk: Uint8Array) => {
      this.#queue.push(chunk);
      this.#queued += chunk.length;
      this.#wake();
    });
    sock.on("end", () => {
      this.#ended = true;
      this.#wake();
    });
    sock.on("error", (err: Error) => {
      this.#error ??= err;
      this.#wake();
    });
    sock.on("close", () => {
      this.#ended = true;
      this.#wake();
      this.#releaseRaw();
      this.#failWrites(this.#error ?? new Deno.errors.BrokenPipe("TLS conn closed"));
    });
    // Closed between the handshake and here: no `close` event is coming.
    if (sock.destroyed) this.#ended = true;
  }

  get localAddr(): Deno.Addr {
    return this.#duplex.inner.localAddr;
  }

  get remoteAddr(): Deno.Addr {
    return this.#duplex.inner.remoteAddr;
  }

  /** The ALPN protocol the handshake agreed on; "" when none. */
  get alpnProtocol(): string {
    return this.#sock.alpnProtocol || "";
  }

  /** The peer's certificate subject CN, when it sent one (mTLS). */
  get peerCommonName(): string | undefined {
    const cn = this.#sock.getPeerCertificate?.()?.subject?.CN;
    return Array.isArray(cn) ? cn[0] : cn || undefined;
  }

  #wake(): void {
    const w = this.#wakeReader;
    this.#wakeReader = null;
    w?.();
  }

  #gate(): Promise<void> | null {
    if (this.#queued < HIGH_WATER || this.#closed) return null;
    this.#rawWait ??= new Promise<void>((resolve) => this.#wakeRaw = resolve);
    return this.#rawWait;
  }

  #releaseRaw(): void {
    const w = this.#wakeRaw;
    this.#wakeRaw = null;
    this.#rawWait = null;
    w?.();
  }

  #failWrites(err: Error): void {
    for (const reject of this.#writes) reject(err);
    this.#writes.clear();
  }

  /** Like a Deno socket: EOF is `null`; a read pending or started after `close()` rejects with BadResource. */
  async read(p: Uint8Array): Promise<number | null> {
    for (;;) {
      if (this.#closed) throw new Deno.errors.BadResource("TLS conn is closed");
      if (this.#queue.length) {
        let n = 0;
        while (n < p.length && this.#queue.length) {
          const c = this.#queue[0];
          const k = Math.min(p.length - n, c.length);
          p.set(k === c.length ? c : c.subarray(0, k), n);
          n += k;
          if (k === c.length) this.#queue.shift();
          else this.#queue[0] = c.subarray(k);
        }
        this.#queued -= n;
        if (this.#wakeRaw && this.#queued < HIGH_WATER / 2) this.#releaseRaw();
        return n;
      }
      if (this.#error) throw this.#error;
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#wakeReader = resolve);
    }
  }

  write(p: Uint8Array): Promise<number> {
    if (this.#error) return Promise.reject(this.#error);
    if (this.#closed || this.#sock.destroyed) return Promise.reject(new Deno.errors.BadResource("TLS conn is closed"));
    // The callback fires once the chunk is encrypted and written below, so the caller may reuse `p` afterwards.
    return new Promise((resolve, reject) => {
      this.#writes.add(reject);
      this.#sock.write(p, (err?: Error | null) => {
        this.#writes.delete(reject);
        if (err) reject(err);
        else resolve(p.length);
      });
    });
  }

  /** Sends close_notify, then half-closes the inner conn. Settles early if the conn closes meanwhile. */
  async closeWrite(): Promise<void> {
    const sock = this.#sock, duplex = this.#duplex;
    if (this.#closed || sock.destroyed || sock.writableEnded) return;
    await ended(sock);
    if (!duplex.destroyed && !duplex.writableEnded) await ended(duplex);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sock.destroy();
    this.#duplex.destroy();
    this.#wake();
    this.#releaseRaw();
    this.#failWrites(new Deno.errors.BadResource("TLS conn is closed"));
  }
}

/** Ends a writable side: resolves on `finish`, or on `close`/`error` (the callback alone may never fire then). */
function ended(stream: Duplex): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      stream.off("close", done);
      stream.off("error", done);
      resolve();
    };
    stream.once("close", done);
    stream.once("error", done);
    stream.end(done);
  });
}
