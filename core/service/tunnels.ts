/**
 * What a reverse-proxy tunnel server shows of itself (README.md, "Web API", `GET /tunnels`): each tunnel id with the
 * clients registered for it, the conns routed through it and their bytes. A tunnel server registers one
 * {@link TunnelServerView} under its service's name in `Registries.tunnels` while it runs; the Web API reads them.
 * @module
 */

import type { Network } from "../conn.ts";

/** One registered tunnel client (GOST's connector: one client connection carrying a multiplexed session). */
export interface TunnelClientInfo {
  /** The connector id the server gave it (a UUID). */
  id: string;
  /** The network it serves: `tcp` (rtcp) or `udp` (rudp). */
  network: Network;
  /** Its weight (1–255; 255 takes all the traffic of its tunnel). */
  weight: number;
  /** The client's address, as the server sees it. */
  remote: string;
  /** When it registered, epoch ms. */
  since: number;
  /** Conns open on it now. */
  connsOpen: number;
  /** Conns routed to it so far. */
  connsTotal: number;
}

/** One tunnel id and its traffic. */
export interface TunnelInfo {
  /** The tunnel server's service name. */
  service: string;
  /** The tunnel id (a UUID). */
  id: string;
  /** The public name the server derives from the id (GOST's endpoint: 16 hex digits of its MD5). */
  endpoint: string;
  /** The clients registered now. */
  clients: TunnelClientInfo[];
  /** Conns open through the tunnel now (visitors and entrypoint conns). */
  connsOpen: number;
  /** Conns routed through it so far. */
  connsTotal: number;
  /** Bytes from visitors into the tunnel (to its clients). */
  bytesIn: number;
  /** Bytes from the tunnel's clients back to visitors. */
  bytesOut: number;
  /** When the first client registered, epoch ms. */
  createdAt: number;
}

/** A running tunnel server as the Web API sees it. */
export interface TunnelServerView {
  /** The service's name. */
  readonly service: string;
  /** The addresses its public entrypoints listen on (`host:port`, `udp://host:port` for raw UDP ones). */
  entrypoints(): string[];
  /** Its tunnels now, by id. */
  tunnels(): TunnelInfo[];
}
