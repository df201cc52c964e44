/**
 * The gRPC observer plugin, wire-compatible with go-gost/plugin `observer/proto/observer.proto` (package `proto`,
 * unary `/proto.Observer/Observe`). The messages are small, so they are encoded here by hand (proto3 rules:
 * default scalars are left out, a present sub-message is always written); the transport is `@grpc/grpc-js`,
 * loaded on first use so processes without a gRPC plugin do not pay its ~150 ms load time.
 *
 * | message | fields |
 * |---|---|
 * | ObserveRequest | 1 events (repeated Event) |
 * | Event | 1 kind, 2 service, 3 client, 4 type (string); 5 stats (Stats); 6 status (ServiceStatus) |
 * | ServiceStatus | 1 state, 2 msg (string) |
 * | Stats | 1 totalConns, 2 currentConns, 3 inputBytes, 4 outputBytes, 5 totalErrs (uint64) |
 * | ObserveReply | 1 ok (bool) |
 *
 * The token goes in call metadata `token`, as GOST's per-RPC credentials send it.
 * @module
 */
import type { Buffer } from "node:buffer";
import { loadGrpc } from "../deps/grpc.ts";
import { errorMessage } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { Observer, ObserverEvent, PluginOptions } from "./observer.ts";

type Grpc = Awaited<ReturnType<typeof loadGrpc>>;
type GrpcClient = InstanceType<Grpc["Client"]>;

/** The full method name GOST's plugin servers register. */
export const OBSERVE_METHOD = "/proto.Observer/Observe";

const encoder = new TextEncoder();

/** A growable byte buffer with protobuf writers. */
class ProtoWriter {
  #buf = new Uint8Array(256);
  #len = 0;

  #ensure(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  varint(n: number): void {
    this.#ensure(10);
    let v = Math.max(0, Math.floor(n));
    while (v >= 0x80) {
      this.#buf[this.#len++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.#buf[this.#len++] = v;
  }

  bytes(p: Uint8Array): void {
    this.varint(p.length);
    this.#ensure(p.length);
    this.#buf.set(p, this.#len);
    this.#len += p.length;
  }

  /** A string field; empty strings are left out (proto3 default). */
  string(field: number, s: string | undefined): void {
    if (!s) return;
    this.varint((field << 3) | 2);
    this.bytes(encoder.encode(s));
  }

  /** A uint64 field; zero is left out (proto3 default). */
  uint64(field: number, n: number): void {
    if (!n) return;
    this.varint(field << 3);
    this.varint(n);
  }

  /** A sub-message field, written even when empty (it is present). */
  message(field: number, body: Uint8Array): void {
    this.varint((field << 3) | 2);
    this.bytes(body);
  }

  finish(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}

function encodeEvent(e: ObserverEvent): Uint8Array {
  const w = new ProtoWriter();
  w.string(1, e.kind);
  w.string(2, e.service);
  w.string(3, e.client);
  w.string(4, e.type);
  if (e.stats) {
    const s = new ProtoWriter();
    s.uint64(1, e.stats.totalConns);
    s.uint64(2, e.stats.currentConns);
    s.uint64(3, e.stats.inputBytes);
    s.uint64(4, e.stats.outputBytes);
    s.uint64(5, e.stats.totalErrs);
    w.message(5, s.finish());
  }
  if (e.status) {
    const s = new ProtoWriter();
    s.string(1, e.status.state);
    s.string(2, e.status.msg);
    w.message(6, s.finish());
  }
  return w.finish();
}

/**
 * Encodes an `ObserveRequest`.
 * @example encodeObserveRequest([]) // Uint8Array []
 */
export function encodeObserveRequest(events: ObserverEvent[]): Uint8Array {
  const w = new ProtoWriter();
  for (const e of events) w.message(1, encodeEvent(e));
  return w.finish();
}

/**
 * Decodes an `ObserveReply`, skipping unknown fields.
 * @returns the `ok` field (false when absent)
 * @throws {RangeError} on truncated or malformed bytes
 */
export function decodeObserveReply(p: Uint8Array): boolean {
  let i = 0;
  const varint = (): number => {
    let v = 0, mul = 1;
    for (;;) {
      if (i >= p.length) throw new RangeError("truncated varint");
      const b = p[i++];
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 0x80;
      if (mul > 2 ** 63) throw new RangeError("varint too long");
    }
  };
  let ok = false;
  while (i < p.length) {
    const key = varint();
    const field = Math.floor(key / 8), wire = key % 8;
    if (wire === 0) {
      const v = varint();
      if (field === 1) ok = v !== 0;
    } else if (wire === 1) i += 8;
    else if (wire === 2) {
      const len = varint(); // read before adding: `i += varint()` would add to the old i
      i += len;
    } else if (wire === 5) i += 4;
    else throw new RangeError(`unsupported wire type ${wire}`);
    if (i > p.length) throw new RangeError("truncated field");
  }
  return ok;
}

/**
 * The gRPC observer plugin.
 * @example
 * const obs = new GrpcObserver({ addr: "127.0.0.1:8000", token: "t", timeoutMs: 5000, logger });
 * await obs.observe(events); obs.close();
 */
export class GrpcObserver implements Observer {
  readonly addr: string;
  readonly #opts: PluginOptions;
  readonly #logger: Logger;
  #grpc: Grpc | null = null;
  #client: Promise<GrpcClient> | null = null;
  #closed = false;
  #buffer: { Buffer: typeof Buffer } | null = null;

  constructor(opts: PluginOptions) {
    this.addr = opts.addr.replace(/^grpc:\/\//i, "");
    this.#opts = opts;
    this.#logger = opts.logger;
  }

  async #connect(): Promise<GrpcClient> {
    const grpc = this.#grpc = await loadGrpc();
    // node:buffer with gRPC, not at startup (docs/architecture.md, "Module loading")
    const { Buffer } = this.#buffer = await import("node:buffer");
    const tls = this.#opts.tls;
    const options: Record<string, string> = {};
    let creds;
    if (tls) {
      const ca = tls.caFile ? Buffer.from(await Deno.readFile(tls.caFile)) : null;
      creds = grpc.credentials.createSsl(ca, null, null, {
        rejectUnauthorized: tls.secure === true,
        ...(tls.secure ? {} : { checkServerIdentity: () => undefined }),
      });
      if (tls.serverName) {
        options["grpc.ssl_target_name_override"] = tls.serverName;
        options["grpc.default_authority"] = tls.serverName;
      }
    } else {
      creds = grpc.credentials.createInsecure();
    }
    return new grpc.Client(this.addr, creds, options);
  }

  async observe(events: ObserverEvent[]): Promise<boolean> {
    if (!events.length) return true;
    if (this.#closed) return false;
    let client: GrpcClient;
    try {
      client = await (this.#client ??= this.#connect());
    } catch (err) {
      this.#client = null;
      this.#logger.warn(`observer ${this.addr}: ${errorMessage(err)}`);
      return false;
    }
    try {
      const grpc = this.#grpc!;
      const md = new grpc.Metadata();
      if (this.#opts.token) md.set("token", this.#opts.token);
      return await new Promise<boolean>((resolve, reject) => {
        client.makeUnaryRequest<ObserverEvent[], boolean>(
          OBSERVE_METHOD,
          (evs) => this.#buffer!.Buffer.from(encodeObserveRequest(evs)),
          (buf) => decodeObserveReply(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)),
          events,
          md,
          { deadline: Date.now() + this.#opts.timeoutMs },
          (err, ok) => (err ? reject(err) : resolve(ok === true)),
        );
      }).then((ok) => {
        if (!ok) this.#logger.warn(`observer ${this.addr}: the plugin answered ok=false`);
        return ok;
      });
    } catch (err) {
      // grpc-js reconnects by itself: keep the client for the next attempt
      this.#logger.warn(`observer ${this.addr}: ${errorMessage(err)}`);
      return false;
    }
  }

  close(): void {
    this.#closed = true;
    this.#client?.then((c) => c.close(), () => {});
    this.#client = null;
  }
}
