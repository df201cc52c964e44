/**
 * An auther whose users come from inline `auths` and a file (`authers: [{file: {path}, reload}]`), the file
 * re-read every `reload` period as GOST does (README.md, "Authentication"): changes apply without a restart, a bad
 * line is warned about (file and line) while the good lines apply, and when the file becomes unreadable the last
 * good set stays.
 * @module
 */
import type { Authenticator } from "../contracts.ts";
import { errorMessage } from "../errors.ts";
import type { Logger } from "../log.ts";
import { type AuthEntry, StaticAuthenticator } from "./auth.ts";
import { type AuthFileEntry, parseAuthFile, problemLines, readAuthText, readAuthTextAsync } from "./auth_file.ts";

/** GOST's shortest reload period: a smaller positive one is raised to it. */
export const MIN_RELOAD_MS = 1000;

/** Options of {@link FileAuthenticator}. */
export interface FileAuthenticatorOptions {
  /** Who the users belong to, for messages (`auther a1`). */
  owner: string;
  /** The auth file. */
  path: string;
  /** Inline users; a file user of the same name wins (GOST's source priority). */
  inline?: AuthEntry[];
  /** Re-read period in ms; 0 or absent reads the file once. */
  reloadMs?: number;
  /** Where warnings and reload lines go. */
  logger: Logger;
}

/**
 * Users from a file (and inline ones), optionally re-read periodically.
 * @example
 * const a = FileAuthenticator.open({ owner: "auther a", path: "users.txt", reloadMs: 10_000, logger });
 * a.authenticate("alice", "s3cret"); // "alice" while the file says so
 * a.close();
 */
export class FileAuthenticator implements Authenticator {
  readonly #opts: FileAuthenticatorOptions;
  readonly #periodMs: number;
  #users: StaticAuthenticator;
  #count = 0;
  #lastText: string;
  #lastError = "";
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  private constructor(opts: FileAuthenticatorOptions, text: string) {
    this.#opts = opts;
    this.#periodMs = opts.reloadMs && opts.reloadMs > 0 ? Math.max(opts.reloadMs, MIN_RELOAD_MS) : 0;
    this.#lastText = text;
    this.#users = this.#apply(text);
    this.#schedule();
  }

  /**
   * Reads the file once (synchronously) and starts the reload timer when `reloadMs` is set.
   * @throws {Error} when the file cannot be read at startup (there is no last good set to keep)
   */
  static open(opts: FileAuthenticatorOptions): FileAuthenticator {
    return new FileAuthenticator(opts, readAuthText(opts.path));
  }

  /** The number of users that can log in now. */
  get size(): number {
    return this.#count;
  }

  /** The re-read period in ms (0: none), after raising a small one to {@link MIN_RELOAD_MS}. */
  get periodMs(): number {
    return this.#periodMs;
  }

  /** `username` when the password matches a current user, else null. */
  authenticate(username: string, password: string): string | null {
    return this.#users.authenticate(username, password);
  }

  /**
   * Re-reads the file now. Unreadable: the current users stay (warned once per distinct error). Unchanged: nothing.
   * Changed: its good lines replace the file's users, bad lines are warned about.
   * @returns true when the users were replaced
   */
  async reload(): Promise<boolean> {
    let text: string;
    try {
      text = await readAuthTextAsync(this.#opts.path);
    } catch (err) {
      const msg = errorMessage(err);
      if (msg !== this.#lastError) {
        this.#lastError = msg;
        this.#opts.logger.warn(
          `${this.#opts.owner}: reload ${this.#opts.path}: ${msg}; keeping the last ${this.#count} user(s)`,
        );
      }
      return false;
    }
    this.#lastError = "";
    if (this.#closed || text === this.#lastText) return false;
    this.#lastText = text;
    this.#users = this.#apply(text);
    this.#opts.logger.info(`${this.#opts.owner}: reloaded ${this.#opts.path}: ${this.#count} user(s)`);
    return true;
  }

  /** Stops the reload timer. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #apply(text: string): StaticAuthenticator {
    const { entries, problems } = parseAuthFile(text, true);
    for (const line of problemLines(this.#opts.path, problems)) this.#opts.logger.warn(`${this.#opts.owner}: ${line}`);
    const merged = new Map<string, AuthEntry>();
    for (const e of this.#opts.inline ?? []) if (e.username) merged.set(e.username, e);
    for (const e of entries as AuthFileEntry[]) merged.set(e.username, { username: e.username, password: e.password });
    const users = new StaticAuthenticator([...merged.values()]);
    this.#count = [...merged.values()].filter((e) => e.password).length;
    return users;
  }

  #schedule(): void {
    if (!this.#periodMs || this.#closed) return;
    const timer = setTimeout(async () => {
      this.#timer = undefined;
      try {
        await this.reload();
      } catch (err) {
        this.#opts.logger.warn(`${this.#opts.owner}: reload ${this.#opts.path}: ${errorMessage(err)}`);
      }
      this.#schedule();
    }, this.#periodMs);
    this.#timer = timer;
    // the services keep the process alive, not this timer
    Deno.unrefTimer(timer as unknown as number);
  }
}
