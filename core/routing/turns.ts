/**
 * Building a big table in turns: a data file's lines are parsed, and each put into its new matcher or hosts table,
 * a few milliseconds of work at a time, letting the event loop run between two turns so that a 100,000-entry reload
 * does not hold up the connections (README.md, "Data sources: file and reload").
 * @module
 */

/** How long one turn works before it lets the event loop run, in ms. */
export const TURN_MS = 8;

/** How many entries are handled between two looks at the clock. */
const CHECK_EVERY = 64;

/**
 * Lets the event loop run (timers and I/O: a `setTimeout`, since a microtask or `setImmediate` would not let
 * connections be accepted meanwhile) before going on.
 * @example await nextTurn();
 */
export function nextTurn(): Promise<void> {
  return new Promise((r) => setTimeout(r, 0));
}

/**
 * The turns of one long task: `due()` tells when the current turn has worked {@link TURN_MS}, `next()` yields.
 * @example
 * const turns = new Turns();
 * for (const e of entries) { if (turns.due()) await turns.next(); table.add(e); }
 */
export class Turns {
  #since = performance.now();
  #n = 0;
  /** How many times {@link Turns.next} yielded. */
  yields = 0;

  /** True when the current turn has worked its {@link TURN_MS} (the clock is read every few calls). */
  due(): boolean {
    if (++this.#n % CHECK_EVERY !== 0) return false;
    return performance.now() - this.#since >= TURN_MS;
  }

  /** Lets the event loop run and starts a new turn. */
  async next(): Promise<void> {
    await nextTurn();
    this.yields++;
    this.#since = performance.now();
  }
}
