/**
 * In-process chains for tests: a router whose chain has one node (plain TCP to `addr` + the given connector).
 * @module
 */
import { splitHostPort } from "../../core/conn.ts";
import { nopLogger } from "../../core/log.ts";
import type { Connector, Dialer } from "../../core/contracts.ts";
import { Chain, type ChainNode, Hop } from "../../core/routing/chain.ts";
import { DefaultRouter, dialTcp } from "../../core/routing/router.ts";

/** A plain TCP dialer (what the `tcp` dialer does). */
export const tcpDialer: Dialer = {
  init: () => Promise.resolve(),
  dial(addr, opts) {
    const { host, port } = splitHostPort(addr);
    return dialTcp(host, port, 5000, opts?.signal);
  },
};

/** A router through a one-node chain: `connector` spoken to the node at `addr`. */
export function chainRouter(connector: Connector, addr: string): DefaultRouter {
  const node: ChainNode = { name: "node-0", addr, weight: 1, backup: false, dialer: tcpDialer, connector };
  const chain = new Chain("chain-0", [new Hop("hop-0", [node])]);
  return new DefaultRouter({ logger: nopLogger, chain: () => chain });
}
