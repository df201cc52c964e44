/**
 * An auther whose users come from inline `auths` and a file (`authers: [{file: {path}, reload}]`), the file
 * re-read every `reload` period as GOST does (README.md, "Authentication"): changes apply without a restart, a bad
 * line is warned about (file and line) while the good lines apply, and when the file becomes unreadable the last
 * good set stays.
 * @module
 */
import type { Authenticator } from "../contracts.ts";
import type { Logger } from "../log.ts";
import { type AuthEntry, StaticAuthenticator } from "./auth.ts";
import { MAX_AUTH_FILE_BYTES, parseAuthFile } from "./auth_file.ts";
import { FileSource, type ParsedSource } from "./file_source.ts";

export { MIN_RELOAD_MS } from "./file_source.ts";

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
  readonly #source: FileSource<StaticAuthenticator>;

  private constructor(source: FileSource<StaticAuthenticator>) {
    this.#source = source;
  }

  /**
   * Reads the file once (synchronously) and starts the reload timer when `reloadMs` is set.
   * @throws {Error} when the file cannot be read at startup (there is no last good set to keep)
   */
  static open(opts: FileAuthenticatorOptions): FileAuthenticator {
    return new FileAuthenticator(FileSource.openSync({
      owner: opts.owner,
      kind: "auth",
      path: opts.path,
      unit: "user(s)",
      reloadMs: opts.reloadMs,
      maxBytes: MAX_AUTH_FILE_BYTES,
      logger: opts.logger,
      parse: (text) => usersOf(text, opts.inline ?? []),
    }));
  }

  /** The number of users that can log in now. */
  get size(): number {
    return this.#source.count;
  }

  /** The re-read period in ms (0: none), after raising a small one to `MIN_RELOAD_MS`. */
  get periodMs(): number {
    return this.#source.periodMs;
  }

  /** `username` when the password matches a current user, else null. */
  authenticate(username: string, password: string): string | null {
    return this.#source.value.authenticate(username, password);
  }

  /**
   * Re-reads the file now. Unreadable: the current users stay (warned once per distinct error). Unchanged: nothing.
   * Changed: its good lines replace the file's users, bad lines are warned about.
   * @returns true when the users were replaced
   */
  reload(): Promise<boolean> {
    return this.#source.reload();
  }

  /** Stops the reload timer. */
  close(): void {
    this.#source.close();
  }
}

/** The inline users and the file's (a file user of the same name wins). */
function usersOf(text: string, inline: AuthEntry[]): ParsedSource<StaticAuthenticator> {
  const { entries, problems } = parseAuthFile(text, true);
  const merged = new Map<string, AuthEntry>();
  for (const e of inline) if (e.username) merged.set(e.username, e);
  for (const e of entries) merged.set(e.username, { username: e.username, password: e.password });
  const users = [...merged.values()];
  return { value: new StaticAuthenticator(users), count: users.filter((e) => e.password).length, problems };
}
