/**
 * One DNS query as a conn (GOST's `serverConn`): the `dns` listener hands each query it receives — a UDP datagram, a
 * framed TCP or TLS message, a DoH request — to the handler as a datagram conn whose one datagram is the query and
 * whose first write is the reply, sent back the way the query came. Its local address says how the client came: UDP
 * for a UDP client (the handler cuts the reply to the client's UDP size), TCP for the others.
 * @module
 */
import type { Conn } from "../../core/conn.ts";

/** Sends a reply back to the client (a datagram, a framed message, an HTTP response). */
export type ReplySink = (reply: Uint8Array) => Promise<void>;

/** A query and the way back to its client. */
export class DnsMessageConn implements Conn {
  readonly datagram = true;
  readonly localAddr: Deno.Addr;
  readonly remoteAddr: Deno.Addr;
  #query: Uint8Array | null;
  #sink: ReplySink | null;
  #closed = false;
  readonly #done: PromiseWithResolvers<boolean> = Promise.withResolvers();

  /**
   * @param query the message as received
   * @param sink sends the reply; called once at most
   */
  constructor(query: Uint8Array, localAddr: Deno.Addr, remoteAddr: Deno.Addr, sink: ReplySink) {
    this.#query = query;
    this.localAddr = localAddr;
    this.remoteAddr = remoteAddr;
    this.#sink = sink;
  }

  /** Settles once the conn is closed: true when a reply was sent. */
  get done(): Promise<boolean> {
    return this.#done.promise;
  }

  /** The query, once; then null. */
  readDatagram(): Promise<Uint8Array | null> {
    const q = this.#query;
    this.#query = null;
    return Promise.resolve(this.#closed ? null : q);
  }

  async read(p: Uint8Array): Promise<number | null> {
    const q = await this.readDatagram();
    if (!q) return null;
    const n = Math.min(q.length, p.length);
    p.set(q.subarray(0, n));
    return n;
  }

  /** Sends `p` as the reply. @throws {Deno.errors.BadResource} once a reply was sent or the conn closed */
  async write(p: Uint8Array): Promise<number> {
    const sink = this.#sink;
    if (!sink || this.#closed) throw new Deno.errors.BadResource("DNS reply already sent");
    this.#sink = null;
    await sink(p);
    this.#done.resolve(true);
    return p.length;
  }

  closeWrite(): Promise<void> {
    return Promise.resolve();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#query = null;
    this.#sink = null;
    this.#done.resolve(false);
  }
}
