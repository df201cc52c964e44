/**
 * GOST's auth file format (README.md, "Authentication"): one `user password` per line, split at the first
 * space or tab, the password being the rest of the line with surrounding blanks trimmed (it may hold spaces and
 * `#`); blank lines and lines whose first non-blank character is `#` are skipped. Used by `handler.auth.file`,
 * `connector.auth.file`/`dialer.auth.file` (the first user only) and an auther's `file.path`.
 * @module
 */
import { type LineProblem, problemLines as sourceProblemLines, readSourceText, sourceLines } from "./file_source.ts";

/** One `{username, password}` pair of the config. */
export interface AuthEntry {
  /** The user name; an empty one is skipped. */
  username: string;
  /** The password; an empty or absent one never authenticates. */
  password?: string;
}

/** The largest auth file read (1 MiB): a bigger one is an error, never a partial read. */
export const MAX_AUTH_FILE_BYTES = 1 << 20;

/** One user of a file, with the line it came from. */
export interface AuthFileEntry extends AuthEntry {
  /** The 1-based line number. */
  line: number;
}

/** A line that was skipped or overridden, for a warning naming the file and the line. */
export type AuthFileProblem = LineProblem;

/** The users of a file and its problems. */
export interface ParsedAuthFile {
  /** The users, in file order, one per user name (a repeated name keeps its last line, as GOST does). */
  entries: AuthFileEntry[];
  /** Skipped or overridden lines. */
  problems: AuthFileProblem[];
}

// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

/**
 * Parses an auth file's text.
 * @param server true for users that log in (a handler's or an auther's file): a user without a password is a
 *   problem and is skipped, since it could never log in; false for the credentials a connector sends (kept)
 * @example parseAuthFile("# users\nalice  s3 cret\nbob\n", true)
 * // { entries: [{ username: "alice", password: "s3 cret", line: 2 }],
 * //   problems: [{ line: 3, message: 'user "bob" has no password: it can never log in' }] }
 */
export function parseAuthFile(text: string, server: boolean): ParsedAuthFile {
  const byUser = new Map<string, AuthFileEntry>();
  const problems: AuthFileProblem[] = [];
  for (const { line, text: t } of sourceLines(text, false)) {
    if (CONTROL.test(t)) {
      problems.push({ line, message: "control character in the line: skipped" });
      continue;
    }
    const sp = t.indexOf(" ");
    const username = sp < 0 ? t : t.slice(0, sp);
    const password = sp < 0 ? "" : t.slice(sp + 1).trim();
    if (server && !password) {
      problems.push({ line, message: `user ${JSON.stringify(username)} has no password: it can never log in` });
      continue;
    }
    const prev = byUser.get(username);
    if (prev) {
      problems.push({
        line: prev.line,
        message: `user ${JSON.stringify(username)} is given again at line ${line}, which wins`,
      });
      byUser.delete(username);
    }
    byUser.set(username, { username, password, line });
  }
  return { entries: [...byUser.values()].sort((a, b) => a.line - b.line), problems };
}

/** `auth file path:line: message` for each problem. */
export function problemLines(path: string, problems: AuthFileProblem[]): string[] {
  return sourceProblemLines("auth", path, problems);
}

/**
 * Reads an auth file's text (a regular file of at most {@link MAX_AUTH_FILE_BYTES}).
 * @throws {Error} when it cannot be read, is not a regular file or is too big
 */
export function readAuthText(path: string): string {
  return readSourceText(path, MAX_AUTH_FILE_BYTES, "an auth file");
}

/**
 * The credentials a connector or dialer sends, from `auth.file`: the first user of the file, as GOST reads it (its
 * password may be empty).
 * @throws {Error} when the file cannot be read or holds no user
 * @example firstAuthEntry("/etc/gost/upstream.auth") // { username: "u", password: "p" }
 */
export function firstAuthEntry(path: string): AuthEntry {
  const { entries } = parseAuthFile(readAuthText(path), false);
  const first = entries[0];
  if (!first) throw new Error(`${path} holds no "user password" line`);
  return { username: first.username, password: first.password };
}
