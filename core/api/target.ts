/**
 * What the Web API drives: the running instance (its {@link Runtime}) and a reload from the original sources.
 * The process binds itself to its registries (`Registries.process.apiTarget`), so that an `api` handler (the API
 * run as a normal service, built from those registries) finds it at each request.
 * @module
 */
import type { Registries } from "../registries.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { ApiError } from "./errors.ts";

/** The running instance the API manages (the process's `App`). */
export interface ApiTarget {
  readonly runtime: Runtime;
  /** Re-reads the original sources (CLI, `-C`, env) and applies what changed. */
  reload(): Promise<void>;
}

/** Looks the target up per request; throws a 503 {@link ApiError} while there is none yet. */
export type ApiTargetRef = () => ApiTarget;

/**
 * Binds the running instance to its registries (done once the runtime has started).
 * @example bindApiTarget(reg, app);
 */
export function bindApiTarget(reg: Registries, target: ApiTarget): void {
  reg.process.apiTarget = target;
}

/** Removes the binding (at close). */
export function unbindApiTarget(reg: Registries): void {
  delete reg.process.apiTarget;
}

/**
 * A reference to the target bound to `reg`.
 * @returns a function that throws 503 until {@link bindApiTarget} was called
 */
export function boundTarget(reg: Registries): ApiTargetRef {
  return () => {
    const t = reg.process.apiTarget as ApiTarget | undefined;
    if (!t) throw new ApiError(503, 503, "the instance is starting: try again");
    return t;
  };
}

/** A reference to a fixed target. */
export function fixedTarget(target: ApiTarget): ApiTargetRef {
  return () => target;
}
