/**
 * The `udp` dialer: a datagram conn (one read = one datagram) from an ephemeral local port to the node; a node
 * without a host (`:8420`) is this host (`EMPTY_HOST_DIAL`, core/routing/router.ts).
 * No metadata keys.
 * @module
 */
import type { Conn } from "../../core/conn.ts";
import { splitHostPort } from "../../core/conn.ts";
import { DialError, errorMessage } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { ClientPluginOptions, Dialer, DialOptions } from "../../core/contracts.ts";
import { dialUdp } from "../../core/udp.ts";
import { EMPTY_HOST_DIAL } from "../../core/routing/router.ts";

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
      return Promise.resolve(dialUdp(host || EMPTY_HOST_DIAL, port));
    } catch (err) {
      return Promise.reject(new DialError(addr, `dial udp ${addr}: ${errorMessage(err)}`, { cause: err }));
    }
  }
}
