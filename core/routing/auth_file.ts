/**
 * GOST's auth file format (README.md, "Authentication"): one `user password` per line, split at the first
 * space or tab, the password being the rest of the line with surrounding blanks trimmed (it may hold spaces and
 * `#`); blank lines and lines whose first non-blank character is `#` are skipped. Used by `handler.auth.file`,
 * `connector.auth.file`/`dialer.auth.file` (the first user only) and an auther's `file.path`.
 * @module
 */
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
export interface AuthFileProblem {
  /** The 1-based line number. */
  line: number;
  /** What is wrong with it. */
  message: string;
}

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
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    const raw = lines[i].endsWith("\r") ? lines[i].slice(0, -1) : lines[i];
    const t = raw.replaceAll("\t", " ").trim();
    if (!t || t.startsWith("#")) continue;
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

/** `path:line: message` for each problem. */
export function problemLines(path: string, problems: AuthFileProblem[]): string[] {
  return problems.map((p) => `auth file ${path}:${p.line}: ${p.message}`);
}

function checkSize(path: string, info: Deno.FileInfo): void {
  if (!info.isFile) throw new Error(`${path} is not a regular file`);
  if (info.size > MAX_AUTH_FILE_BYTES) {
    throw new Error(`${path} is ${info.size} bytes, more than the ${MAX_AUTH_FILE_BYTES} an auth file may have`);
  }
}

/**
 * Reads an auth file's text (a regular file of at most {@link MAX_AUTH_FILE_BYTES}).
 * @throws {Error} when it cannot be read, is not a regular file or is too big
 */
export function readAuthText(path: string): string {
  checkSize(path, Deno.statSync(path));
  const text = Deno.readTextFileSync(path);
  if (text.length > MAX_AUTH_FILE_BYTES) throw new Error(`${path} grew past ${MAX_AUTH_FILE_BYTES} bytes`);
  return text;
}

/** {@link readAuthText}, without blocking. */
export async function readAuthTextAsync(path: string): Promise<string> {
  checkSize(path, await Deno.stat(path));
  const text = await Deno.readTextFile(path);
  if (text.length > MAX_AUTH_FILE_BYTES) throw new Error(`${path} grew past ${MAX_AUTH_FILE_BYTES} bytes`);
  return text;
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
