/**
 * Where a chain reports its node steps: the process' metrics (`core/observe/metrics.ts`) set themselves here when
 * enabled, so routing records into them without importing them.
 * @module
 */

/** What records a chain node step (the process' `GostMetrics`). */
export interface ChainNodeRecorder {
  recordChainNode(chain: string, node: string, seconds: number, ok: boolean): void;
}

let recorder: ChainNodeRecorder | null = null;

/** Makes `r` the recorder of {@link recordChainNode} (`null`: none). */
export function setChainNodeRecorder(r: ChainNodeRecorder | null): void {
  recorder = r;
}

/** Records one chain node step; a no-op unless metrics are enabled. */
export function recordChainNode(chain: string, node: string, seconds: number, ok: boolean): void {
  recorder?.recordChainNode(chain, node, seconds, ok);
}
