/**
 * A `quic` dialer's session: one QUIC connection to the node, a bidirectional stream per dial (GOST's quicSession).
 * Opening a stream waits for the node's stream credit (its `maxStreams`), at most {@link OPEN_STREAM_TIMEOUT_MS}.
 * The session ends when the connection does: idle for `maxIdleTimeout` (a node that went silent: the keep-alive
 * PINGs got no answer), closed by the node, or closed here; its streams then fail at once and the chain opens a new
 * session on the next dial (docs/architecture.md, "Multiplexing dialers").
 * @module
 */
import { addrString } from "../../core/conn.ts";
import type { Conn } from "../../core/conn.ts";
import type { DialerSession, MuxCloseReason, MuxSessionStats } from "../../core/contracts.ts";
import { errorMessage, TimeoutError } from "../../core/errors.ts";
import { timeout } from "../../core/deadline.ts";
import { OPEN_STREAM_TIMEOUT_MS } from "./options.ts";
import { QuicStreamConn, type StreamCounters } from "./stream_conn.ts";

/** What a session needs besides its connection. */
export interface QuicSessionParts {
  /** The session's own endpoint (its UDP socket), closed with it. */
  readonly endpoint: Deno.QuicEndpoint;
  /** The node's address. */
  readonly remoteAddr: Deno.NetAddr;
  /** The endpoint's address. */
  readonly localAddr: Deno.NetAddr;
  /** The idle timeout in ms, shown as the session's keep-alive timeout. */
  readonly idleMs: number;
}

/** A QUIC connection as a chain's {@link DialerSession}. */
export class QuicSession implements DialerSession {
  readonly #conn: Deno.QuicConn;
  readonly #parts: QuicSessionParts;
  readonly #counters: StreamCounters = { bytesIn: 0, bytesOut: 0, lastReceivedAt: null, streamsOpen: 0 };
  readonly #createdAt = Date.now();
  #streamsTotal = 0;
  #closed = false;
  #reason: MuxCloseReason | null = null;
  #why = "";
  /** Settles (never rejects) once the connection has ended. */
  readonly done: Promise<void>;

  constructor(conn: Deno.QuicConn, parts: QuicSessionParts) {
    this.#conn = conn;
    this.#parts = parts;
    this.done = conn.closed.then(
      (info) =>
        this.#ended(
          this.#reason ?? "peer",
          `closed by the node (code ${info.closeCode}${info.reason ? `, ${info.reason}` : ""})`,
        ),
      (err) => {
        const msg = errorMessage(err);
        // quinn's idle timeout ("timed out"): nothing arrived for maxIdleTimeout despite the keep-alive PINGs; a
        // transport-level close by the node ("aborted by peer: …", e.g. its endpoint closed mid-handshake)
        this.#ended(/timed out/i.test(msg) ? "keepalive" : /by peer/i.test(msg) ? "peer" : "error", msg);
      },
    );
  }

  #ended(reason: MuxCloseReason, why: string): void {
    this.#closed = true;
    this.#reason ??= reason;
    this.#why ||= why;
    try {
      this.#parts.endpoint.close();
    } catch {
      // closed
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Opens a bidirectional stream; waits for the node's stream credit.
   * @throws ConnectionReset once the session has ended, TimeoutError when no credit came in time
   */
  async open(): Promise<Conn> {
    if (this.#closed) throw this.#endedError();
    let stream: Deno.QuicBidirectionalStream;
    try {
      stream = await timeout(
        this.#conn.createBidirectionalStream({ waitUntilAvailable: true }),
        OPEN_STREAM_TIMEOUT_MS,
        "opening a quic stream (the node's maxStreams are all in use)",
      );
    } catch (err) {
      if (this.#closed) throw this.#endedError();
      if (err instanceof TimeoutError) throw err;
      throw new Deno.errors.ConnectionReset(`opening a quic stream: ${errorMessage(err)}`, { cause: err });
    }
    this.#streamsTotal++;
    this.#counters.streamsOpen++;
    return new QuicStreamConn(stream, this.#parts.localAddr, this.#parts.remoteAddr, this.#counters);
  }

  #endedError(): Error {
    return new Deno.errors.ConnectionReset(`quic session to ${addrString(this.#parts.remoteAddr)} ended: ${this.#why}`);
  }

  /** Closes the connection (its streams fail) and the endpoint. */
  close(): void {
    if (this.#closed) return;
    this.#reason ??= "local";
    this.#why ||= "closed here";
    this.#closed = true;
    try {
      this.#conn.close({ closeCode: 0, reason: "closed" });
    } catch {
      // closed
    }
    try {
      this.#parts.endpoint.close();
    } catch {
      // closed
    }
  }

  /**
   * Live figures. Bytes are stream payload (Deno shows no QUIC packet counts), `lastReceivedAt` the last stream data,
   * and the keep-alive fields are null: quinn's PINGs and their round trips are invisible to JavaScript.
   */
  stats(): MuxSessionStats {
    const c = this.#counters;
    return {
      transport: "quic",
      local: addrString(this.#parts.localAddr),
      remote: addrString(this.#parts.remoteAddr),
      streamsOpen: c.streamsOpen,
      streamsTotal: this.#streamsTotal,
      bytesIn: c.bytesIn,
      bytesOut: c.bytesOut,
      createdAt: this.#createdAt,
      lastReceivedAt: c.lastReceivedAt,
      lastKeepaliveAt: null,
      keepaliveRttMs: null,
      keepaliveTimeoutMs: this.#parts.idleMs,
      closeReason: this.#closed ? this.#reason : null,
    };
  }
}
