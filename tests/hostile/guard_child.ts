/**
 * A child process for process_guard_test.ts: installs the process guard (unless `NO_GUARD` is set), then rejects a
 * promise nobody handles and throws in a timer, and prints `alive` from a later timer.
 * @module
 */
import { createLogger } from "../../core/log.ts";
import { guardProcess } from "../../core/process_guard.ts";

if (!Deno.env.get("NO_GUARD")) {
  const log = createLogger();
  guardProcess(() => log);
}
Promise.reject(new Error("boom in a promise"));
setTimeout(() => {
  throw new Error("boom in a timer");
}, 0);
setTimeout(() => console.log("alive"), 0);
