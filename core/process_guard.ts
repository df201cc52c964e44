/**
 * The process's last line of defence: an error nothing caught (a promise rejected with no handler, an exception in
 * a timer or event callback) is logged at error level with its stack, and the process goes on serving. Deno would
 * otherwise exit, dropping every connection of every service for the fault of one. Installed by the CLI (main.ts),
 * not by the library: an embedding program decides for itself.
 * @module
 */
import { errorMessage } from "./errors.ts";
import type { Logger } from "./log.ts";

function describe(reason: unknown): string {
  if (reason instanceof Error) return reason.stack ?? `${reason.name}: ${reason.message}`;
  return errorMessage(reason);
}

/**
 * Keeps the process alive through uncaught errors, logging each one.
 * @param logger where to log: a function, so that the process's logger can change once its config is loaded
 * @returns a function that removes the guard
 * @example const unguard = guardProcess(() => app?.logger ?? bootLogger);
 */
export function guardProcess(logger: () => Logger): () => void {
  const onRejection = (e: PromiseRejectionEvent) => {
    e.preventDefault();
    logger().error(`unhandled rejection, the process keeps running: ${describe(e.reason)}`, { kind: "process" });
  };
  const onError = (e: ErrorEvent) => {
    e.preventDefault();
    logger().error(`uncaught exception, the process keeps running: ${describe(e.error ?? e.message)}`, {
      kind: "process",
    });
  };
  globalThis.addEventListener("unhandledrejection", onRejection);
  globalThis.addEventListener("error", onError);
  return () => {
    globalThis.removeEventListener("unhandledrejection", onRejection);
    globalThis.removeEventListener("error", onError);
  };
}
