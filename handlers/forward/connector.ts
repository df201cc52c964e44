/**
 * The `forward` connector: no protocol at all — the conn to the node is handed back as is, and the node (a
 * forwarding service such as `-L relay+tls://:8443/10.0.0.5:22` or `-L tls://:8443/10.0.0.5:22`) picks the
 * target itself. The requested address is ignored, as GOST does.
 * @module
 */
import type { Conn, Network } from "../../core/conn.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { Connector } from "../../core/contracts.ts";

/** Passes the conn through unchanged. */
export class ForwardConnector implements Connector {
  init(_md: Metadata): Promise<void> {
    return Promise.resolve();
  }

  connect(conn: Conn, _network: Network, _addr: string): Promise<Conn> {
    return Promise.resolve(conn);
  }
}
