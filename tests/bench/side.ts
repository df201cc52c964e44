/**
 * The two types the tunnel bench rows (h2, ws, kcp, ss, reverse tunnel) measure with: one figure, and one side of
 * a gost.ts-against-peer comparison, and what the iperf rows among them borrow from the bench's main module.
 * @module
 */
import type { Proc } from "./procs.ts";
import type { Row } from "./table.ts";

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

/** What the bench's main module lends to every iperf tunnel row (h2, ws, kcp, ss); each row adds its own. */
export interface IperfBenchContext {
  iperfSec: number;
  iperfRounds: number;
  startPeer(name: string, cmd: string, args: string[], ready: RegExp | number): Promise<Proc>;
  compare(rounds: number, ours: Side, peer: Side): Promise<{ value: [number, number]; cpu: [number, number] }>;
  iperf(port: number, sec: number, reverse: boolean): Promise<Measured>;
  rows: Row[];
  progress(msg: string): void;
}
