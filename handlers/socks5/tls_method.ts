/**
 * TLS client over any {@link Conn}, for GOST's SOCKS5 methods 0x80/0x82 (docs/wire.md, "SOCKS5 TLS methods"): the TLS
 * handshake runs on the conn that already carried the greeting. `Deno.startTls` only takes a `Deno.TcpConn`, and the
 * conn may be a PrefixConn or a stream through earlier hops, so this uses `node:tls` over a Duplex that reads and
 * writes the conn. Not on the hot path of plain SOCKS: only conns whose server picked a TLS method go through it.
 * @module
 */
import { Buffer } from "node:buffer";
import { Duplex } from "node:stream";
import * as tls from "node:tls";
import { closeQuietly, type Conn, writeFull } from "../../core/conn.ts";
import { ConfigError, errorMessage, HandshakeError } from "../../core/errors.ts";
import type { ClientTlsOptions } from "../../core/contracts.ts";
import { parseIPv4, parseIPv6 } from "../../core/ip.ts";

/** TLS settings resolved once in `init()` (files read). */
export interface TlsClientConfig {
  /** Verify the server certificate (GOST skips verification unless `secure`). */
  rejectUnauthorized: boolean;
  /** SNI and verified name; never an IP literal. */
  servername?: string;
  ca?: string;
  cert?: string;
  key?: string;
}

/**
 * Reads the files of a node's TLS options.
 * @throws {ConfigError} naming the file when it cannot be read
 */
export async function loadTlsClientConfig(o: ClientTlsOptions | undefined): Promise<TlsClientConfig> {
  const read = async (key: string, path: string | undefined) => {
    if (!path) return undefined;
    try {
      return await Deno.readTextFile(path);
    } catch (err) {
      throw new ConfigError(`Cannot read tls ${key} "${path}": ${errorMessage(err)}`, { cause: err });
    }
  };
  const name = o?.serverName;
  return {
    rejectUnauthorized: o?.secure ?? false,
    servername: name && !parseIPv4(name) && !parseIPv6(name) ? name : undefined,
    ca: await read("caFile", o?.caFile),
    cert: await read("certFile", o?.certFile),
    key: await read("keyFile", o?.keyFile),
  };
}

/**
 * A node Duplex over a conn: reads are pulled on demand (back-pressure), writes loop until complete, `end()`
 * half-closes, `destroy()` closes the conn.
 */
export function connDuplex(conn: Conn): Duplex {
  const buf = new Uint8Array(16 * 1024);
  let reading = false;
  const d: Duplex = new Duplex({
    read() {
      if (reading) return;
      reading = true;
      const pull = (): void => {
        conn.read(buf).then((n) => {
          if (n === null) {
            reading = false;
            d.push(null);
          } else if (n === 0) {
            pull();
          } else if (d.push(Buffer.from(buf.subarray(0, n)))) {
            pull();
          } else {
            reading = false;
          }
        }, (err) => {
          reading = false;
          d.destroy(err);
        });
      };
      pull();
    },
    write(chunk: Uint8Array, _enc, cb) {
      writeFull(conn, chunk).then(() => cb(), cb);
    },
    final(cb) {
      conn.closeWrite().then(() => cb(), cb);
    },
    destroy(err, cb) {
      closeQuietly(conn);
      cb(err);
    },
  });
  // the TLS socket reports failures; an error after it is gone must not become an uncaught exception
  d.on("error", () => {});
  return d;
}

/** Most bytes buffered from the socket before it is paused. */
const HIGH_WATER = 256 * 1024;

/** A {@link Conn} over a node socket (here a TLSSocket); addresses are the raw conn's. */
export class NodeSocketConn implements Conn {
  readonly #sock: tls.TLSSocket;
  readonly #raw: Conn;
  readonly #chunks: Uint8Array[] = [];
  #queued = 0;
  #eof = false;
  #closed = false;
  #error: Error | null = null;
  #wake: (() => void) | null = null;

  constructor(sock: tls.TLSSocket, raw: Conn) {
    this.#sock = sock;
    this.#raw = raw;
    sock.on("data", (chunk: Uint8Array) => {
      this.#chunks.push(chunk);
      this.#queued += chunk.length;
      if (this.#queued >= HIGH_WATER) sock.pause();
      this.#notify();
    });
    sock.on("end", () => this.#finish());
    sock.on("close", () => this.#finish());
    sock.on("error", (err: Error) => {
      this.#error ??= err;
      this.#notify();
    });
  }

  get localAddr(): Deno.Addr {
    return this.#raw.localAddr;
  }
  get remoteAddr(): Deno.Addr {
    return this.#raw.remoteAddr;
  }

  #finish(): void {
    this.#eof = true;
    this.#notify();
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  async read(p: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#closed) throw new Deno.errors.BadResource("Conn closed");
      if (this.#error) throw this.#error;
      if (this.#eof) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    let n = 0;
    while (n < p.length && this.#chunks.length) {
      const c = this.#chunks[0];
      const k = Math.min(c.length, p.length - n);
      p.set(c.subarray(0, k), n);
      n += k;
      if (k === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(k);
    }
    this.#queued -= n;
    if (this.#queued < HIGH_WATER && this.#sock.isPaused()) this.#sock.resume();
    return n;
  }

  write(p: Uint8Array): Promise<number> {
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("Conn closed"));
    if (this.#error) return Promise.reject(this.#error);
    return new Promise((resolve, reject) => {
      this.#sock.write(p, (err) => err ? reject(err) : resolve(p.length));
    });
  }

  /** Sends close_notify and half-closes the raw conn; resolves at once when the socket is already gone. */
  closeWrite(): Promise<void> {
    if (this.#sock.destroyed || this.#sock.writableFinished) return Promise.resolve();
    return new Promise((resolve) => {
      this.#sock.once("close", resolve);
      this.#sock.end(() => {
        this.#sock.off("close", resolve);
        resolve();
      });
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sock.destroy();
    closeQuietly(this.#raw);
    this.#notify();
  }
}

/**
 * Runs a TLS client handshake over `conn` and returns the encrypted conn.
 * @throws {HandshakeError} when the handshake fails (the raw conn is closed)
 */
export function startTls(conn: Conn, cfg: TlsClientConfig, server: string): Promise<Conn> {
  const sock = tls.connect({
    socket: connDuplex(conn),
    rejectUnauthorized: cfg.rejectUnauthorized,
    servername: cfg.servername,
    ca: cfg.ca,
    cert: cfg.cert,
    key: cfg.key,
  });
  return new Promise<Conn>((resolve, reject) => {
    const fail = (why: string, cause?: unknown) => {
      cleanup();
      sock.on("error", () => {});
      sock.destroy();
      closeQuietly(conn);
      reject(new HandshakeError(`TLS handshake with ${server} failed: ${why}`, { cause }));
    };
    const onError = (err: Error) => fail(err.message, err);
    const onClose = () => fail("connection closed");
    const onSecure = () => {
      cleanup();
      resolve(new NodeSocketConn(sock, conn));
    };
    const cleanup = () => {
      sock.off("error", onError);
      sock.off("close", onClose);
      sock.off("secureConnect", onSecure);
    };
    sock.on("error", onError);
    sock.on("close", onClose);
    sock.on("secureConnect", onSecure);
  });
}
