/**
 * Byte counts of one connection as conn hooks see them: the final counts arrive in `ConnHook.close`; while the
 * connection is open they are read from `ctx.traffic()` when the service provides it (an optional ConnContext
 * member), so long-lived tunnels show up in metrics and observer ticks before they end.
 * @module
 */
import type { ConnContext } from "../contracts.ts";

/** Bytes read from (input) and written to (output) the client. */
export interface Traffic {
  inputBytes: number;
  outputBytes: number;
}

/** A ConnContext that may expose its live byte counts. */
export type TrafficContext = ConnContext & { readonly traffic?: () => Traffic };

/** The live byte counts of a connection, when its service exposes them. */
export function liveTraffic(ctx: ConnContext): Traffic | undefined {
  const f = (ctx as TrafficContext).traffic;
  return typeof f === "function" ? f() : undefined;
}

/**
 * Turns running totals into deltas, so each byte is counted once whether it is seen at a tick or at close.
 * @example
 * const d = new TrafficDelta();
 * d.take({ inputBytes: 10, outputBytes: 5 }); // {10, 5}
 * d.take({ inputBytes: 12, outputBytes: 5 }); // {2, 0}
 */
export class TrafficDelta {
  #input = 0;
  #output = 0;

  /** The bytes moved since the previous call, given the current totals. */
  take(total: Traffic): Traffic {
    const d = {
      inputBytes: Math.max(0, total.inputBytes - this.#input),
      outputBytes: Math.max(0, total.outputBytes - this.#output),
    };
    this.#input = Math.max(this.#input, total.inputBytes);
    this.#output = Math.max(this.#output, total.outputBytes);
    return d;
  }
}

/** The client IP of a `host:port` source address, as GOST's metrics label it (`[v6]:p` → `v6`). */
export function clientIP(src: string): string {
  const m = /^\[([^\]]*)\]:\d+$/.exec(src) ?? /^([^:]*):\d+$/.exec(src);
  return m ? m[1] : src;
}
