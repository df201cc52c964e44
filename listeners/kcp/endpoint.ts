/**
 * The UDP socket under KCP sessions: one receive loop into one reused buffer that opens each datagram (decipher,
 * CRC) and hands its payload to `onDatagram` with the sender, and a send queue that keeps a few sends in flight
 * (measured: 16 in flight send ~40 % more datagrams per second than one at a time). A datagram whose CRC does not
 * match after deciphering (garbage, another key or crypt) is dropped and counted; it never reaches a session. When
 * the queue is full (the socket is slower than the sessions), datagrams are dropped and counted, as the network
 * would drop them: KCP retransmits.
 * @module
 */
import { closeQuietly } from "../../core/conn.ts";
import { errorMessage } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import { open, type PacketCipher } from "./crypt.ts";

/** Sends kept in flight at once. */
const IN_FLIGHT = 16;
/** Datagrams queued before new ones are dropped (a flush makes at most the send window's, plus parity). */
const MAX_QUEUE = 4096;
/** The receive buffer: any datagram fits (kcp-go's are at most 1500 bytes; larger ones fail their CRC). */
const RECEIVE_BUFFER = 64 * 1024;

/** Counters of one endpoint. */
export interface EndpointStats {
  datagramsIn: number;
  datagramsOut: number;
  /** Datagrams dropped on receive: too short or a CRC mismatch after deciphering. */
  badCrc: number;
  /** Datagrams dropped because the send queue was full. */
  sendDropped: number;
}

/** A datagram's payload and its sender; the payload is valid until `onDatagram` returns. */
export type DatagramHandler = (payload: Uint8Array, from: Deno.NetAddr) => void;

/** One UDP socket carrying KCP datagrams. */
export class KcpEndpoint {
  readonly #sock: Deno.DatagramConn;
  readonly #cipher: PacketCipher;
  readonly #logger: Logger;
  readonly #queue: { p: Uint8Array; to: Deno.NetAddr }[] = [];
  #qhead = 0;
  #inFlight = 0;
  #closed = false;
  readonly done: Promise<void>;
  readonly stats: EndpointStats = { datagramsIn: 0, datagramsOut: 0, badCrc: 0, sendDropped: 0 };

  /** Starts receiving at once; `onDatagram` gets every datagram that opens. */
  constructor(sock: Deno.DatagramConn, cipher: PacketCipher, logger: Logger, onDatagram: DatagramHandler) {
    this.#sock = sock;
    this.#cipher = cipher;
    this.#logger = logger;
    this.done = this.#receive(onDatagram);
  }

  /** The socket's address. */
  get addr(): Deno.NetAddr {
    return this.#sock.addr as Deno.NetAddr;
  }

  async #receive(onDatagram: DatagramHandler): Promise<void> {
    const buf = new Uint8Array(RECEIVE_BUFFER);
    while (!this.#closed) {
      let data: Uint8Array, from: Deno.Addr;
      try {
        [data, from] = await this.#sock.receive(buf);
      } catch (err) {
        if (this.#closed) return;
        this.#logger.warn(`kcp: receive failed: ${errorMessage(err)}`);
        this.close();
        return;
      }
      this.stats.datagramsIn++;
      const payload = open(data, this.#cipher);
      if (!payload) {
        if (this.stats.badCrc++ === 0) {
          this.#logger.info("kcp: datagram dropped: its checksum does not match (another key or crypt, or garbage)", {
            remote: `${(from as Deno.NetAddr).hostname}:${(from as Deno.NetAddr).port}`,
          });
        }
        continue;
      }
      try {
        onDatagram(payload, from as Deno.NetAddr);
      } catch (err) {
        this.#logger.error(`kcp: datagram handling failed: ${errorMessage(err)}`);
      }
    }
  }

  /** Queues a sealed datagram for `to`. */
  send(p: Uint8Array, to: Deno.NetAddr): void {
    if (this.#closed) return;
    if (this.#queue.length - this.#qhead >= MAX_QUEUE) {
      this.stats.sendDropped++;
      return;
    }
    this.#queue.push({ p, to });
    this.#pump();
  }

  #pump(): void {
    while (this.#inFlight < IN_FLIGHT && this.#qhead < this.#queue.length && !this.#closed) {
      const { p, to } = this.#queue[this.#qhead++];
      if (this.#qhead === this.#queue.length) {
        this.#queue.length = 0;
        this.#qhead = 0;
      } else if (this.#qhead > 4096) {
        this.#queue.splice(0, this.#qhead);
        this.#qhead = 0;
      }
      this.#inFlight++;
      this.#sock.send(p, to).then(
        () => {
          this.stats.datagramsOut++;
        },
        (err) => {
          if (!this.#closed) this.#logger.debug(`kcp: send to ${to.hostname}:${to.port} failed: ${errorMessage(err)}`);
        },
      ).finally(() => {
        this.#inFlight--;
        this.#pump();
      });
    }
  }

  /** Closes the socket; queued datagrams are dropped. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.length = 0;
    this.#qhead = 0;
    closeQuietly(this.#sock);
  }
}
