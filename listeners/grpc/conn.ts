/**
 * One gRPC call of GOST's tunnel as a {@link Conn}, over an HTTP/2 stream (listeners/h2/stream.ts), client or server
 * side. `write` sends one message per call (a Chunk; at most {@link MAX_WRITE} data bytes each), `read` returns the
 * Chunks' data in order, parsed as it streams in: a message's data goes straight into the reader's buffer, nothing
 * but the few header bytes is buffered, and a length prefix over {@link MAX_MESSAGE} fails the call
 * (RESOURCE_EXHAUSTED). The client's `closeWrite` ends its side (END_STREAM), the server's sends the trailers
 * `grpc-status: 0`; the client reads EOF on status 0 and fails on any other. docs/wire.md, "gRPC".
 * @module
 */
import type { Conn } from "../../core/conn.ts";
import { HandshakeError } from "../../core/errors.ts";
import type { HeaderField } from "../h2/hpack.ts";
import type { H2Stream } from "../h2/stream.ts";
import { chunkHeader, MAX_MESSAGE, MAX_WRITE } from "./messages.ts";

/** gRPC status codes (grpc/doc/statuscodes.md). */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

const NAMES = Object.fromEntries(Object.entries(GrpcStatus).map(([k, v]) => [v, k]));

/** `UNIMPLEMENTED` for 12, the number for an unknown code. */
export function statusName(code: number): string {
  return NAMES[code] ?? String(code);
}

/** The node ended the call with a gRPC status other than OK, or did not answer as a gRPC server. */
export class GrpcStatusError extends HandshakeError {
  /** The status (UNKNOWN when the answer was not gRPC at all). */
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** The `grpc-message` value decoded (percent-encoded per the gRPC spec). */
function grpcMessage(fields: readonly HeaderField[]): string {
  const raw = fields.find((f) => f.name === "grpc-message")?.value ?? "";
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

function field(fields: readonly HeaderField[], name: string): string | undefined {
  return fields.find((f) => f.name === name)?.value;
}

/**
 * The trailers a server sends to end a call with `status` (and `message`, percent-encoded).
 * @example trailers(12, "unknown service x") // grpc-status: 12, grpc-message: unknown%20service%20x
 */
export function trailers(status: number, message = ""): HeaderField[] {
  const out: HeaderField[] = [{ name: "grpc-status", value: String(status) }];
  if (message) {
    const enc = Array.from(
      new TextEncoder().encode(message),
      (b) =>
        b >= 0x20 && b <= 0x7e && b !== 0x25
          ? String.fromCharCode(b)
          : `%${b.toString(16).toUpperCase().padStart(2, "0")}`,
    )
      .join("");
    out.push({ name: "grpc-message", value: enc });
  }
  return out;
}

/** A GOST tunnel call over one HTTP/2 stream. */
export class GrpcConn implements Conn {
  readonly #stream: H2Stream;
  readonly #server: boolean;
  /** A few bytes read ahead: message prefixes and field headers (data bytes behind them are served from here first). */
  readonly #head = new Uint8Array(64);
  #hs = 0;
  #he = 0;
  /** Bytes of the current message not parsed yet, and of its current `data` field not delivered yet. */
  #msgLeft = 0;
  #dataLeft = 0;
  #checked = false;
  #eof = false;
  #trailersSent = false;
  /** Called once with the error when the node ends the call with a status other than OK (client side). */
  onStatusError: (err: GrpcStatusError) => void = () => {};

  /** @param server true on the listener's side (it sends the trailers) */
  constructor(stream: H2Stream, server: boolean) {
    this.#stream = stream;
    this.#server = server;
    this.#checked = server;
  }

  get localAddr(): Deno.Addr {
    return this.#stream.localAddr;
  }

  get remoteAddr(): Deno.Addr {
    return this.#stream.remoteAddr;
  }

  /** The HTTP/2 stream underneath. */
  get stream(): H2Stream {
    return this.#stream;
  }

  async read(p: Uint8Array): Promise<number | null> {
    if (p.length === 0) return 0;
    if (!this.#checked) await this.#checkResponse();
    for (;;) {
      if (this.#eof) return null;
      if (this.#dataLeft > 0) {
        const want = Math.min(p.length, this.#dataLeft);
        let n: number;
        if (this.#he > this.#hs) {
          n = Math.min(want, this.#he - this.#hs);
          p.set(this.#head.subarray(this.#hs, this.#hs + n));
          this.#hs += n;
        } else {
          const r = await this.#stream.read(p.subarray(0, want));
          if (r === null) throw this.#cut("inside a message");
          n = r;
        }
        this.#dataLeft -= n;
        this.#msgLeft -= n;
        return n;
      }
      if (this.#msgLeft > 0) {
        await this.#nextField();
        continue;
      }
      // a message boundary: the next prefix, or the end of the call
      if (!(await this.#fill(5, true))) {
        this.#eof = true;
        if (!this.#server) this.#checkTrailers();
        return null;
      }
      const flag = this.#head[this.#hs];
      const b = this.#head;
      const len = ((b[this.#hs + 1] << 24) | (b[this.#hs + 2] << 16) | (b[this.#hs + 3] << 8) | b[this.#hs + 4]) >>> 0;
      this.#hs += 5;
      if (flag !== 0) {
        throw this.#fail(GrpcStatus.INTERNAL, `gRPC message with flag ${flag} (compression was not negotiated)`);
      }
      if (len > MAX_MESSAGE) {
        throw this.#fail(
          GrpcStatus.RESOURCE_EXHAUSTED,
          `grpc: received message larger than max (${len} vs. ${MAX_MESSAGE})`,
        );
      }
      this.#msgLeft = len;
    }
  }

  async write(p: Uint8Array): Promise<number> {
    if (this.#trailersSent) throw new Deno.errors.BrokenPipe("gRPC call: write after the trailers");
    for (let off = 0; off < p.length; off += MAX_WRITE) {
      const part = p.subarray(off, Math.min(p.length, off + MAX_WRITE));
      await this.#stream.writeWithPrefix(chunkHeader(part.length), part);
    }
    return p.length;
  }

  /** Client: END_STREAM; server: the trailers `grpc-status: 0`. */
  async closeWrite(): Promise<void> {
    if (!this.#server) return await this.#stream.closeWrite();
    if (this.#trailersSent || this.#stream.error || this.#stream.localEnded) return;
    this.#trailersSent = true;
    await this.#stream.sendHeaders(trailers(GrpcStatus.OK), true);
  }

  /** Ends the call: the server sends `grpc-status: 0` first (as GOST's handler returns nil), then the stream resets. */
  close(): void {
    if (this.#server && !this.#trailersSent && !this.#stream.error && !this.#stream.localEnded) {
      this.#trailersSent = true;
      this.#stream.sendHeaders(trailers(GrpcStatus.OK), true).catch(() => {});
    }
    this.#stream.close();
  }

  /** Ends the call with `status` (server: trailers and a reset; client: a reset) and returns the error to throw. */
  #fail(status: number, message: string): GrpcStatusError {
    const err = new GrpcStatusError(status, message);
    if (this.#server && !this.#trailersSent && !this.#stream.localEnded && !this.#stream.error) {
      this.#trailersSent = true;
      this.#stream.sendHeaders(trailers(status, message), true).catch(() => {});
    }
    this.#stream.close();
    return err;
  }

  #cut(where: string): Error {
    if (!this.#server) {
      // the server ended its side: the trailers say why
      try {
        this.#checkTrailers();
      } catch (err) {
        return err as Error;
      }
    }
    return this.#fail(GrpcStatus.INTERNAL, `gRPC call ended ${where}`);
  }

  /** Makes sure `n` bytes are in the read-ahead buffer; false at a clean end when `atBoundary` and nothing came. */
  async #fill(n: number, atBoundary = false): Promise<boolean> {
    if (this.#he - this.#hs >= n) return true;
    if (this.#hs > 0) {
      this.#head.copyWithin(0, this.#hs, this.#he);
      this.#he -= this.#hs;
      this.#hs = 0;
    }
    while (this.#he < n) {
      // at most 64 bytes ahead: the rest of a long data field goes straight into the caller's buffer
      const r = await this.#stream.read(this.#head.subarray(this.#he));
      if (r === null) {
        if (atBoundary && this.#he === 0) return false;
        throw this.#cut(this.#msgLeft > 0 ? "inside a message" : "inside a message prefix");
      }
      this.#he += r;
    }
    return true;
  }

  /** Reads one protobuf varint of the current message. */
  async #varint(): Promise<number> {
    let v = 0, shift = 0;
    for (let i = 0; i < 10; i++) {
      await this.#fill(1);
      const b = this.#head[this.#hs++];
      this.#msgLeft--;
      v += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return v;
      shift += 7;
      if (this.#msgLeft <= 0) break;
    }
    throw this.#fail(GrpcStatus.INTERNAL, "grpc: bad varint in a Chunk message");
  }

  /** Parses the next field of the current Chunk: `data` (field 1) is delivered, anything else skipped. */
  async #nextField(): Promise<void> {
    const tag = await this.#varint();
    const wire = tag & 7;
    const fieldNo = Math.floor(tag / 8);
    let skip = 0;
    if (wire === 2) {
      const len = await this.#varint();
      if (len > this.#msgLeft) throw this.#fail(GrpcStatus.INTERNAL, "grpc: a Chunk field longer than its message");
      if (fieldNo === 1) {
        this.#dataLeft = len;
        return;
      }
      skip = len;
    } else if (wire === 0) {
      await this.#varint();
    } else if (wire === 1) skip = 8;
    else if (wire === 5) skip = 4;
    else throw this.#fail(GrpcStatus.INTERNAL, `grpc: protobuf wire type ${wire} in a Chunk message`);
    if (skip > this.#msgLeft) throw this.#fail(GrpcStatus.INTERNAL, "grpc: a Chunk field longer than its message");
    while (skip > 0) {
      await this.#fill(1);
      const k = Math.min(skip, this.#he - this.#hs);
      this.#hs += k;
      this.#msgLeft -= k;
      skip -= k;
    }
  }

  /** Client: the response must be HTTP 200 `application/grpc`; a trailers-only answer carries the status. */
  async #checkResponse(): Promise<void> {
    const h = await this.#stream.response();
    this.#checked = true;
    const status = field(h, ":status");
    const type = field(h, "content-type") ?? "";
    if (status !== "200") {
      throw this.#statusError(GrpcStatus.UNKNOWN, `grpc: the node answered HTTP ${status ?? "(no status)"}`);
    }
    if (!/^application\/grpc($|[+;])/.test(type)) {
      throw this.#statusError(GrpcStatus.UNKNOWN, `grpc: the node answered content-type "${type}", not gRPC`);
    }
    if (field(h, "grpc-status") !== undefined) {
      this.#eof = true; // trailers-only: the call is over
      this.#checkTrailers();
    }
  }

  /** Client at the end of the call: status 0 is EOF, anything else an error. */
  #checkTrailers(): void {
    const t = this.#stream.trailers ?? (field(this.#stream.headers, "grpc-status") ? this.#stream.headers : []);
    const raw = field(t, "grpc-status");
    if (raw === "0") return;
    const code = raw === undefined ? GrpcStatus.INTERNAL : Number(raw);
    const why = raw === undefined ? "the call ended without a grpc-status" : grpcMessage(t);
    throw this.#statusError(code, `grpc: ${statusName(code)}${why ? `: ${why}` : ""}`);
  }

  #statusError(code: number, message: string): GrpcStatusError {
    const err = new GrpcStatusError(code, message);
    this.#eof = true;
    this.#stream.close();
    this.onStatusError(err);
    return err;
  }
}
