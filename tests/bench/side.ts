/**
 * The two types the tunnel bench rows (h2, ws, kcp, ss, reverse tunnel) measure with: one figure, and one side of
 * a gost.ts-against-peer comparison.
 * @module
 */
import type { Proc } from "./procs.ts";

/** A measurement: its figure and the units of work done. */
export interface Measured {
  value: number;
  units: number;
}

/** A proxy side: its processes and how to measure through it. */
export interface Side {
  proc: Proc | Proc[];
  measure: () => Promise<Measured>;
}
