/**
 * Service status as GOST reports it: `createTime` (unix seconds), `state` and the last 20 `events`.
 * @module
 */

/** Service states: `running` when built, `ready` while serving, `failed` on accept errors, `closed` at the end. */
export type ServiceState = "running" | "ready" | "failed" | "closed";

/** One status event: unix seconds and a message. */
export interface StatusEvent {
  /** When it happened, in unix seconds. */
  time: number;
  /** What happened. */
  msg: string;
}

/** The most events kept, as GOST. */
export const MAX_EVENTS = 20;

/** Listener for state changes (observers subscribe here). */
export type StateListener = (state: ServiceState, msg: string) => void;

/**
 * A service's live status.
 * @example
 * const st = new ServiceStatus("service-0");
 * st.setState("ready"); // adds the event "service service-0 is ready"
 */
export class ServiceStatus {
  /** When the status was made, in unix seconds. */
  readonly createTime: number = Math.floor(Date.now() / 1000);
  #state: ServiceState = "running";
  readonly #events: StatusEvent[] = [];
  readonly #name: string;
  readonly #listeners = new Set<StateListener>();

  /** The status of service `name`, state `running`. */
  constructor(name: string) {
    this.#name = name;
  }

  /** The current state. */
  get state(): ServiceState {
    return this.#state;
  }

  /** The retained events, oldest first. */
  get events(): readonly StatusEvent[] {
    return this.#events;
  }

  /** Changes state and records `service NAME is STATE` (with an optional reason). */
  setState(state: ServiceState, reason?: string): void {
    this.#state = state;
    const msg = `service ${this.#name} is ${state}${reason ? `: ${reason}` : ""}`;
    this.addEvent(msg);
    for (const l of this.#listeners) {
      try {
        l(state, msg);
      } catch {
        // an observer must not break the service
      }
    }
  }

  /** Records an event, keeping the last {@link MAX_EVENTS}. */
  addEvent(msg: string): void {
    this.#events.push({ time: Math.floor(Date.now() / 1000), msg });
    if (this.#events.length > MAX_EVENTS) this.#events.splice(0, this.#events.length - MAX_EVENTS);
  }

  /** Subscribes to state changes; returns the unsubscribe function. */
  onState(l: StateListener): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  /** The JSON GOST's API returns (without stats). */
  toJSON(): { createTime: number; state: ServiceState; events: StatusEvent[] } {
    return { createTime: this.createTime, state: this.#state, events: [...this.#events] };
  }
}
