/**
 * The `tcp` dialer: a plain TCP connection to the node, with TCP_NODELAY (GOST's default dialer); a node without a
 * host (`:1080`) is this host, as Go dials it (`EMPTY_HOST_DIAL`, core/routing/router.ts).
 *
 * | key | default | meaning |
 * |---|---|---|
 * | dialTimeout (timeout) | 10s | connect deadline |
 * | keepalive | false | TCP keep-alive on the conn, with the system's timings |
 * @module
 */
import type { Conn } from "../../core/conn.ts";
import { splitHostPort } from "../../core/conn.ts";
import { DialError, errorMessage } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { ClientPluginOptions, Dialer, DialOptions } from "../../core/contracts.ts";
import { DEFAULT_DIAL_TIMEOUT_MS, dialTcp } from "../../core/routing/router.ts";

/**
 * Connects TCP to the node at `addr` (`host:port`) within `timeoutMs`, with TCP_NODELAY (and TCP keep-alive when
 * `keepAlive`): the first step of the tcp dialer and of the transports that wrap its conn (ohttp, otls).
 * @param type the transport, for the message (`dial ohttp 1.2.3.4:80: …`)
 * @throws {DialError} naming `addr` when the address is invalid or the connect fails or times out
 */
export async function dialTcpNode(
  type: string,
  addr: string,
  timeoutMs: number,
  signal?: AbortSignal,
  keepAlive = false,
): Promise<Conn> {
  try {
    const { host, port } = splitHostPort(addr);
    const conn = await dialTcp(host, port, timeoutMs, signal);
    if (keepAlive) (conn as Deno.TcpConn).setKeepAlive(true);
    return conn;
  } catch (err) {
    throw new DialError(addr, `dial ${type} ${addr}: ${errorMessage(err)}`, { cause: err });
  }
}

/** Plain TCP dialer. */
export class TcpDialer implements Dialer {
  #timeoutMs = DEFAULT_DIAL_TIMEOUT_MS;
  #keepAlive = false;

  constructor(_opts: ClientPluginOptions) {}

  init(md: Metadata): Promise<void> {
    this.#timeoutMs = md.duration(["dialTimeout", "timeout"], DEFAULT_DIAL_TIMEOUT_MS);
    this.#keepAlive = md.bool("keepalive");
    return Promise.resolve();
  }

  /** @throws {DialError} naming `addr` when the address is invalid or the connect fails or times out */
  dial(addr: string, opts: DialOptions = {}): Promise<Conn> {
    return dialTcpNode("tcp", addr, this.#timeoutMs, opts.signal, this.#keepAlive);
  }
}
