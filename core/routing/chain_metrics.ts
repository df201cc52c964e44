/**
 * What a chain reports its node steps to: the process' metrics (`core/observe/metrics.ts`), reached through the
 * registries the chain was built from (`Registries.process.chainRecorder`), so routing records into them without
 * importing them.
 * @module
 */

/** What records a chain node step (the process' `GostMetrics`). */
export interface ChainNodeRecorder {
  /** One node step of chain `chain`: how long it took (`seconds`) and whether it succeeded (`ok`). */
  recordChainNode(chain: string, node: string, seconds: number, ok: boolean): void;
  /** A multiplexed session of node `node` ended, and why (`keepalive`, `peer`, `error`, `local`). */
  recordMuxSessionEnd?(chain: string, node: string, reason: string): void;
}

/**
 * A recorder that passes each step to whatever `slots.chainRecorder` is at that moment (`Registries.process`): a
 * chain built before the metrics were set records into them, and into nothing once they are closed.
 * @example new Chain("chain-0", hops, { recorder: slotRecorder(reg.process) })
 */
export function slotRecorder(slots: { chainRecorder?: ChainNodeRecorder }): ChainNodeRecorder {
  return {
    recordChainNode: (chain, node, seconds, ok) => slots.chainRecorder?.recordChainNode(chain, node, seconds, ok),
    recordMuxSessionEnd: (chain, node, reason) => slots.chainRecorder?.recordMuxSessionEnd?.(chain, node, reason),
  };
}
