/**
 * A service that could not start (its port is taken, its listener failed): it stays in the registry in state
 * `failed` with an event that says why, so the API can show it and a later PUT can fix it.
 * @module
 */
import type { ManagedService } from "../registries.ts";
import { ServiceStatus } from "../service/status.ts";

/** A placeholder for a service that failed to start. */
export class FailedService implements ManagedService {
  readonly name: string;
  readonly status: ServiceStatus;
  readonly stats = undefined;
  /** Why it failed. */
  readonly reason: string;

  constructor(name: string, reason: string) {
    this.name = name;
    this.reason = reason;
    this.status = new ServiceStatus(name);
    this.status.setState("running");
    this.status.setState("failed", reason);
  }

  statusJSON(): Record<string, unknown> {
    return this.status.toJSON();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
