/**
 * What a process hands the plugins built from its registries (`Registries.process` of `core/registries.ts`): its
 * own endpoints, the running instance the Web API drives and the metrics chains record into. The app sets them once
 * it runs and the plugins read them at each use, so one built before the app finished starting sees them too, and
 * two processes (two registry sets) in one Deno process never see each other's (docs/architecture.md, "Module state").
 * @module
 */
import type { ChainNodeRecorder } from "./chain_metrics.ts";
import type { LocalService } from "./local_addrs.ts";

/** The process's values that reach plugins through their registries; each absent until the app sets it. */
export interface ProcessSlots {
  /** The process's endpoints that are not services (the Web API and metrics servers), for the self-target guard. */
  endpoints?: () => Iterable<LocalService>;
  /** The running instance an `api` service drives (its type is `ApiTarget` of `core/api/target.ts`). */
  apiTarget?: object;
  /** Where chains record their node steps: the process' metrics while they are enabled. */
  chainRecorder?: ChainNodeRecorder;
  /** The process' metrics (a `GostMetrics` of `core/observe/metrics.ts`) while enabled: a `metrics` service serves them. */
  metrics?: { render(): string };
}
