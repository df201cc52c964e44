/**
 * The `udp` dialer: a datagram conn (one read = one datagram) from an ephemeral local port to the node.
 * No metadata keys.
 * @module
 */
import type { Conn } from "../../core/conn.ts";
import { splitHostPort } from "../../core/conn.ts";
import { DialError, errorMessage } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { ClientPluginOptions, Dialer, DialOptions } from "../../core/contracts.ts";
import { dialUdp } from "../../core/udp.ts";

/** UDP dialer. */
export class UdpDialer implements Dialer {
  constructor(_opts: ClientPluginOptions) {}

  init(_md: Metadata): Promise<void> {
    return Promise.resolve();
  }

  /** @throws {DialError} naming `addr` when the address is invalid or no socket can be opened */
  dial(addr: string, _opts?: DialOptions): Promise<Conn> {
    try {
      const { host, port } = splitHostPort(addr);
      if (!host) throw new Error("empty host");
      return Promise.resolve(dialUdp(host, port));
    } catch (err) {
      return Promise.reject(new DialError(addr, `dial udp ${addr}: ${errorMessage(err)}`, { cause: err }));
    }
  }
}
