/**
 * Name → object registries: plugin factories (listener and handler types) and live objects (services, …).
 * Nothing registers itself on import: `registerBuiltins()` in mod.ts fills a fresh set.
 * @module
 */
import { DuplicateError, NotFoundError } from "./errors.ts";

/**
 * A case-sensitive name → value map that refuses duplicates.
 * @example
 * const r = new Registry<number>("number"); r.register("one", 1); r.get("one") // 1
 */
export class Registry<T> {
  readonly #items = new Map<string, T>();
  /** What the registry holds, for messages ("handler", "service"). */
  readonly kind: string;

  /** An empty registry of `kind` objects. */
  constructor(kind: string) {
    this.kind = kind;
  }

  /** Adds a value. @throws {DuplicateError} when the name is taken */
  register(name: string, value: T): void {
    if (this.#items.has(name)) throw new DuplicateError(`${this.kind} "${name}" already exists`);
    this.#items.set(name, value);
  }

  /** Adds or replaces a value. */
  set(name: string, value: T): void {
    this.#items.set(name, value);
  }

  /** Removes a value; returns it when it was there. */
  unregister(name: string): T | undefined {
    const v = this.#items.get(name);
    this.#items.delete(name);
    return v;
  }

  /** Tells whether a name is registered. */
  has(name: string): boolean {
    return this.#items.has(name);
  }

  /** The value, or undefined. */
  get(name: string): T | undefined {
    return this.#items.get(name);
  }

  /** The value. @throws {NotFoundError} naming the kind and what exists */
  mustGet(name: string): T {
    const v = this.#items.get(name);
    if (v === undefined) {
      throw new NotFoundError(`Unknown ${this.kind} "${name}": supported are ${this.names().join(", ") || "none"}`);
    }
    return v;
  }

  /** All names, in insertion order. */
  names(): string[] {
    return [...this.#items.keys()];
  }

  /** All values, in insertion order. */
  values(): T[] {
    return [...this.#items.values()];
  }
}
