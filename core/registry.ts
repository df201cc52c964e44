/**
 * Name → object registries: plugin factories (listener and handler types) and live objects (services, …).
 * Nothing registers itself on import: `registerBuiltins()` in mod.ts fills a fresh set.
 * @module
 */
import { DuplicateError, NotFoundError } from "./errors.ts";

/**
 * A case-sensitive name → value map that refuses duplicates. A value may come with info `I`: what its registration
 * says about it (a plugin type's capabilities and hints, core/capabilities.ts).
 * @example
 * const r = new Registry<number>("number"); r.register("one", 1); r.get("one") // 1
 */
export class Registry<T, I = never> {
  readonly #items = new Map<string, T>();
  readonly #info = new Map<string, I>();
  /** What the registry holds, for messages ("handler", "service"). */
  readonly kind: string;

  /** An empty registry of `kind` objects. */
  constructor(kind: string) {
    this.kind = kind;
  }

  /** Adds a value, with what its registration says about it. @throws {DuplicateError} when the name is taken */
  register(name: string, value: T, info?: I): void {
    if (this.#items.has(name)) throw new DuplicateError(`${this.kind} "${name}" already exists`);
    this.#items.set(name, value);
    if (info !== undefined) this.#info.set(name, info);
  }

  /** Adds or replaces a value; its info becomes `info` (none when not given). */
  set(name: string, value: T, info?: I): void {
    this.#items.set(name, value);
    if (info !== undefined) this.#info.set(name, info);
    else this.#info.delete(name);
  }

  /** Removes a value (and its info); returns it when it was there. */
  unregister(name: string): T | undefined {
    const v = this.#items.get(name);
    this.#items.delete(name);
    this.#info.delete(name);
    return v;
  }

  /** What the registration of `name` says about it, or undefined (unregistered, or registered without info). */
  info(name: string): I | undefined {
    return this.#info.get(name);
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
