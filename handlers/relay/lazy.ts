/**
 * The relay protocol's lazy headers (docs/wire.md, "Relay lazy headers"): the server holds its OK response back until
 * the first bytes it sends to the client, the client holds its request back until the first bytes it sends to the
 * server and checks the response on its first read.
 * @module
 */
import { HandshakeReader } from "../../core/bufio.ts";
import { type Conn, writeFull } from "../../core/conn.ts";
import { AuthError, DialError, HandshakeError, PolicyError, TimeoutError } from "../../core/errors.ts";
import { describeStatus, readResponse, Status } from "./wire.ts";

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * Server side: prepends a held-back response to the first write (one packet, as GOST does). A half-close before
 * anything was written still sends the response first, so the client reads OK then EOF instead of a bare EOF.
 */
export class LazyResponseConn implements Conn {
  readonly #inner: Conn;
  #header: Uint8Array | null;

  constructor(inner: Conn, header: Uint8Array) {
    this.#inner = inner;
    this.#header = header;
  }
  get localAddr(): Deno.Addr {
    return this.#inner.localAddr;
  }
  get remoteAddr(): Deno.Addr {
    return this.#inner.remoteAddr;
  }
  read(p: Uint8Array): Promise<number | null> {
    return this.#inner.read(p);
  }
  write(p: Uint8Array): Promise<number> {
    return this.#header ? this.#writeFirst(p) : this.#inner.write(p);
  }
  async #writeFirst(p: Uint8Array): Promise<number> {
    const h = this.#header!;
    this.#header = null;
    await writeFull(this.#inner, concat(h, p));
    return p.length;
  }
  async closeWrite(): Promise<void> {
    const h = this.#header;
    this.#header = null;
    if (h) await writeFull(this.#inner, h);
    await this.#inner.closeWrite();
  }
  close(): void {
    this.#inner.close();
  }
}

/**
 * The error a client reports for a non-OK status: Unauthorized → {@link AuthError}, Forbidden →
 * {@link PolicyError}, Host/Network Unreachable → {@link DialError} naming `target`, Timeout → {@link TimeoutError},
 * anything else → {@link HandshakeError}.
 */
export function statusError(status: number, target: string, server: string): Error {
  const what = `Relay server ${server} answered ${describeStatus(status)}`;
  switch (status) {
    case Status.Unauthorized:
      return new AuthError(`${what}: credentials refused`);
    case Status.Forbidden:
      return new PolicyError(`${what} for ${target}`);
    case Status.HostUnreachable:
    case Status.NetworkUnreachable:
      return new DialError(target, `${what}: cannot reach ${target}`);
    case Status.Timeout:
      return new TimeoutError(`${what} for ${target}`);
    default:
      return new HandshakeError(`${what} for ${target}`);
  }
}

/** Options of a {@link LazyRequestConn}. */
export interface LazyRequestOptions {
  /** The target, for error messages. */
  target: string;
  /** The relay server, for error messages. */
  server: string;
  /**
   * How long a read waiting for the response lets the held request wait for a first write before sending it
   * alone (server-speaks-first protocols); 0 = forever, as GOST does.
   */
  flushAfterMs: number;
}

/**
 * Client side: the request goes out with the first write (or alone, see {@link LazyRequestOptions.flushAfterMs});
 * the first read checks the response and fails with {@link statusError} when it is not OK.
 */
export class LazyRequestConn implements Conn {
  readonly #inner: Conn;
  readonly #opts: LazyRequestOptions;
  #request: Uint8Array | null;
  #flushing: Promise<void> | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #response: Promise<void> | null = null;
  #checked = false;
  #rest: Uint8Array | null = null;

  constructor(inner: Conn, request: Uint8Array, opts: LazyRequestOptions) {
    this.#inner = inner;
    this.#request = request;
    this.#opts = opts;
  }
  get localAddr(): Deno.Addr {
    return this.#inner.localAddr;
  }
  get remoteAddr(): Deno.Addr {
    return this.#inner.remoteAddr;
  }

  /** Sends the held request now, alone (no-op once sent). */
  flush(): Promise<void> {
    const req = this.#request;
    if (req) {
      this.#request = null;
      this.#clearTimer();
      const sending: Promise<void> = writeFull(this.#inner, req).then(() => {
        if (this.#flushing === sending) this.#flushing = null;
      });
      this.#flushing = sending;
    }
    return this.#flushing ?? Promise.resolve();
  }

  /** Sends the request if held, then waits for an OK response. @throws the {@link statusError} */
  async handshake(): Promise<void> {
    await this.flush();
    await this.#check();
  }

  write(p: Uint8Array): Promise<number> {
    return this.#request || this.#flushing ? this.#writeFirst(p) : this.#inner.write(p);
  }

  /** The first write carries the held request (or waits for it to be sent alone). */
  async #writeFirst(p: Uint8Array): Promise<number> {
    if (this.#flushing) await this.#flushing;
    const req = this.#request;
    if (!req) return await this.#inner.write(p);
    this.#request = null;
    this.#clearTimer();
    await writeFull(this.#inner, concat(req, p));
    return p.length;
  }

  read(p: Uint8Array): Promise<number | null> {
    return this.#checked && !this.#rest ? this.#inner.read(p) : this.#readFirst(p);
  }

  /** The first reads check the response, then return bytes that came with it. */
  async #readFirst(p: Uint8Array): Promise<number | null> {
    if (!this.#checked) await this.#check();
    const rest = this.#rest;
    if (!rest) return await this.#inner.read(p);
    const n = Math.min(p.length, rest.length);
    p.set(rest.subarray(0, n));
    this.#rest = n < rest.length ? rest.subarray(n) : null;
    return n;
  }

  /** Reads the response once; every caller sees the same outcome. */
  #check(): Promise<void> {
    this.#response ??= this.#readResponse();
    return this.#response;
  }

  async #readResponse(): Promise<void> {
    if (this.#request && this.#opts.flushAfterMs > 0) {
      this.#timer = setTimeout(() => this.flush().catch(() => {}), this.#opts.flushAfterMs);
    }
    try {
      const r = new HandshakeReader(this.#inner, 512);
      const resp = await readResponse(r);
      if (resp.status !== Status.OK) throw statusError(resp.status, this.#opts.target, this.#opts.server);
      this.#rest = r.buffered ? r.takeBuffered() : null;
      this.#checked = true;
    } finally {
      this.#clearTimer();
    }
  }

  async closeWrite(): Promise<void> {
    await this.flush();
    await this.#inner.closeWrite();
  }

  close(): void {
    this.#clearTimer();
    this.#inner.close();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
